#include "kb/store/sqlite_db.hpp"

#include "common/error.hpp"

namespace qembed::kb {

Stmt::~Stmt() {
  sqlite3_reset(stmt_);
  sqlite3_clear_bindings(stmt_);
}

Stmt& Stmt::bind(int index, int64_t value) {
  const int rc = sqlite3_bind_int64(stmt_, index, value);
  if (rc != SQLITE_OK) db_.fail(rc, "binding a value");
  return *this;
}

Stmt& Stmt::bind(int index, double value) {
  const int rc = sqlite3_bind_double(stmt_, index, value);
  if (rc != SQLITE_OK) db_.fail(rc, "binding a value");
  return *this;
}

Stmt& Stmt::bind(int index, std::string_view text) {
  const int rc = sqlite3_bind_text64(stmt_, index, text.data(), text.size(), SQLITE_TRANSIENT, SQLITE_UTF8);
  if (rc != SQLITE_OK) db_.fail(rc, "binding a value");
  return *this;
}

Stmt& Stmt::bind_blob(int index, std::span<const uint8_t> bytes) {
  // A zero-length blob is still a blob, not NULL: pass a non-null pointer.
  static const uint8_t kEmpty = 0;
  const int rc =
      sqlite3_bind_blob64(stmt_, index, bytes.empty() ? &kEmpty : bytes.data(), bytes.size(), SQLITE_TRANSIENT);
  if (rc != SQLITE_OK) db_.fail(rc, "binding a value");
  return *this;
}

Stmt& Stmt::bind_null(int index) {
  const int rc = sqlite3_bind_null(stmt_, index);
  if (rc != SQLITE_OK) db_.fail(rc, "binding a value");
  return *this;
}

bool Stmt::step() {
  const int rc = sqlite3_step(stmt_);
  if (rc == SQLITE_ROW) return true;
  if (rc == SQLITE_DONE) return false;
  db_.fail(rc, sqlite3_sql(stmt_));
}

std::string Stmt::text(int column) const {
  const auto* p = sqlite3_column_text(stmt_, column);
  const int n = sqlite3_column_bytes(stmt_, column);
  return p ? std::string(reinterpret_cast<const char*>(p), static_cast<size_t>(n)) : std::string();
}

std::span<const uint8_t> Stmt::blob(int column) const {
  const auto* p = static_cast<const uint8_t*>(sqlite3_column_blob(stmt_, column));
  const int n = sqlite3_column_bytes(stmt_, column);
  return p ? std::span<const uint8_t>(p, static_cast<size_t>(n)) : std::span<const uint8_t>();
}

SqliteDb::SqliteDb(const std::string& path, int busy_timeout_ms) : path_(path) {
  const int flags = SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX;
  const int rc = sqlite3_open_v2(path.c_str(), &db_, flags, nullptr);
  if (rc != SQLITE_OK) {
    const std::string message = db_ ? sqlite3_errmsg(db_) : sqlite3_errstr(rc);
    sqlite3_close_v2(db_);
    db_ = nullptr;
    throw IoError("cannot open knowledge-base database " + path + ": " + message);
  }
  sqlite3_extended_result_codes(db_, 1);
  sqlite3_busy_timeout(db_, busy_timeout_ms);
  try {
    // journal_mode reads the header first: a file that is not a database fails here, naming it.
    exec("PRAGMA journal_mode=WAL");
    // NORMAL in WAL: a killed process never loses a committed transaction (only power loss may lose the last ones).
    exec("PRAGMA synchronous=NORMAL; PRAGMA foreign_keys=ON");
  } catch (...) {
    sqlite3_close_v2(db_);  // the destructor does not run for a throwing constructor
    throw;
  }
}

SqliteDb::~SqliteDb() {
  for (auto& [sql, stmt] : statements_) sqlite3_finalize(stmt);
  sqlite3_close_v2(db_);
}

Stmt SqliteDb::prepare(const std::string& sql) {
  auto it = statements_.find(sql);
  if (it == statements_.end()) {
    sqlite3_stmt* stmt = nullptr;
    const int rc =
        sqlite3_prepare_v3(db_, sql.c_str(), static_cast<int>(sql.size()), SQLITE_PREPARE_PERSISTENT, &stmt, nullptr);
    if (rc != SQLITE_OK) fail(rc, sql);
    it = statements_.emplace(sql, stmt).first;
  }
  return Stmt(*this, it->second);
}

void SqliteDb::exec(const std::string& sql) {
  char* message = nullptr;
  const int rc = sqlite3_exec(db_, sql.c_str(), nullptr, nullptr, &message);
  sqlite3_free(message);
  if (rc != SQLITE_OK) fail(rc, sql);
}

int64_t SqliteDb::scalar(const std::string& sql) {
  Stmt stmt = prepare(sql);
  return stmt.step() ? stmt.i64(0) : 0;
}

void SqliteDb::fail(int rc, std::string_view what) {
  const int primary = rc & 0xff;
  const std::string detail = std::string(sqlite3_errmsg(db_)) + " (while " + std::string(what.substr(0, 120)) + ")";
  switch (primary) {
    case SQLITE_BUSY:
    case SQLITE_LOCKED:
      throw LimitError("knowledge-base database " + path_ + " is busy: another process is writing to it; retry later");
    case SQLITE_NOTADB:
    case SQLITE_CORRUPT:
      throw IoError("knowledge-base database " + path_ + " is corrupt or not a SQLite database: " + detail);
    case SQLITE_CONSTRAINT:
      throw Error("knowledge-base database " + path_ + ": constraint failed: " + detail);
    case SQLITE_FULL:
      throw IoError("knowledge-base database " + path_ + ": disk full: " + detail);
    default:
      throw IoError("knowledge-base database " + path_ + ": " + detail);
  }
}

Transaction::Transaction(SqliteDb& db, Kind kind) : db_(db) {
  db_.exec(kind == Kind::kWrite ? "BEGIN IMMEDIATE" : "BEGIN");
  open_ = true;
}

Transaction::~Transaction() {
  if (open_) sqlite3_exec(db_.handle(), "ROLLBACK", nullptr, nullptr, nullptr);
}

void Transaction::commit() {
  db_.exec("COMMIT");
  open_ = false;
}

}  // namespace qembed::kb
