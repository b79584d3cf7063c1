// Db, Stmt and Transaction: the RAII layer over sqlite3 that the rest of store/ is written in.
//
// Every fallible call returns a Status, never throws, and maps SQLite's result codes the same way:
//   SQLITE_BUSY / SQLITE_LOCKED            -> kConflict  (another process holds the write lock)
//   SQLITE_CONSTRAINT_* (UNIQUE, PK, FK)   -> kConflict  (with SQLite's message: which constraint)
//   SQLITE_CONSTRAINT_CHECK                -> kInternal  (a malformed value: the caller's bug)
//   SQLITE_FULL, SQLITE_IOERR_*, CANTOPEN,
//   READONLY, CORRUPT, NOTADB, NOMEM, ...  -> kIOError   (the disk or the file is in trouble)
//   SQLITE_MISUSE, SQLITE_RANGE, ERROR     -> kInternal  (a bug: bad SQL, bad binding)
// Messages say in words what happened to which file, then the code by name and what was being
// done, never the values bound:
//   "disk full writing the state database <db> (SQLITE_FULL while running 'INSERT ...'): free
//    some space on its filesystem, then try again; what was stored before is intact"
//                   (SQLITE_FULL, or any error whose system errno is ENOSPC or EDQUOT)
//   "cannot grow the state database's shared-memory file <db>-shm, most likely because the disk
//    is full (SQLITE_IOERR_SHMSIZE while ...): free some space ..."  (once "extended code 4874")
//   "I/O error on the state database <db> (SQLITE_IOERR_FSYNC while ...): ...; the disk may be
//    full or failing: check it, then try again; ..."
//   "state database <db> is damaged (SQLITE_CORRUPT while ...): ...; <DamagedDatabaseHint>"
// For callers: a kIOError from the store means the disk or the file is in trouble, never that a
// run's state is half written (every write is one transaction). Once the cause is fixed the same
// command, or `sogni-flow resume RUN` for a run, continues; a driver should print that hint.
//
// Db opens one connection with the settings docs/architecture.md (crash safety) requires: WAL, synchronous=FULL,
// foreign_keys=ON, a busy timeout. Writes go through Transaction, which uses BEGIN IMMEDIATE so
// that a waiting writer honours the busy timeout (a deferred transaction that upgrades to a write
// fails at once with SQLITE_BUSY; https://sqlite.org/lang_transaction.html).
//
// Prepared statements are cached per connection (a store uses a small fixed set of SQL strings), so
// Prepare() is cheap after the first call. Not thread-safe: one thread uses a Db at a time.
// This is the only header of ours that names sqlite3 types, and only as forward declarations.
#ifndef SFLOW_STORE_SQLITE_DB_H_
#define SFLOW_STORE_SQLITE_DB_H_

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>

#include "engine/status.h"

struct sqlite3;
struct sqlite3_stmt;

namespace sflow {

struct DbOptions {
  int busy_timeout_ms = 5000;
  bool create = true;      // create the file if missing (else kNotFound)
  // Opened SQLITE_OPEN_READONLY: every write fails with kIOError, nothing is created and the
  // journal mode is left as it is. A WAL database opened so needs its -shm and -wal, or a
  // writable directory to make them (sqlite.org/wal.html#readonly); see `immutable`.
  bool read_only = false;
  // With read_only: the file cannot change while open (a read-only directory and no -wal: no
  // writer can exist), so SQLite neither locks it nor looks for a -wal (the "immutable" URI
  // parameter).
  bool immutable = false;
  std::string vfs{};       // a registered sqlite3 VFS by name; empty = the default (test seam)
  // false: `synchronous=NORMAL` instead of FULL. A commit is then atomic and seen by every
  // other connection at once, and survives the process's death, but not a power loss (the WAL
  // is synced at the next FULL commit of any connection, or at a checkpoint). Only for rows
  // whose loss with the machine is harmless: the run leases' (store/run_lease.h).
  bool sync_each_commit = true;
};

// The Status for SQLite result code `rc` (extended codes welcome). `db` may be null; `what` says
// what was being done ("opening", "inserting events").
Status SqliteStatus(int rc, sqlite3* db, std::string_view path, std::string_view what);
// `text` for a message: valid UTF-8 kept, control characters and bytes that are not UTF-8
// written as \xNN (text from a damaged file must not make a --json line invalid).
std::string Printable(std::string_view text);
// The length of the valid UTF-8 sequence at text[i], or 0.
size_t Utf8LengthAt(std::string_view text, size_t i);
// What to do about a damaged state database at `path`: "keep a copy of DIR; `sogni-flow check`
// lists what is damaged and `sogni-flow recover` gets runs back from the server".
std::string DamagedDatabaseHint(std::string_view path);

class Db;

// A prepared statement borrowed from the Db's cache. Bind*() chain and remember the first error,
// which Step() then returns. Destruction resets the statement and clears its bindings. A Stmt
// must not outlive its Db, and text from Text() is a copy, valid after the next Step().
class Stmt {
 public:
  Stmt(Stmt&& other) noexcept
      : db_(other.db_), stmt_(other.stmt_), in_use_(other.in_use_), bind_rc_(other.bind_rc_) {
    other.stmt_ = nullptr;
  }
  Stmt(const Stmt&) = delete;
  Stmt& operator=(const Stmt&) = delete;
  Stmt& operator=(Stmt&&) = delete;
  ~Stmt();

