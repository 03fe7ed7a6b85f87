#include "kb/text/keyword_terms.hpp"

#include <unicode/brkiter.h>
#include <unicode/bytestream.h>
#include <unicode/edits.h>
#include <unicode/normalizer2.h>
#include <unicode/uchar.h>
#include <unicode/uscript.h>
#include <unicode/utext.h>
#include <unicode/utf8.h>

#include <algorithm>
#include <memory>
#include <unordered_set>

#include "common/error.hpp"

namespace qembed::kb {

namespace {

void check_icu(UErrorCode status, const char* what) {
  if (U_FAILURE(status)) throw InternalError(std::string("ICU failed in ") + what + ": " + u_errorName(status));
}

bool is_code_point_start(std::string_view text, size_t i) {
  return i >= text.size() || (static_cast<unsigned char>(text[i]) & 0xC0) != 0x80;
}

// ---- NFKC_Casefold with a map back to the original bytes ----

// One stretch of the normalization: original bytes [src, src + src_len) became [dst, dst + dst_len). When the
// lengths are equal the bytes map one to one (ASCII case folding, width folding of kana); otherwise only the
// stretch's ends are known.
struct EditSpan {
  size_t src = 0, src_len = 0, dst = 0, dst_len = 0;
  bool aligned() const { return src_len == dst_len; }
};

// ICU takes int32 lengths and works best on bounded input: normalize in pieces of at most this many bytes, cut
// before ASCII whitespace (a normalization boundary and a term separator) where possible.
constexpr size_t kNormalizePieceBytes = size_t{1} << 20;

size_t piece_end(std::string_view text, size_t start, const icu::Normalizer2& norm) {
  if (text.size() - start <= kNormalizePieceBytes) return text.size();
  const size_t limit = start + kNormalizePieceBytes;
  for (size_t i = limit; i > start + kNormalizePieceBytes / 2; --i) {
    const char c = text[i];
    if (c == ' ' || c == '\n' || c == '\t' || c == '\r') return i;
  }
  // No whitespace near the limit (CJK text, a blob): any code point that starts a normalization segment.
  for (size_t i = limit; i > start; --i) {
    if (!is_code_point_start(text, i)) continue;
    UChar32 c = 0;
    size_t j = i;
    U8_NEXT(reinterpret_cast<const uint8_t*>(text.data()), j, text.size(), c);
    if (c < 0 || norm.hasBoundaryBefore(c)) return i;
  }
  return limit;
}

class NormalizedText {
 public:
  explicit NormalizedText(std::string_view original) : original_(original) {
    UErrorCode status = U_ZERO_ERROR;
    const icu::Normalizer2* norm = icu::Normalizer2::getNFKCCasefoldInstance(status);
    check_icu(status, "getNFKCCasefoldInstance");
    text_.reserve(original.size() + original.size() / 8);
    for (size_t start = 0; start < original.size();) {
      const size_t end = piece_end(original, start, *norm);
      append_piece(*norm, start, end);
      start = end;
    }
  }

  //! The normalized text (may keep invalid UTF-8 bytes of the original as they were).
  const std::string& text() const { return text_; }

  //! Original byte range of the normalized range [dst_start, dst_end), widened to original code points.
  std::pair<size_t, size_t> to_original(size_t dst_start, size_t dst_end) const {
    const EditSpan& a = span_at(dst_start);
    size_t start = a.aligned() ? a.src + (dst_start - a.dst) : a.src;
    const EditSpan& b = span_at(dst_end - 1);
    size_t end = b.aligned() ? b.src + (dst_end - b.dst) : b.src + b.src_len;
    while (start > 0 && !is_code_point_start(original_, start)) --start;
    while (end < original_.size() && !is_code_point_start(original_, end)) ++end;
    return {start, end};
  }

