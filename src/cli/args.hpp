#pragma once
// A small command-line flag parser: `--name value`, `--name=value` and boolean `--name`. Unknown flags, missing
// values and malformed numbers are Errors that name the flag.
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace qembed::cli {

struct FlagSpec {
  std::string name;  //!< without dashes
  bool takes_value;
  std::string help;
};

class Args {
 public:
  //! `positionals`: arguments that are not flags are collected (positionals()) instead of refused; after "--"
  //! everything is positional (a query that starts with "--").
  Args(const std::vector<FlagSpec>& specs, int argc, char** argv, int first, bool positionals = false);

  bool has(const std::string& name) const { return values_.count(name) > 0; }
  std::optional<std::string> get(const std::string& name) const;
  std::string get_or(const std::string& name, const std::string& fallback) const;
  //! Integer flag in [lo, hi]; Error naming the flag otherwise.
  int64_t get_int(const std::string& name, int64_t fallback, int64_t lo, int64_t hi) const;
  //! Like get(), but an Error when absent.
  std::string require(const std::string& name) const;
  //! Every value of a repeatable flag, in command-line order (get() returns the last).
  std::vector<std::string> get_all(const std::string& name) const;
  //! Non-flag arguments in order (only when the command takes them).
  const std::vector<std::string>& positionals() const { return positionals_; }

 private:
  std::map<std::string, std::string> values_;
  std::map<std::string, std::vector<std::string>> all_values_;
  std::vector<std::string> positionals_;
};

//! Usage text for a command's flags.
std::string flags_help(const std::vector<FlagSpec>& specs);

}  // namespace qembed::cli
