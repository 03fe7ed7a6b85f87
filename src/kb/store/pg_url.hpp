#pragma once
// Knowledge-base locations that are PostgreSQL URLs rather than SQLite files (no libpq needed to include this).
#include <string>
#include <string_view>

namespace qembed::kb {

//! Whether `path` names a PostgreSQL database (postgresql:// or postgres://).
bool is_pg_url(std::string_view path);
//! `url` without its password (postgresql://user:secret@host/db -> postgresql://user@host/db; password=... dropped);
//! any other path unchanged.
std::string redact_pg_url(std::string_view url);

}  // namespace qembed::kb