 private:
  void append_piece(const icu::Normalizer2& norm, size_t start, size_t end) {
    UErrorCode status = U_ZERO_ERROR;
    const size_t dst_base = text_.size();
    icu::StringByteSink<std::string> sink(&text_);
    icu::Edits edits;
    norm.normalizeUTF8(0, icu::StringPiece(original_.data() + start, static_cast<int32_t>(end - start)), sink, &edits,
                       status);
    check_icu(status, "normalizeUTF8");
    icu::Edits::Iterator it = edits.getFineIterator();
    while (it.next(status)) {
      const EditSpan span{start + static_cast<size_t>(it.sourceIndex()), static_cast<size_t>(it.oldLength()),
                          dst_base + static_cast<size_t>(it.destinationIndex()), static_cast<size_t>(it.newLength())};
      if (span.dst_len == 0) continue;  // deleted (default ignorables): nothing in the output maps to it
      // Merge byte-aligned neighbours: English text is then one span, not one per capital letter.
      if (!spans_.empty() && spans_.back().aligned() && span.aligned() &&
          spans_.back().src + spans_.back().src_len == span.src &&
          spans_.back().dst + spans_.back().dst_len == span.dst) {
        spans_.back().src_len += span.src_len;
        spans_.back().dst_len += span.dst_len;
      } else {
        spans_.push_back(span);
      }
    }
    check_icu(status, "Edits::Iterator");
  }

  const EditSpan& span_at(size_t dst) const {
    auto it =
        std::upper_bound(spans_.begin(), spans_.end(), dst, [](size_t d, const EditSpan& s) { return d < s.dst; });
    return *(it - 1);  // spans cover the output from 0 without holes; dst < text_.size()
  }

