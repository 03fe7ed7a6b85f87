#pragma once
// Failures caused by outside input (files, text, flags, requests). The message says what was wrong and where;
// the CLI and HTTP boundaries catch Error and report it. Broken internal invariants use assert instead.
#include <stdexcept>
#include <string>

namespace qembed {

//! A user-facing failure: bad file, bad text, bad flag. what() is the full message shown to the user.
class Error : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

}  // namespace qembed