  // Parameters are 1-based, as in SQL. An empty optional binds NULL.
  Stmt& Bind(int index, int64_t value);
  Stmt& Bind(int index, int value) { return Bind(index, static_cast<int64_t>(value)); }
  Stmt& Bind(int index, double value);
  Stmt& Bind(int index, std::string_view text);
  Stmt& Bind(int index, const std::string& text) { return Bind(index, std::string_view(text)); }
  Stmt& Bind(int index, const char* text) { return Bind(index, std::string_view(text)); }
  Stmt& Bind(int index, std::nullptr_t);
  Stmt& Bind(int index, const std::optional<std::string>& text);
  Stmt& Bind(int index, const std::optional<int64_t>& value);
  // Binds text WITHOUT copying it (SQLITE_STATIC): `text` must stay alive and unchanged until the
  // statement is reset or destroyed. For hot loops over strings the caller owns.
  Stmt& BindStatic(int index, std::string_view text);
  Stmt& Bind(int index, const std::optional<double>& value);
  // Bind(1, a), Bind(2, b), ... in one call.
  template <typename... Args>
  Stmt& BindAll(const Args&... args) {
    int i = 0;
    (Bind(++i, args), ...);
    return *this;
  }

  // Runs one step: true when a row is available, false when the statement is done.
  Result<bool> Step();
  // Steps a statement that returns no rows (INSERT/UPDATE/DELETE) to completion.
  Status Run();
  // Makes the statement ready to run again with new bindings (for a loop over rows to insert).
  void Reset();

  enum class Type { kNull, kInteger, kFloat, kText, kBlob };
  // The storage class of a column's value (a damaged page can turn a STRICT column's value into
  // another type, which Int() and Text() would silently convert).
  Type TypeOf(int column) const;
  bool IsNull(int column) const;
  int64_t Int(int column) const;
  double Double(int column) const;
  std::string Text(int column) const;  // "" for NULL
  std::optional<std::string> OptText(int column) const;
  std::optional<int64_t> OptInt(int column) const;
  std::optional<double> OptDouble(int column) const;

 private:
  friend class Db;
  // `in_use` is the cache entry's flag, cleared on destruction; null for a private statement,
  // which is finalized instead.
  Stmt(Db* db, sqlite3_stmt* stmt, bool* in_use) : db_(db), stmt_(stmt), in_use_(in_use) {}
  Stmt& Note(int rc);
 public:
  // The database file the statement belongs to (for messages about a damaged row).
  const std::string& db_path() const;

 private:
  Db* db_;
  sqlite3_stmt* stmt_;
  bool* in_use_;
  int bind_rc_ = 0;
};

class Db {
 public:
  // Opens (or creates) the database at `path` (":memory:" for a private in-memory one) and applies
  // the connection settings. Fails with kIOError if the file is not a usable SQLite database.
  static Result<std::unique_ptr<Db>> Open(const std::string& path, const DbOptions& options = {});
  ~Db();  // finalizes the cached statements and closes; an open transaction is rolled back
  Db(const Db&) = delete;
  Db& operator=(const Db&) = delete;

  // Runs one or more statements that return no rows (DDL, PRAGMA assignments).
  Status Exec(std::string_view sql);
  // A cached prepared statement for `sql` (one statement).
  Result<Stmt> Prepare(std::string_view sql);
  // A single integer from a one-row query ("PRAGMA user_version").
  Result<int64_t> QueryInt(std::string_view sql);
  // Rows changed by the last INSERT/UPDATE/DELETE.
  int64_t changes() const;
  // "ok", or the problems PRAGMA integrity_check found (one per line): of the whole file, or of
  // `table` and its indexes only (every row found by each index and each index entry by its row,
  // which quick_check does not verify).
  Result<std::string> IntegrityCheck();
  Result<std::string> IntegrityCheck(const std::string& table);

  const std::string& path() const { return path_; }
  sqlite3* handle() { return db_; }
  // Every problem PRAGMA quick_check finds in `table` and its indexes (CHECK and NOT NULL
  // constraints included), one per line; "ok" when none.
  Result<std::string> QuickCheck(const std::string& table);

  // Test seam, after SQLite's faultsim: the nth SQL step from now (1 = the next; Step() or Exec(),
  // BEGIN and COMMIT included, ROLLBACK excluded) fails with an injected SQLITE_IOERR without
  // running; with `persistent`, every later step fails too. n = 0 clears the fault.
  void TEST_InjectStepFault(int64_t n, bool persistent);
  bool TEST_fault_hit() const { return fault_hit_; }
  int64_t TEST_steps() const { return steps_; }

 private:
  friend class Stmt;
  friend class Transaction;
  Db(sqlite3* db, std::string path) : db_(db), path_(std::move(path)) {}
  // Counts a step and returns the injected result code, or 0 to proceed.
  int BeforeStep();
  Status Error(int rc, std::string_view what) const;

  sqlite3* db_;
  std::string path_;
  struct CacheEntry {
    sqlite3_stmt* stmt;
    bool in_use;
  };
  std::unordered_map<std::string, CacheEntry> cache_;  // node-based: entries never move
  int64_t steps_ = 0;
  int64_t fault_at_ = 0;  // absolute step number that fails; 0 = none
  bool fault_persistent_ = false;
  bool fault_hit_ = false;
};

// A transaction guard. Begin() starts it (BEGIN IMMEDIATE for writes, BEGIN for a consistent
// multi-statement read); Commit() ends it; destruction without a successful Commit() rolls back.
// If SQLite already rolled back by itself (after SQLITE_FULL, IOERR, BUSY), the guard notices.
class Transaction {
 public:
  enum class Kind { kWrite, kRead };
  explicit Transaction(Db* db, Kind kind = Kind::kWrite) : db_(db), kind_(kind) {}
  ~Transaction();
  Transaction(const Transaction&) = delete;
  Transaction& operator=(const Transaction&) = delete;

  Status Begin();
  Status Commit();

 private:
  Db* db_;
  Kind kind_;
  bool open_ = false;
};

}  // namespace sflow

#endif  // SFLOW_STORE_SQLITE_DB_H_