  std::string_view original_;
  std::string text_;
  std::vector<EditSpan> spans_;  // sorted by dst, covering [0, text_.size())
};

// ---- character classes of the normalized text ----

enum class CharClass { kSeparator, kWord, kCjk, kMark, kJoiner };

bool is_cjk(UChar32 c) {
  if (c == 0x30FC) return true;  // ー, the prolonged sound mark (script Common) inside katakana words
  UErrorCode status = U_ZERO_ERROR;
  const UScriptCode script = uscript_getScript(c, &status);
  return script == USCRIPT_HAN || script == USCRIPT_HIRAGANA || script == USCRIPT_KATAKANA ||
         script == USCRIPT_HANGUL || script == USCRIPT_KATAKANA_OR_HIRAGANA;
}

CharClass classify(UChar32 c) {
  if (c < 0) return CharClass::kSeparator;  // an invalid byte
  if (c < 0x80) {
    if ((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || (c >= 'A' && c <= 'Z')) return CharClass::kWord;
    return c == '\'' ? CharClass::kJoiner : CharClass::kSeparator;
  }
  if (c == 0x2019) return CharClass::kJoiner;  // ’ as in don’t
  const uint32_t mask = U_GET_GC_MASK(c);
  if (mask & (U_GC_L_MASK | U_GC_N_MASK)) return is_cjk(c) ? CharClass::kCjk : CharClass::kWord;
  if (mask & U_GC_M_MASK) return CharClass::kMark;
  return CharClass::kSeparator;
}

// Scripts written without spaces between words that ICU's word breaker splits with a dictionary.
bool needs_dictionary(UChar32 c) {
  if (c < 0x0E00 || c > 0x1CFF) return false;  // Thai U+0E00 .. Khmer/Myanmar extensions, cheaply
  UErrorCode status = U_ZERO_ERROR;
  const UScriptCode script = uscript_getScript(c, &status);
  return script == USCRIPT_THAI || script == USCRIPT_LAO || script == USCRIPT_KHMER || script == USCRIPT_MYANMAR;
}

// Latin letters with diacritics live in U+00C0..U+024F and U+1E00..U+1EFF.
bool has_latin_diacritics(std::string_view term) {
  const auto* s = reinterpret_cast<const uint8_t*>(term.data());
  for (size_t i = 0; i < term.size();) {
    UChar32 c = 0;
    U8_NEXT(s, i, term.size(), c);
    if ((c >= 0xC0 && c <= 0x24F) || (c >= 0x1E00 && c <= 0x1EFF)) return true;
  }
  return false;
}

// "café" -> "cafe": decompose, drop combining diacritical marks (U+0300..U+036F) that follow a Latin letter,
// recompose. Other scripts keep their marks (й is not и).
std::string fold_latin_diacritics(std::string_view term) {
  if (!has_latin_diacritics(term)) return std::string(term);
  UErrorCode status = U_ZERO_ERROR;
  const icu::Normalizer2* nfd = icu::Normalizer2::getNFDInstance(status);
  const icu::Normalizer2* nfc = icu::Normalizer2::getNFCInstance(status);
  check_icu(status, "getNFDInstance");
  const icu::UnicodeString decomposed = nfd->normalize(
      icu::UnicodeString::fromUTF8(icu::StringPiece(term.data(), static_cast<int32_t>(term.size()))), status);
  check_icu(status, "NFD");
  icu::UnicodeString kept;
  bool after_latin = false;
  for (int32_t i = 0; i < decomposed.length();) {
    const UChar32 c = decomposed.char32At(i);
    i += U16_LENGTH(c);
    const bool diacritic = c >= 0x300 && c <= 0x36F;
    if (diacritic && after_latin) continue;
    if (!diacritic) after_latin = uscript_getScript(c, &status) == USCRIPT_LATIN;
    kept.append(c);
  }
  std::string out;
  nfc->normalize(kept, status).toUTF8String(out);
  check_icu(status, "NFC");
  return out;
}

icu::BreakIterator& word_breaker() {
  thread_local std::unique_ptr<icu::BreakIterator> breaker = [] {
    UErrorCode status = U_ZERO_ERROR;
    std::unique_ptr<icu::BreakIterator> it(icu::BreakIterator::createWordInstance(icu::Locale::getRoot(), status));
    check_icu(status, "createWordInstance");
    return it;
  }();
  return *breaker;
}

// ---- the scanner ----

class TermScanner {
 public:
  TermScanner(std::string_view original, TermSide side) : norm_(original), side_(side) {}

  std::vector<KeywordTerm> run() {
    const std::string& s = norm_.text();
    size_t i = 0;
    while (i < s.size()) {
      size_t next = i;
      const UChar32 c = decode(next);
      const CharClass cls = classify(c);
      if (cls == CharClass::kCjk) {
        i = scan_cjk(i);
      } else if (cls == CharClass::kWord) {
        i = scan_word(i);
      } else {
        i = next;
      }
    }
    return std::move(terms_);
  }

 private:
  UChar32 decode(size_t& i) const {
    const std::string& s = norm_.text();
    UChar32 c = 0;
    U8_NEXT(reinterpret_cast<const uint8_t*>(s.data()), i, s.size(), c);
    return c;
  }

  void emit(std::string term, size_t dst_start, size_t dst_end) {
    if (term.empty() || term.size() > kMaxTermBytes) return;
    const auto [start, end] = norm_.to_original(dst_start, dst_end);
    terms_.push_back({std::move(term), start, end});
  }

  // A run of CJK characters (a combining mark stays with the character before it) -> unigrams and bigrams.
  size_t scan_cjk(size_t i) {
    std::vector<std::pair<size_t, size_t>>& chars = cjk_chars_;
    chars.clear();
    const std::string& s = norm_.text();
    while (i < s.size()) {
      size_t next = i;
      const CharClass cls = classify(decode(next));
      if (cls == CharClass::kCjk) {
        chars.emplace_back(i, next);
      } else if (cls == CharClass::kMark) {
        chars.back().second = next;
      } else {
        break;
      }
      i = next;
    }
    const size_t n = chars.size();
    for (size_t k = 0; k < n; ++k) {
      const auto [a, b] = chars[k];
      if (side_ == TermSide::kDocument || n == 1) emit(s.substr(a, b - a), a, b);
      if (k + 1 < n) emit(s.substr(a, chars[k + 1].second - a), a, chars[k + 1].second);
    }
    return i;
  }

  // A run of letters, digits and marks; an apostrophe between two of them joins the word and is dropped.
  size_t scan_word(size_t i) {
    const std::string& s = norm_.text();
    const size_t start = i;
    std::string term;
    bool dictionary = false;
    while (i < s.size()) {
      size_t next = i;
      const UChar32 c = decode(next);
      CharClass cls = classify(c);
      if (cls == CharClass::kJoiner) {
        size_t after = next;
        if (after >= s.size() || classify(decode(after)) != CharClass::kWord) break;
        i = next;
        continue;
      }
      if (cls != CharClass::kWord && cls != CharClass::kMark) break;
      dictionary = dictionary || needs_dictionary(c);
      term.append(s, i, next - i);
      i = next;
    }
    if (dictionary) {
      split_dictionary_words(start, i);
    } else {
      emit(fold_latin_diacritics(term), start, i);
    }
    return i;
  }

  // Thai, Lao, Khmer, Myanmar: ICU's word breaker over the run; its non-word segments (none here but spaces
  // would be) are skipped.
  void split_dictionary_words(size_t start, size_t end) {
    const std::string& s = norm_.text();
    UErrorCode status = U_ZERO_ERROR;
    UText text = UTEXT_INITIALIZER;
    utext_openUTF8(&text, s.data() + start, static_cast<int64_t>(end - start), &status);
    check_icu(status, "utext_openUTF8");
    icu::BreakIterator& breaker = word_breaker();
    breaker.setText(&text, status);
    check_icu(status, "BreakIterator::setText");
    int32_t a = breaker.first();
    for (int32_t b = breaker.next(); b != icu::BreakIterator::DONE; a = b, b = breaker.next()) {
      if (breaker.getRuleStatus() == UBRK_WORD_NONE) continue;
      const size_t word_start = start + static_cast<size_t>(a);
      const size_t word_end = start + static_cast<size_t>(b);
      std::string word;
      for (size_t k = word_start; k < word_end;) {  // drop joiners as scan_word does
        size_t next = k;
        if (classify(decode(next)) != CharClass::kJoiner) word.append(s, k, next - k);
        k = next;
      }
      emit(fold_latin_diacritics(word), word_start, word_end);
    }
    utext_close(&text);
  }

  NormalizedText norm_;
  TermSide side_;
  std::vector<KeywordTerm> terms_;
  std::vector<std::pair<size_t, size_t>> cjk_chars_;
};

}  // namespace

std::vector<KeywordTerm> keyword_term_spans(std::string_view text, TermSide side) {
  return TermScanner(text, side).run();
}

std::vector<std::string> keyword_terms(std::string_view text, TermSide side) {
  std::vector<KeywordTerm> spans = keyword_term_spans(text, side);
  std::vector<std::string> terms;
  terms.reserve(spans.size());
  for (KeywordTerm& t : spans) terms.push_back(std::move(t.term));
  return terms;
}

std::string keyword_index_text(std::string_view text) {
  std::string out;
  for (const KeywordTerm& t : keyword_term_spans(text, TermSide::kDocument)) {
    if (!out.empty()) out += ' ';
    out += t.term;
  }
  return out;
}

std::string keyword_match_query(std::string_view query, size_t max_terms) {
  std::unordered_set<std::string> seen;
  std::string out;
  for (const KeywordTerm& t : keyword_term_spans(query, TermSide::kQuery)) {
    if (seen.size() >= max_terms) break;
    if (!seen.insert(t.term).second) continue;
    if (!out.empty()) out += " OR ";
    out += '"';
    for (const char c : t.term) {
      if (c == '"') out += '"';  // FTS5 string escape; terms never hold quotes, this is belt and braces
      out += c;
    }
    out += '"';
  }
  return out;
}

std::vector<std::pair<size_t, size_t>> keyword_highlights(std::string_view text, std::string_view query) {
  std::unordered_set<std::string> wanted;
  for (KeywordTerm& t : keyword_term_spans(query, TermSide::kQuery)) wanted.insert(std::move(t.term));
  std::vector<std::pair<size_t, size_t>> ranges;
  if (wanted.empty()) return ranges;
  for (const KeywordTerm& t : keyword_term_spans(text, TermSide::kDocument)) {
    if (wanted.count(t.term)) ranges.emplace_back(t.start, t.end);
  }
  std::sort(ranges.begin(), ranges.end());
  std::vector<std::pair<size_t, size_t>> merged;
  for (const auto& r : ranges) {
    if (!merged.empty() && r.first <= merged.back().second) {
      merged.back().second = std::max(merged.back().second, r.second);
    } else {
      merged.push_back(r);
    }
  }
  return merged;
}

}  // namespace qembed::kb
