#include "tokenizer/tokenizer.hpp"

#include <string>

#include "common/error.hpp"
#include "tokenizer/added_tokens.hpp"
#include "tokenizer/bpe.hpp"
#include "tokenizer/byte_level.hpp"
#include "tokenizer/normalize.hpp"
#include "tokenizer/piece_cache.hpp"
#include "tokenizer/pretokenize.hpp"
#include "tokenizer/utf8.hpp"

namespace qembed {

namespace {

bool is_added_type(TokenType t) { return t == TokenType::Control || t == TokenType::UserDefined; }

// Checks what the rest of the tokenizer relies on, before any table is built from it.
VocabData validated(VocabData vocab) {
  if (vocab.tokens.empty()) throw Error("tokenizer vocabulary is empty");
  if (vocab.token_types.size() != vocab.tokens.size()) {
    throw Error("tokenizer vocabulary has " + std::to_string(vocab.tokens.size()) + " tokens but " +
                std::to_string(vocab.token_types.size()) + " token types");
  }
  if (vocab.eos_id < -1 || vocab.eos_id >= static_cast<int32_t>(vocab.tokens.size())) {
    throw Error("tokenizer eos id " + std::to_string(vocab.eos_id) + " is outside the vocabulary of " +
                std::to_string(vocab.tokens.size()) + " tokens");
  }
  for (size_t i = 0; i < vocab.tokens.size(); ++i) {
    try {
      utf8::validate(vocab.tokens[i]);
    } catch (const Error& e) {
      throw Error("tokenizer token " + std::to_string(i) + ": " + e.what());
    }
  }
  return vocab;
}

std::vector<AddedTokenMatcher::Token> added_tokens_of(const VocabData& vocab) {
  std::vector<AddedTokenMatcher::Token> added;
  for (size_t i = 0; i < vocab.tokens.size(); ++i) {
    if (is_added_type(vocab.token_types[i])) added.push_back({vocab.tokens[i], static_cast<int32_t>(i)});
  }
  return added;
}

}  // namespace

struct Tokenizer::Impl {
  VocabData vocab;
  BpeMerger merger;
  AddedTokenMatcher added;
  PieceCache cache;

  explicit Impl(VocabData v) : vocab(validated(std::move(v))), merger(vocab), added(added_tokens_of(vocab)) {}

  // Text between two added tokens: NFC, pre-tokenize, BPE each piece.
  void encode_section(std::string_view section, std::vector<int32_t>& out) const {
    if (section.empty()) return;
    std::string normalized;
    if (nfc_normalize(section, normalized)) section = normalized;
    std::vector<std::string_view> pieces;
    pretokenize_qwen2(section, pieces);
    for (const std::string_view piece : pieces) {
      if (piece.size() == 1 || !cache.lookup(piece, out)) {
        const size_t first = out.size();
        merger.encode_piece(piece, out);
        if (piece.size() > 1) cache.insert(piece, out.data() + first, out.size() - first);
      }
    }
  }
};

Tokenizer::Tokenizer(VocabData vocab) : impl_(std::make_unique<Impl>(std::move(vocab))) {}
Tokenizer::~Tokenizer() = default;

std::vector<int32_t> Tokenizer::encode(std::string_view text) const {
  utf8::validate(text);
  std::vector<int32_t> ids;
  ids.reserve(text.size() / 3 + 1);
  size_t pos = 0;
  while (pos < text.size()) {
    const AddedTokenMatcher::Match m = impl_->added.find(text, pos);
    if (m.length == 0) {
      impl_->encode_section(text.substr(pos), ids);
      break;
    }
    impl_->encode_section(text.substr(pos, m.begin - pos), ids);
    ids.push_back(m.id);
    pos = m.begin + m.length;
  }
  return ids;
}

int32_t Tokenizer::eos_id() const { return impl_->vocab.eos_id; }

int32_t Tokenizer::n_vocab() const { return static_cast<int32_t>(impl_->vocab.tokens.size()); }

std::string Tokenizer::token_bytes(int32_t id) const {
  if (id < 0 || id >= n_vocab()) throw Error("token id " + std::to_string(id) + " is outside the vocabulary");
  const std::string& token = impl_->vocab.tokens[id];
  if (is_added_token(id)) return token;
  // A token outside the byte-level alphabet (none in Qwen3) is shown as written.
  return byte_level::decode_token(token).value_or(token);
}

bool Tokenizer::is_added_token(int32_t id) const {
  return id >= 0 && id < n_vocab() && is_added_type(impl_->vocab.token_types[id]);
}

}  // namespace qembed
