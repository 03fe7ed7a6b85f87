#pragma once
// A thin libpq layer for PgStore: one connection, statements prepared once per connection (by their SQL text) and
// run with bound parameters (never spliced into SQL), results as RAII objects, transactions that roll back unless
// committed, and PostgreSQL's SQLSTATEs mapped to the Store's error kinds:
//   class 08 (connection) and 57P01-03 (the server shutting down or starting) -> kUnavailable ("retry");
//   40001/40P01 (serialization, deadlock), 53 (resources), 55P03, other 57P -> kLimit ("retry later")
//   class 22 (bad data, e.g. invalid UTF-8) and 23 (constraint violations)                       -> kInvalidInput
//   anything else                                                                                -> kIo
// Messages name the database by its URL without the password.
#include <libpq-fe.h>

#include <cstdint>
#include <map>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "kb/store/pg_url.hpp"

namespace qembed::kb {

//! Bound parameters of one statement: text values, SQL NULLs, or binary (bytea) values.
class PgParams {
 public:
  PgParams& add(std::string_view text);
  PgParams& add(const char* text) { return add(std::string_view(text)); }
  PgParams& add(const std::string& text) { return add(std::string_view(text)); }
  PgParams& add(int64_t value) { return add(std::to_string(value)); }
  PgParams& add(int32_t value) { return add(std::to_string(value)); }
  PgParams& add(double value);
  PgParams& add_bool(bool value) { return add(value ? "true" : "false"); }
  PgParams& add_null();
  PgParams& add_bytes(std::span<const uint8_t> bytes);
  template <typename T>
  PgParams& add_opt(const std::optional<T>& v) {
    return v ? add(*v) : add_null();
  }
  //! A PostgreSQL array literal of integers ('{1,2,3}').
  PgParams& add_int_array(std::span<const int64_t> values);
  //! A PostgreSQL array literal of texts, each quoted.
  PgParams& add_text_array(const std::vector<std::string>& values);
  PgParams& add_float_array(const std::vector<double>& values);

  int size() const { return static_cast<int>(values_.size()); }
  std::vector<const char*> pointers() const;
  std::vector<int> lengths() const;
  std::vector<int> formats() const;

 private:
  std::vector<std::string> values_;
  std::vector<bool> null_, binary_;
};

class PgResult {
 public:
  explicit PgResult(PGresult* r = nullptr) : r_(r) {}
  PgResult(PgResult&& o) noexcept : r_(o.r_) { o.r_ = nullptr; }
  PgResult& operator=(PgResult&& o) noexcept;
  PgResult(const PgResult&) = delete;
  PgResult& operator=(const PgResult&) = delete;
  ~PgResult();

  int rows() const { return r_ ? PQntuples(r_) : 0; }
  bool is_null(int row, int col) const { return PQgetisnull(r_, row, col) != 0; }
  std::string text(int row, int col) const;
  int64_t i64(int row, int col) const;  //!< text results: a decimal integer; binary: int8/int4 big-endian
  double f64(int row, int col) const;   //!< text results: a decimal; binary: float8 big-endian
  bool boolean(int row, int col) const { return text(row, col) == "t"; }
  //! The value's raw bytes: bytea in binary results, the text otherwise.
  std::span<const uint8_t> raw(int row, int col) const;
  //! A bytea column of a text-format result, decoded from its hex form.
  std::vector<uint8_t> bytes(int row, int col) const;

 private:
  PGresult* r_;
};

class PgConn {
 public:
  //! Connects (errors: kUnavailable when the server cannot be reached, kIo otherwise, naming the redacted URL).
  explicit PgConn(std::string url);
  ~PgConn();
  PgConn(const PgConn&) = delete;
  PgConn& operator=(const PgConn&) = delete;

  const std::string& display_url() const { return display_; }
  //! Runs SQL without parameters (may hold several statements).
  void exec(const std::string& sql);
  //! Runs one statement (prepared once per connection) with parameters; binary_result: rows in binary format.
  PgResult query(const std::string& sql, const PgParams& params = {}, bool binary_result = false);
  //! The first column of the first row as an integer (0 when no row or NULL).
  int64_t scalar(const std::string& sql, const PgParams& params = {});
  //! Reconnects when the connection was lost (between transactions). Error: kUnavailable when it cannot.
  void ensure_connected();
  PGconn* handle() { return conn_; }

 private:
  [[noreturn]] void fail(PGresult* result, const std::string& what);
  std::string url_, display_;
  PGconn* conn_ = nullptr;
  std::map<std::string, std::string> prepared_;  // SQL text -> statement name
};

//! BEGIN ... COMMIT; the destructor rolls back a transaction that was not committed. kWrite takes the store's
//! write lock (a transaction-scoped advisory lock), so writers — of this process or any replica — run one at a
//! time, as SQLite's do: ids of one commit are contiguous and change sequences commit in order.
class PgTxn {
 public:
  enum class Kind { kRead, kWrite };
  PgTxn(PgConn& conn, Kind kind);
  ~PgTxn();
  void commit();

 private:
  PgConn& conn_;
  bool done_ = false;
};

//! The advisory-lock keys the store uses.
inline constexpr int64_t kPgWriteLockKey = 0x71656d6257;   // "qembW"
inline constexpr int64_t kPgSchemaLockKey = 0x71656d6253;  // "qembS"

}  // namespace qembed::kb
