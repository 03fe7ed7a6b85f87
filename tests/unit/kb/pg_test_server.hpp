#pragma once
// A throwaway PostgreSQL server for the store tests: started once per test process on first use (initdb into a
// temporary folder, unix socket in that folder only, fsync off), stopped when the process exits. Each test gets
// its own database. Run as root, the server runs as the `postgres` user (runuser), which owns the folder.
// Without PostgreSQL's binaries (Debian: apt install postgresql-15; or QEMBED_PG_BIN=<bindir>) unavailable()
// says why and the PostgreSQL tests skip.
#include <libpq-fe.h>
#include <pwd.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <functional>
#include <mutex>
#include <string>

namespace qembed::kb::testing {

class PgTestServer {
 public:
  static PgTestServer& instance() {
    static PgTestServer server;
    return server;
  }

  //! Why no server runs ("" when it does).
  const std::string& unavailable() const { return unavailable_; }

  //! Creates database `name` (when missing) and returns its URL.
  std::string database_url(const std::string& name) {
    std::lock_guard lock(mutex_);
    PGconn* c = PQconnectdb(url("postgres").c_str());
    if (PQstatus(c) == CONNECTION_OK) {
      PGresult* r = PQexec(c, ("CREATE DATABASE \"" + name + "\"").c_str());
      PQclear(r);
    }
    PQfinish(c);
    return url(name);
  }

  ~PgTestServer() {
    if (!started_) return;
    run(as_user_ + pg_bin_ + "/pg_ctl -D " + dir_ + "/data -m immediate -w stop >/dev/null 2>&1");
    std::error_code ec;
    std::filesystem::remove_all(dir_, ec);
  }

 private:
  PgTestServer() {
    const char* env = std::getenv("QEMBED_PG_BIN");
    pg_bin_ = env ? env : "/usr/lib/postgresql/15/bin";
    if (!std::filesystem::exists(pg_bin_ + "/initdb") || !std::filesystem::exists(pg_bin_ + "/pg_ctl")) {
      unavailable_ = "PostgreSQL binaries not found in " + pg_bin_ +
                     " (apt install postgresql-15, or set QEMBED_PG_BIN): PostgreSQL store tests skipped";
      return;
    }
    std::string tmpl = (std::filesystem::temp_directory_path() / "qembed-pg-XXXXXX").string();
    if (!mkdtemp(tmpl.data())) {
      unavailable_ = "cannot create a temporary folder for PostgreSQL";
      return;
    }
    dir_ = tmpl;
    if (geteuid() == 0) {
      const passwd* pw = getpwnam("postgres");
      if (!pw) {
        unavailable_ = "running as root and there is no `postgres` user to run the test server as";
        return;
      }
      if (chown(dir_.c_str(), pw->pw_uid, pw->pw_gid) != 0) {
        unavailable_ = "cannot hand " + dir_ + " to the postgres user";
        return;
      }
      as_user_ = "runuser -u postgres -- ";
    }
    const std::string log = dir_ + "/setup.log";
    if (run(as_user_ + pg_bin_ + "/initdb -D " + dir_ + "/data -U qembed --auth=trust -E UTF8 --locale=C.UTF-8 >" +
            log + " 2>&1") != 0) {
      unavailable_ = "initdb failed (see " + log + ")";
      return;
    }
    const std::string options = "-k " + dir_ + " -p " + std::to_string(kPort) +
                                " -c listen_addresses='' -c fsync=off -c synchronous_commit=off "
                                "-c full_page_writes=off -c max_connections=200";
    if (run(as_user_ + pg_bin_ + "/pg_ctl -D " + dir_ + "/data -l " + dir_ + "/server.log -w -t 60 -o \"" + options +
            "\" start >>" + log + " 2>&1") != 0) {
      unavailable_ = "the PostgreSQL test server did not start (see " + dir_ + "/server.log)";
      return;
    }
    started_ = true;
  }

  static int run(const std::string& command) { return std::system(command.c_str()); }
  std::string url(const std::string& db) const {
    return "postgresql:///" + db + "?host=" + dir_ + "&port=" + std::to_string(kPort) + "&user=qembed";
  }

  static constexpr int kPort = 5432;  // a unix socket in our own folder: no clash with other servers
  std::string pg_bin_, dir_, as_user_, unavailable_;
  bool started_ = false;
  std::mutex mutex_;
};

//! A database name for (dir, key): the same pair reaches the same database, another pair another.
inline std::string pg_test_database(const std::string& dir, const std::string& key) {
  const size_t h = std::hash<std::string>{}(dir + "\n" + key);
  return "kb_" + std::to_string(h);
}

}  // namespace qembed::kb::testing
