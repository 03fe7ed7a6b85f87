#include "cli/args.hpp"

#include <charconv>

#include "common/error.hpp"

namespace qembed::cli {

Args::Args(const std::vector<FlagSpec>& specs, int argc, char** argv, int first, bool positionals) {
  for (int i = first; i < argc; ++i) {
    std::string a = argv[i];
    if (positionals && a == "--") {
      for (++i; i < argc; ++i) positionals_.emplace_back(argv[i]);
      break;
    }
    if (positionals && (a.rfind("--", 0) != 0 || a.size() == 2)) {
      positionals_.push_back(std::move(a));
      continue;
    }
    if (a.rfind("--", 0) != 0 || a.size() == 2) throw Error("unexpected argument \"" + a + "\" (flags start with --)");
    std::string name = a.substr(2), value;
    bool inline_value = false;
    if (size_t eq = name.find('='); eq != std::string::npos) {
      value = name.substr(eq + 1);
      name = name.substr(0, eq);
      inline_value = true;
    }
    const FlagSpec* spec = nullptr;
    for (const FlagSpec& s : specs) {
      if (s.name == name) spec = &s;
    }
    if (!spec) throw Error("unknown flag --" + name + " (see --help)");
    if (spec->takes_value && !inline_value) {
      if (i + 1 >= argc) throw Error("flag --" + name + " needs a value");
      value = argv[++i];
    } else if (!spec->takes_value && inline_value) {
      throw Error("flag --" + name + " takes no value");
    }
    values_[name] = value;
    all_values_[name].push_back(value);
  }
}

std::vector<std::string> Args::get_all(const std::string& name) const {
  auto it = all_values_.find(name);
  return it == all_values_.end() ? std::vector<std::string>{} : it->second;
}

std::optional<std::string> Args::get(const std::string& name) const {
  auto it = values_.find(name);
  if (it == values_.end()) return std::nullopt;
  return it->second;
}

std::string Args::get_or(const std::string& name, const std::string& fallback) const {
  return get(name).value_or(fallback);
}

std::string Args::require(const std::string& name) const {
  auto v = get(name);
  if (!v) throw Error("missing required flag --" + name);
  return *v;
}

int64_t Args::get_int(const std::string& name, int64_t fallback, int64_t lo, int64_t hi) const {
  auto v = get(name);
  if (!v) return fallback;
  int64_t out = 0;
  auto [ptr, ec] = std::from_chars(v->data(), v->data() + v->size(), out);
  if (ec != std::errc() || ptr != v->data() + v->size()) {
    throw Error("flag --" + name + " expects an integer, got \"" + *v + "\"");
  }
  if (out < lo || out > hi) {
    throw Error("flag --" + name + " is " + *v + ", valid range is " + std::to_string(lo) + " to " +
                std::to_string(hi));
  }
  return out;
}

std::string flags_help(const std::vector<FlagSpec>& specs) {
  std::string s;
  for (const FlagSpec& f : specs) {
    std::string left = "  --" + f.name + (f.takes_value ? " VALUE" : "");
    if (left.size() < 28) left.resize(28, ' ');
    s += left + " " + f.help + "\n";
  }
  return s;
}

}  // namespace qembed::cli
