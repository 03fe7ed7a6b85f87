#include "kb/store/pg_conn.hpp"

#include <cstring>

#include "common/error.hpp"

namespace qembed::kb {

std::string redact_pg_url(std::string_view url) {
  std::string out(url);
  if (!is_pg_url(url)) return out;
  const size_t scheme = out.find("://");
  if (scheme != std::string::npos) {
    const size_t start = scheme + 3;
    const size_t at = out.find('@', start);
    const size_t slash = out.find('/', start);
    if (at != std::string::npos && (slash == std::string::npos || at < slash)) {
      const size_t colon = out.find(':', start);
      if (colon != std::string::npos && colon < at) out.erase(colon, at - colon);
    }
  }
  // password=... in the query string
  for (size_t p = out.find("password="); p != std::string::npos; p = out.find("password=", p)) {
    const size_t end = out.find('&', p);
    out.erase(p, (end == std::string::npos ? out.size() : end + 1) - p);
  }
  while (!out.empty() && (out.back() == '?' || out.back() == '&')) out.pop_back();
  return out;
}

bool is_pg_url(std::string_view path) { return path.starts_with("postgresql://") || path.starts_with("postgres://"); }

// --- parameters

PgParams& PgParams::add(std::string_view text) {
  values_.emplace_back(text);
  null_.push_back(false);
  binary_.push_back(false);
  return *this;
}

PgParams& PgParams::add(double value) {
  char buf[64];
  snprintf(buf, sizeof buf, "%.17g", value);
  return add(std::string_view(buf));
}

PgParams& PgParams::add_null() {
  values_.emplace_back();
  null_.push_back(true);
  binary_.push_back(false);
  return *this;
}

PgParams& PgParams::add_bytes(std::span<const uint8_t> bytes) {
  values_.emplace_back(reinterpret_cast<const char*>(bytes.data()), bytes.size());
  null_.push_back(false);
  binary_.push_back(true);
  return *this;
}

PgParams& PgParams::add_int_array(std::span<const int64_t> values) {
  std::string s = "{";
  for (size_t i = 0; i < values.size(); ++i) {
    if (i) s += ',';
    s += std::to_string(values[i]);
  }
  s += '}';
  return add(s);
}

PgParams& PgParams::add_text_array(const std::vector<std::string>& values) {
  std::string s = "{";
  for (size_t i = 0; i < values.size(); ++i) {
    if (i) s += ',';
    s += '"';
    for (char c : values[i]) {
      if (c == '"' || c == '\\') s += '\\';
      s += c;
    }
    s += '"';
  }
  s += '}';
  return add(s);
}

PgParams& PgParams::add_float_array(const std::vector<double>& values) {
  std::string s = "{";
  char buf[64];
  for (size_t i = 0; i < values.size(); ++i) {
    if (i) s += ',';
    snprintf(buf, sizeof buf, "%.17g", values[i]);
    s += buf;
  }
  s += '}';
  return add(s);
}

std::vector<const char*> PgParams::pointers() const {
  std::vector<const char*> out;
  for (size_t i = 0; i < values_.size(); ++i) out.push_back(null_[i] ? nullptr : values_[i].data());
  return out;
}

std::vector<int> PgParams::lengths() const {
  std::vector<int> out;
  for (const auto& v : values_) out.push_back(static_cast<int>(v.size()));
  return out;
}

std::vector<int> PgParams::formats() const {
  std::vector<int> out;
  for (bool b : binary_) out.push_back(b ? 1 : 0);
  return out;
}

// --- results

PgResult& PgResult::operator=(PgResult&& o) noexcept {
  if (this != &o) {
    if (r_) PQclear(r_);
    r_ = o.r_;
    o.r_ = nullptr;
  }
  return *this;
}

PgResult::~PgResult() {
  if (r_) PQclear(r_);
}

std::string PgResult::text(int row, int col) const {
  return std::string(PQgetvalue(r_, row, col), static_cast<size_t>(PQgetlength(r_, row, col)));
}

namespace {
uint64_t big_endian(const char* p, int n) {
  uint64_t v = 0;
  for (int i = 0; i < n; ++i) v = (v << 8) | static_cast<uint8_t>(p[i]);
  return v;
}
}  // namespace

int64_t PgResult::i64(int row, int col) const {
  if (PQgetisnull(r_, row, col)) return 0;
  const char* v = PQgetvalue(r_, row, col);
  if (PQfformat(r_, col) == 1) {
    const int n = PQgetlength(r_, row, col);
    if (n == 8) return static_cast<int64_t>(big_endian(v, 8));
    if (n == 4) return static_cast<int32_t>(static_cast<uint32_t>(big_endian(v, 4)));
    if (n == 2) return static_cast<int16_t>(static_cast<uint16_t>(big_endian(v, 2)));
    return 0;
  }
  return std::strtoll(v, nullptr, 10);
}

double PgResult::f64(int row, int col) const {
  if (PQgetisnull(r_, row, col)) return 0;
  const char* v = PQgetvalue(r_, row, col);
  if (PQfformat(r_, col) == 1) {
    if (PQgetlength(r_, row, col) == 8) {
      const uint64_t bits = big_endian(v, 8);
      double d;
      std::memcpy(&d, &bits, 8);
      return d;
    }
    if (PQgetlength(r_, row, col) == 4) {
      const auto bits = static_cast<uint32_t>(big_endian(v, 4));
      float f;
      std::memcpy(&f, &bits, 4);
      return f;
    }
    return 0;
  }
  return std::strtod(v, nullptr);
}

std::span<const uint8_t> PgResult::raw(int row, int col) const {
  return {reinterpret_cast<const uint8_t*>(PQgetvalue(r_, row, col)), static_cast<size_t>(PQgetlength(r_, row, col))};
}

std::vector<uint8_t> PgResult::bytes(int row, int col) const {
  if (PQgetisnull(r_, row, col)) return {};
  if (PQfformat(r_, col) == 1) {
    const auto r = raw(row, col);
    return {r.begin(), r.end()};
  }
  size_t n = 0;
  unsigned char* p = PQunescapeBytea(reinterpret_cast<const unsigned char*>(PQgetvalue(r_, row, col)), &n);
  if (!p) return {};
  std::vector<uint8_t> out(p, p + n);
  PQfreemem(p);
  return out;
}

// --- connection

PgConn::PgConn(std::string url) : url_(std::move(url)), display_(redact_pg_url(url_)) {
  conn_ = PQconnectdb(url_.c_str());
  if (!conn_ || PQstatus(conn_) != CONNECTION_OK) {
    const std::string message = conn_ ? PQerrorMessage(conn_) : "out of memory";
    if (conn_) PQfinish(conn_);
    conn_ = nullptr;
    throw UnavailableError("cannot connect to the knowledge-base database " + display_ + ": " + message +
                           " (retry when the server is reachable)");
  }
  PQsetClientEncoding(conn_, "UTF8");
  PgResult r(PQexec(conn_, "SET client_min_messages = warning"));
}

PgConn::~PgConn() {
  if (conn_) PQfinish(conn_);
}

void PgConn::ensure_connected() {
  if (PQstatus(conn_) == CONNECTION_OK) return;
  prepared_.clear();
  PQreset(conn_);
  if (PQstatus(conn_) != CONNECTION_OK) {
    throw UnavailableError("the knowledge-base database " + display_ + " is unreachable: " + PQerrorMessage(conn_) +
                           " (retry later)");
  }
  PQsetClientEncoding(conn_, "UTF8");
  PgResult r(PQexec(conn_, "SET client_min_messages = warning"));
}

void PgConn::fail(PGresult* result, const std::string& what) {
  // Copied before PQclear: the field and the message point into the result.
  const char* state = result ? PQresultErrorField(result, PG_DIAG_SQLSTATE) : nullptr;
  const std::string sqlstate = state ? state : "";
  std::string message = result ? PQresultErrorMessage(result) : "";
  if (message.empty()) message = PQerrorMessage(conn_);
  while (!message.empty() && (message.back() == '\n' || message.back() == ' ')) message.pop_back();
  if (result) PQclear(result);
  const std::string prefix = "knowledge-base database " + display_ + ": ";
  // No SQLSTATE on a failed result: the error is libpq's own, not the server's — the connection broke ("server
  // closed the connection unexpectedly" when the server was killed or restarted, before libpq marks it bad).
  if (PQstatus(conn_) != CONNECTION_OK || sqlstate.starts_with("08") || (result && sqlstate.empty()) ||
      sqlstate == "57P01" || sqlstate == "57P02" || sqlstate == "57P03") {
    prepared_.clear();
    throw UnavailableError(prefix + "connection lost (" + message + "); retry");
  }
  if (sqlstate == "40001" || sqlstate == "40P01" || sqlstate.starts_with("53") || sqlstate == "55P03" ||
      sqlstate.starts_with("57P")) {
    throw LimitError(prefix + "busy (" + message + "); retry later");
  }
  if (sqlstate.starts_with("23")) throw Error(prefix + "constraint failed: " + message);
  if (sqlstate.starts_with("22")) throw Error(prefix + "invalid value: " + message);
  throw IoError(prefix + what + ": " + message);
}

void PgConn::exec(const std::string& sql) {
  PGresult* r = PQexec(conn_, sql.c_str());
  const ExecStatusType st = r ? PQresultStatus(r) : PGRES_FATAL_ERROR;
  if (st != PGRES_COMMAND_OK && st != PGRES_TUPLES_OK) fail(r, "statement failed");
  PQclear(r);
}

PgResult PgConn::query(const std::string& sql, const PgParams& params, bool binary_result) {
  auto it = prepared_.find(sql);
  if (it == prepared_.end()) {
    std::string name = std::to_string(prepared_.size() + 1);
    name.insert(0, 1, 'q');  // (not "q" + ...: GCC 12 -Wrestrict false positive)
    PGresult* r = PQprepare(conn_, name.c_str(), sql.c_str(), 0, nullptr);
    if (!r || PQresultStatus(r) != PGRES_COMMAND_OK) fail(r, "cannot prepare a statement");
    PQclear(r);
    it = prepared_.emplace(sql, name).first;
  }
  const auto values = params.pointers();
  const auto lengths = params.lengths();
  const auto formats = params.formats();
  PGresult* r = PQexecPrepared(conn_, it->second.c_str(), params.size(), values.data(), lengths.data(), formats.data(),
                               binary_result ? 1 : 0);
  const ExecStatusType st = r ? PQresultStatus(r) : PGRES_FATAL_ERROR;
  if (st != PGRES_COMMAND_OK && st != PGRES_TUPLES_OK) fail(r, "query failed");
  return PgResult(r);
}

int64_t PgConn::scalar(const std::string& sql, const PgParams& params) {
  PgResult r = query(sql, params);
  return r.rows() > 0 ? r.i64(0, 0) : 0;
}

// --- transactions

PgTxn::PgTxn(PgConn& conn, Kind kind) : conn_(conn) {
  conn_.ensure_connected();
  if (kind == Kind::kWrite) {
    conn_.exec("BEGIN ISOLATION LEVEL READ COMMITTED; SET LOCAL lock_timeout = '5s'");
    try {
      conn_.query("SELECT pg_advisory_xact_lock($1::bigint)", PgParams().add(kPgWriteLockKey));
    } catch (...) {
      PgResult r(PQexec(conn_.handle(), "ROLLBACK"));
      throw;
    }
  } else {
    conn_.exec("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY");
  }
}

PgTxn::~PgTxn() {
  if (!done_) PgResult r(PQexec(conn_.handle(), "ROLLBACK"));
}

void PgTxn::commit() {
  done_ = true;
  conn_.exec("COMMIT");
}

}  // namespace qembed::kb
