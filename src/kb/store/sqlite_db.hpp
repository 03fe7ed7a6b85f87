#pragma once
// A thin RAII layer over the SQLite C API for the store: one connection, cached prepared statements, typed binds
// and columns, transactions, and SQLite result codes mapped to qembed error kinds (busy -> kLimit, corrupt or not a
// database -> kIo naming the file, constraint -> kInvalidInput).
#include <sqlite3.h>

#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <unordered_map>

namespace qembed::kb {

class SqliteDb;

//! A cached statement in use: reset and unbound when this goes out of scope. Bind indexes start at 1.
class Stmt {
 public:
  Stmt(SqliteDb& db, sqlite3_stmt* stmt) : db_(db), stmt_(stmt) {}
  Stmt(const Stmt&) = delete;
  Stmt& operator=(const Stmt&) = delete;
  ~Stmt();

  Stmt& bind(int index, int64_t value);
  Stmt& bind(int index, int32_t value) { return bind(index, static_cast<int64_t>(value)); }
  Stmt& bind(int index, double value);
  Stmt& bind(int index, std::string_view text);
  Stmt& bind(int index, const char* text) { return bind(index, std::string_view(text)); }
  Stmt& bind(int index, const std::string& text) { return bind(index, std::string_view(text)); }
  Stmt& bind_blob(int index, std::span<const uint8_t> bytes);
  Stmt& bind_null(int index);

  //! Advances: true when a row is available, false when done. Errors throw (see SqliteDb::fail).
  bool step();
  //! Runs a statement that returns no rows.
  void run() {
    while (step()) {
    }
  }

  int64_t i64(int column) const { return sqlite3_column_int64(stmt_, column); }
  double f64(int column) const { return sqlite3_column_double(stmt_, column); }
  bool is_null(int column) const { return sqlite3_column_type(stmt_, column) == SQLITE_NULL; }
  std::string text(int column) const;
  std::span<const uint8_t> blob(int column) const;

 private:
  SqliteDb& db_;
  sqlite3_stmt* stmt_;
};

class SqliteDb {
 public:
  //! Opens (creating when missing) and applies the connection settings: WAL, foreign keys, busy timeout.
  SqliteDb(const std::string& path, int busy_timeout_ms);
  ~SqliteDb();
  SqliteDb(const SqliteDb&) = delete;
  SqliteDb& operator=(const SqliteDb&) = delete;

  //! A cached prepared statement for `sql` (compiled on first use).
  Stmt prepare(const std::string& sql);
  //! Runs one or more statements without results (schema, pragmas).
  void exec(const std::string& sql);
  //! The first column of the first row as an integer (0 when no row).
  int64_t scalar(const std::string& sql);

  const std::string& path() const { return path_; }
  sqlite3* handle() { return db_; }
  int64_t changes() { return sqlite3_changes64(db_); }
  int64_t last_insert_rowid() { return sqlite3_last_insert_rowid(db_); }

  //! Throws the qembed Error for SQLite result `rc` while doing `what`.
  [[noreturn]] void fail(int rc, std::string_view what);

 private:
  std::string path_;
  sqlite3* db_ = nullptr;
  std::unordered_map<std::string, sqlite3_stmt*> statements_;
};

//! A transaction: BEGIN IMMEDIATE (write: takes the write lock up front, so two writers never deadlock on an
//! upgrade) or BEGIN (read: one consistent snapshot). Rolled back unless commit() is called.
class Transaction {
 public:
  enum class Kind { kRead, kWrite };
  Transaction(SqliteDb& db, Kind kind);
  ~Transaction();
  Transaction(const Transaction&) = delete;
  Transaction& operator=(const Transaction&) = delete;
  void commit();

 private:
  SqliteDb& db_;
  bool open_ = false;
};

}  // namespace qembed::kb
