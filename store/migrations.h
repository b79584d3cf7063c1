// Versioned schema migrations for the state database, tracked by PRAGMA user_version.
//
// Version N of the schema is migration 1..N applied in order (0 is an empty file). Each migration
// runs in its own BEGIN IMMEDIATE transaction together with the user_version it sets, so a crash or
// an error leaves the database at the previous version, never in between. A database whose
// user_version is newer than this binary knows is refused, untouched (ninja's build log does the
// same with "too new" logs): an old binary must not write a schema it does not understand.
//
// Migrations are append-only: once released, a migration's SQL never changes; a change is a new
// migration. The tables and the state grammar of each are documented in migrations.cc.
#ifndef SFLOW_STORE_MIGRATIONS_H_
#define SFLOW_STORE_MIGRATIONS_H_

#include <span>

#include "engine/status.h"
#include "store/sqlite_db.h"

namespace sflow {

struct Migration {
  int version;       // 1, 2, ... without gaps
  const char* name;  // for messages: "initial schema"
  const char* sql;   // one or more statements
};

// The migrations this binary knows, oldest first.
std::span<const Migration> StoreMigrations();
// The schema version this binary writes (the last migration's version).
int LatestSchemaVersion();

// Brings `db` up to the newest of `migrations` (default: StoreMigrations()).
// Errors: kIOError "state database is from a newer sogni-flow (version N); upgrade" when the file
// is newer; the Status of the failing statement otherwise (that migration is rolled back, the ones
// before it stay). Safe to call concurrently from two processes: the version is re-read inside
// the write transaction.
Status Migrate(Db* db);
Status Migrate(Db* db, std::span<const Migration> migrations);

// Compares the schema stored in `db` (the type, name, table and SQL text of every table and index
// in sqlite_schema) with what StoreMigrations() 1..user_version create in a fresh database: a
// byte changed in the schema's text (a renamed column makes every statement fail to prepare) or an
// object missing or added is kIOError "the state database ... is damaged: ...; <hint>". A version
// newer than this binary knows is left to Migrate, which refuses it. Cheap: the expected schema is
// built once per process in memory.
Status CheckSchema(Db* db);

}  // namespace sflow

#endif  // SFLOW_STORE_MIGRATIONS_H_
