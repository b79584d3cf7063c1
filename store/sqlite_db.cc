// Implementation details: statements are prepared once with SQLITE_PREPARE_PERSISTENT and kept in
// a map keyed by their SQL text; a Stmt borrows one and resets it when it goes away. If the same
// SQL is borrowed twice at once (a nested use), the second borrower gets a private statement that
// it finalizes itself. Injected faults (TEST_InjectStepFault) are checked in one place,
// BeforeStep(), which every Step() and Exec() passes through; ROLLBACK bypasses it so a guard can
// always undo.
#include "store/sqlite_db.h"

#include <sqlite3.h>
#include <sys/stat.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <thread>

namespace sflow {

namespace {

const char* PrimaryCodeName(int rc) {
  switch (rc & 0xff) {
    case SQLITE_ERROR: return "SQLITE_ERROR";
    case SQLITE_BUSY: return "SQLITE_BUSY";
    case SQLITE_LOCKED: return "SQLITE_LOCKED";
    case SQLITE_NOMEM: return "SQLITE_NOMEM";
    case SQLITE_READONLY: return "SQLITE_READONLY";
    case SQLITE_IOERR: return "SQLITE_IOERR";
    case SQLITE_CORRUPT: return "SQLITE_CORRUPT";
    case SQLITE_FULL: return "SQLITE_FULL";
    case SQLITE_CANTOPEN: return "SQLITE_CANTOPEN";
    case SQLITE_PROTOCOL: return "SQLITE_PROTOCOL";
    case SQLITE_CONSTRAINT: return "SQLITE_CONSTRAINT";
    case SQLITE_MISUSE: return "SQLITE_MISUSE";
    case SQLITE_RANGE: return "SQLITE_RANGE";
    case SQLITE_NOTADB: return "SQLITE_NOTADB";
    default: return "SQLITE";
  }
}

// The name of an extended SQLITE_IOERR_* code, "" for others.
const char* IoErrName(int rc) {
  switch (rc) {
    case SQLITE_IOERR_READ: return "SQLITE_IOERR_READ";
    case SQLITE_IOERR_SHORT_READ: return "SQLITE_IOERR_SHORT_READ";
    case SQLITE_IOERR_WRITE: return "SQLITE_IOERR_WRITE";
    case SQLITE_IOERR_FSYNC: return "SQLITE_IOERR_FSYNC";
    case SQLITE_IOERR_DIR_FSYNC: return "SQLITE_IOERR_DIR_FSYNC";
    case SQLITE_IOERR_TRUNCATE: return "SQLITE_IOERR_TRUNCATE";
    case SQLITE_IOERR_FSTAT: return "SQLITE_IOERR_FSTAT";
    case SQLITE_IOERR_UNLOCK: return "SQLITE_IOERR_UNLOCK";
    case SQLITE_IOERR_RDLOCK: return "SQLITE_IOERR_RDLOCK";
    case SQLITE_IOERR_DELETE: return "SQLITE_IOERR_DELETE";
    case SQLITE_IOERR_NOMEM: return "SQLITE_IOERR_NOMEM";
    case SQLITE_IOERR_ACCESS: return "SQLITE_IOERR_ACCESS";
    case SQLITE_IOERR_CHECKRESERVEDLOCK: return "SQLITE_IOERR_CHECKRESERVEDLOCK";
    case SQLITE_IOERR_LOCK: return "SQLITE_IOERR_LOCK";
    case SQLITE_IOERR_CLOSE: return "SQLITE_IOERR_CLOSE";
    case SQLITE_IOERR_SHMOPEN: return "SQLITE_IOERR_SHMOPEN";
    case SQLITE_IOERR_SHMSIZE: return "SQLITE_IOERR_SHMSIZE";
    case SQLITE_IOERR_SHMLOCK: return "SQLITE_IOERR_SHMLOCK";
    case SQLITE_IOERR_SHMMAP: return "SQLITE_IOERR_SHMMAP";
    case SQLITE_IOERR_SEEK: return "SQLITE_IOERR_SEEK";
    case SQLITE_IOERR_DELETE_NOENT: return "SQLITE_IOERR_DELETE_NOENT";
    case SQLITE_IOERR_MMAP: return "SQLITE_IOERR_MMAP";
    case SQLITE_IOERR_GETTEMPPATH: return "SQLITE_IOERR_GETTEMPPATH";
#ifdef SQLITE_IOERR_DATA
    case SQLITE_IOERR_DATA: return "SQLITE_IOERR_DATA";
#endif
#ifdef SQLITE_IOERR_CORRUPTFS
    case SQLITE_IOERR_CORRUPTFS: return "SQLITE_IOERR_CORRUPTFS";
#endif
    default: return "";
  }
}

// A short, value-free description of a statement for messages: its first words.
std::string Brief(std::string_view sql) {
  constexpr size_t kMax = 48;
  std::string s(sql.substr(0, kMax));
  for (char& c : s)
    if (c == '\n' || c == '\t') c = ' ';
  return sql.size() > kMax ? "'" + s + "...'" : "'" + s + "'";
}

}  // namespace

size_t Utf8LengthAt(std::string_view s, size_t i) {
  unsigned char c = static_cast<unsigned char>(s[i]);
  size_t len = c < 0x80 ? 1 : (c >> 5) == 6 ? 2 : (c >> 4) == 14 ? 3 : (c >> 3) == 30 ? 4 : 0;
  if (len == 0 || i + len > s.size()) return 0;
  for (size_t k = 1; k < len; ++k)
    if ((static_cast<unsigned char>(s[i + k]) & 0xC0) != 0x80) return 0;
  return len;
}

std::string Printable(std::string_view text) {
  std::string out;
  for (size_t i = 0; i < text.size();) {
    size_t len = Utf8LengthAt(text, i);
    unsigned char c = static_cast<unsigned char>(text[i]);
    if (len == 0 || (len == 1 && (c < 0x20 || c == 0x7f))) {
      char buf[8];
      std::snprintf(buf, sizeof buf, "\\x%02x", c);
      out += buf;
      ++i;
    } else {
      out.append(text, i, len);
      i += len;
    }
  }
  return out;
}

std::string DamagedDatabaseHint(std::string_view path) {
  std::string dir(path.substr(0, path.rfind('/') == std::string_view::npos ? 0 : path.rfind('/')));
  if (dir.empty()) dir = ".";
  return "keep a copy of " + dir + "; `sogni-flow check` lists what is damaged and `sogni-flow recover` "
         "gets runs back from the server";
}

Status SqliteStatus(int rc, sqlite3* db, std::string_view path, std::string_view what) {
  // sqlite3_errmsg and sqlite3_system_errno describe the connection's last error, which is this
  // one only if the codes agree (an injected fault never reached SQLite).
  const bool ours = db != nullptr && sqlite3_extended_errcode(db) == rc;
  // Printable: SQLite quotes a damaged schema's bytes in its messages.
  std::string detail = Printable(ours ? sqlite3_errmsg(db) : sqlite3_errstr(rc));
  const int sys = ours ? sqlite3_system_errno(db) : 0;
  std::string code = IoErrName(rc);
  if (code.empty()) code = PrimaryCodeName(rc);
  if (sys != 0) code += ", " + std::string(std::strerror(sys));
  const std::string p(path), w(what), where = " (" + code + " while " + w + ")";
  const bool no_space = (rc & 0xff) == SQLITE_FULL || sys == ENOSPC || sys == EDQUOT;
  switch (rc & 0xff) {
    case SQLITE_BUSY:
    case SQLITE_LOCKED:
      return Status::Error(Status::Code::kConflict, "state database " + p + " is busy" + where +
                                                        ": another process is using it; try again");
    case SQLITE_CONSTRAINT:
      // A CHECK rejects a malformed value (a bug of the caller); the others are conflicts with
      // stored rows (UNIQUE, PRIMARY KEY, FOREIGN KEY).
      if (rc == SQLITE_CONSTRAINT_CHECK) return Status::Internal("state database " + p + ": " + w + ": " + detail);
      return Status::Error(Status::Code::kConflict, "state database " + p + ": " + w + ": " + detail);
    case SQLITE_ERROR:
    case SQLITE_MISUSE:
    case SQLITE_RANGE:
    case SQLITE_INTERNAL: return Status::Internal("state database " + p + ": " + w + ": " + detail + " (" + code + ")");
    case SQLITE_CORRUPT:
    case SQLITE_NOTADB:
      return Status::IOError("state database " + p + " is damaged" + where + ": " + detail + "; " +
                             DamagedDatabaseHint(path));
    case SQLITE_READONLY:
      return Status::IOError("cannot write the state database " + p + where + ": " + detail);
    case SQLITE_CANTOPEN:
      return Status::IOError("cannot open the state database " + p + where + ": " + detail);
    case SQLITE_NOMEM: return Status::IOError("out of memory" + where);
    default:
      if (no_space) {
        return Status::IOError("disk full writing the state database " + p + where +
                               ": free some space on its filesystem, then try again; what was "
                               "stored before is intact");
      }
      if (rc == SQLITE_IOERR_SHMSIZE) {  // ftruncate/fallocate of the -shm: in practice a full disk
        return Status::IOError("cannot grow the state database's shared-memory file " + p +
                               "-shm, most likely because the disk is full" + where +
                               ": free some space on its filesystem, then try again; what was stored "
                               "before is intact");
      }
      return Status::IOError("I/O error on the state database " + p + where + ": " + detail +
                             "; the disk may be full or failing: check it, then try again; what was "
                             "stored before is intact");
  }
}

// ---- Stmt

Stmt::~Stmt() {
  if (stmt_ == nullptr) return;
  if (in_use_ != nullptr) {
    sqlite3_reset(stmt_);
    sqlite3_clear_bindings(stmt_);
    *in_use_ = false;
  } else {
    sqlite3_finalize(stmt_);
  }
}

Stmt& Stmt::Note(int rc) {
  if (rc != SQLITE_OK && bind_rc_ == SQLITE_OK) bind_rc_ = rc;
  return *this;
}

Stmt& Stmt::Bind(int index, int64_t value) { return Note(sqlite3_bind_int64(stmt_, index, value)); }
Stmt& Stmt::Bind(int index, double value) { return Note(sqlite3_bind_double(stmt_, index, value)); }
Stmt& Stmt::Bind(int index, std::string_view text) {
  // SQLITE_TRANSIENT: SQLite copies, so temporaries may be bound.
  return Note(
      sqlite3_bind_text64(stmt_, index, text.data(), text.size(), SQLITE_TRANSIENT, SQLITE_UTF8));
}
Stmt& Stmt::BindStatic(int index, std::string_view text) {
  return Note(sqlite3_bind_text64(stmt_, index, text.data(), text.size(), SQLITE_STATIC, SQLITE_UTF8));
}
Stmt& Stmt::Bind(int index, std::nullptr_t) { return Note(sqlite3_bind_null(stmt_, index)); }
Stmt& Stmt::Bind(int index, const std::optional<std::string>& text) {
  return text ? Bind(index, std::string_view(*text)) : Bind(index, nullptr);
}
Stmt& Stmt::Bind(int index, const std::optional<int64_t>& value) {
  return value ? Bind(index, *value) : Bind(index, nullptr);
}

Stmt& Stmt::Bind(int index, const std::optional<double>& value) {
  return value ? Bind(index, *value) : Bind(index, nullptr);
}

Result<bool> Stmt::Step() {
  const char* sql = sqlite3_sql(stmt_);
  if (bind_rc_ != SQLITE_OK) return db_->Error(bind_rc_, "binding " + Brief(sql));
  if (int injected = db_->BeforeStep(); injected != 0) {
    return db_->Error(injected, "running " + Brief(sql));
  }
  int rc = sqlite3_step(stmt_);
  if (rc == SQLITE_ROW) return true;
  if (rc == SQLITE_DONE) return false;
  Status s = db_->Error(rc, "running " + Brief(sql));
  sqlite3_reset(stmt_);
  return s;
}

Status Stmt::Run() {
  Result<bool> r = Step();
  if (!r.ok()) return r.status();
  if (*r) return Status::Internal("statement " + Brief(sqlite3_sql(stmt_)) + " returned rows");
  return Status::OK();
}

void Stmt::Reset() {
  sqlite3_reset(stmt_);
  sqlite3_clear_bindings(stmt_);
  bind_rc_ = SQLITE_OK;
}

const std::string& Stmt::db_path() const { return db_->path(); }

Stmt::Type Stmt::TypeOf(int column) const {
  switch (sqlite3_column_type(stmt_, column)) {
    case SQLITE_INTEGER: return Type::kInteger;
    case SQLITE_FLOAT: return Type::kFloat;
    case SQLITE_TEXT: return Type::kText;
    case SQLITE_BLOB: return Type::kBlob;
    default: return Type::kNull;
  }
}

bool Stmt::IsNull(int column) const { return sqlite3_column_type(stmt_, column) == SQLITE_NULL; }
int64_t Stmt::Int(int column) const { return sqlite3_column_int64(stmt_, column); }
double Stmt::Double(int column) const { return sqlite3_column_double(stmt_, column); }
std::string Stmt::Text(int column) const {
  const unsigned char* p = sqlite3_column_text(stmt_, column);
  if (p == nullptr) return "";
  return std::string(reinterpret_cast<const char*>(p), sqlite3_column_bytes(stmt_, column));
}
std::optional<std::string> Stmt::OptText(int column) const {
  if (IsNull(column)) return std::nullopt;
  return Text(column);
}
std::optional<int64_t> Stmt::OptInt(int column) const {
  if (IsNull(column)) return std::nullopt;
  return Int(column);
}
std::optional<double> Stmt::OptDouble(int column) const {
  if (IsNull(column)) return std::nullopt;
  return Double(column);
}

// ---- Db

Result<std::unique_ptr<Db>> Db::Open(const std::string& path, const DbOptions& options) {
  if (!options.create && path != ":memory:") {
    struct stat st;
    if (::stat(path.c_str(), &st) != 0 && errno == ENOENT) {
      return Status::NotFound("no state database at " + path);
    }
  }
  int flags = options.read_only ? SQLITE_OPEN_READONLY : SQLITE_OPEN_READWRITE;
  flags |= SQLITE_OPEN_NOMUTEX;
  if (options.create && !options.read_only) flags |= SQLITE_OPEN_CREATE;
#ifdef SQLITE_OPEN_EXRESCODE
  flags |= SQLITE_OPEN_EXRESCODE;
#endif
  std::string name = path;
  if (options.read_only && options.immutable) {
    // A URI, so that the immutable parameter applies; '%', '?' and '#' must be escaped in it.
    name = "file:";
    for (char c : path) {
      if (c == '%' || c == '?' || c == '#') {
        char buf[4];
        std::snprintf(buf, sizeof buf, "%%%02X", static_cast<unsigned char>(c));
        name += buf;
      } else {
        name += c;
      }
    }
    name += "?immutable=1";
    flags |= SQLITE_OPEN_URI;
  }
  sqlite3* raw = nullptr;
  int rc = sqlite3_open_v2(name.c_str(), &raw, flags, options.vfs.empty() ? nullptr : options.vfs.c_str());
  if (rc != SQLITE_OK) {
    Status s = SqliteStatus(rc, raw, path, "opening");
    sqlite3_close_v2(raw);
    return s;
  }
  std::unique_ptr<Db> db(new Db(raw, path));
  sqlite3_extended_result_codes(raw, 1);
  sqlite3_busy_timeout(raw, options.busy_timeout_ms);

  // The first statement reads the file header and the schema, so a damaged file fails here. A
  // read-only connection leaves the journal mode as it is (changing it would be a write).
  // Two processes opening a new file at once both try to switch it to WAL; SQLite answers one
  // of them SQLITE_BUSY at once, without its busy handler (waiting could deadlock), so the open
  // is tried again until the busy timeout has passed.
  std::string got;
  const char* first = options.read_only ? "PRAGMA journal_mode" : "PRAGMA journal_mode=WAL";
  const auto give_up = std::chrono::steady_clock::now() + std::chrono::milliseconds(options.busy_timeout_ms);
  for (int attempt = 0;; ++attempt) {
    sqlite3_stmt* stmt = nullptr;
    rc = sqlite3_prepare_v2(raw, first, -1, &stmt, nullptr);
    if (rc == SQLITE_OK) {
      rc = sqlite3_step(stmt);
      if (rc == SQLITE_ROW) {
        got = reinterpret_cast<const char*>(sqlite3_column_text(stmt, 0));
        rc = SQLITE_OK;
      }
    }
    sqlite3_finalize(stmt);
    if (rc == SQLITE_OK) rc = sqlite3_exec(raw, "SELECT count(*) FROM sqlite_schema", nullptr, nullptr, nullptr);
    if ((rc & 0xff) != SQLITE_BUSY || std::chrono::steady_clock::now() >= give_up) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(std::min(5 + 5 * attempt, 50)));
  }
  if (rc != SQLITE_OK) return SqliteStatus(rc, raw, path, "opening");
  if (!options.read_only && got != "wal" && !(got == "memory" && path == ":memory:")) {
    return Status::IOError("state database " + path + ": cannot switch to WAL (journal mode is '" +
                           got + "'); WAL needs a local filesystem, not NFS or SMB");
  }
  if (Status s = db->Exec("PRAGMA foreign_keys=ON;"); !s.ok()) return s;
  if (!options.read_only) {
    const char* sync = options.sync_each_commit ? "PRAGMA synchronous=FULL;" : "PRAGMA synchronous=NORMAL;";
    if (Status s = db->Exec(sync); !s.ok()) return s;
  }
  return db;
}

Db::~Db() {
  for (auto& [sql, entry] : cache_) sqlite3_finalize(entry.stmt);
  sqlite3_close_v2(db_);
}

int Db::BeforeStep() {
  ++steps_;
  if (fault_at_ == 0) return 0;
  if (steps_ == fault_at_ || (fault_persistent_ && steps_ > fault_at_)) {
    fault_hit_ = true;
    return SQLITE_IOERR_WRITE;
  }
  return 0;
}

void Db::TEST_InjectStepFault(int64_t n, bool persistent) {
  fault_at_ = n == 0 ? 0 : steps_ + n;
  fault_persistent_ = persistent;
  fault_hit_ = false;
}

Status Db::Error(int rc, std::string_view what) const { return SqliteStatus(rc, db_, path_, what); }

Status Db::Exec(std::string_view sql) {
  if (int injected = BeforeStep(); injected != 0) return Error(injected, "running " + Brief(sql));
  std::string text(sql);
  int rc = sqlite3_exec(db_, text.c_str(), nullptr, nullptr, nullptr);
  if (rc != SQLITE_OK) return Error(rc, "running " + Brief(sql));
  return Status::OK();
}

Result<Stmt> Db::Prepare(std::string_view sql) {
  std::string key(sql);
  auto it = cache_.find(key);
  if (it != cache_.end() && !it->second.in_use) {
    it->second.in_use = true;
    return Stmt(this, it->second.stmt, &it->second.in_use);
  }
  sqlite3_stmt* stmt = nullptr;
  int rc = sqlite3_prepare_v3(db_, key.data(), static_cast<int>(key.size()),
                              SQLITE_PREPARE_PERSISTENT, &stmt, nullptr);
  if (rc != SQLITE_OK) return Error(rc, "preparing " + Brief(sql));
  if (stmt == nullptr) return Status::Internal("empty SQL statement");
  if (it != cache_.end()) return Stmt(this, stmt, nullptr);  // nested use: a private statement
  auto [pos, inserted] = cache_.emplace(std::move(key), CacheEntry{stmt, true});
  return Stmt(this, stmt, &pos->second.in_use);
}

Result<int64_t> Db::QueryInt(std::string_view sql) {
  Result<Stmt> stmt = Prepare(sql);
  if (!stmt.ok()) return stmt.status();
  Result<bool> row = stmt->Step();
  if (!row.ok()) return row.status();
  if (!*row) return Status::Internal("query " + Brief(sql) + " returned no row");
  return stmt->Int(0);
}

int64_t Db::changes() const { return sqlite3_changes64(db_); }

namespace {

// The rows of a check PRAGMA, one per line.
Result<std::string> CheckRows(Db& db, const std::string& pragma) {
  Result<Stmt> stmt = db.Prepare(pragma);
  if (!stmt.ok()) return stmt.status();
  std::string out;
  for (;;) {
    Result<bool> row = stmt->Step();
    if (!row.ok()) return row.status();
    if (!*row) break;
    if (!out.empty()) out += "\n";
    out += stmt->Text(0);
  }
  return out;
}

}  // namespace

// A PRAGMA takes no bound parameters; the table names come from this binary, never a user.
Result<std::string> Db::QuickCheck(const std::string& table) { return CheckRows(*this, "PRAGMA quick_check(" + table + ")"); }
Result<std::string> Db::IntegrityCheck() { return CheckRows(*this, "PRAGMA integrity_check"); }
Result<std::string> Db::IntegrityCheck(const std::string& table) {
  return CheckRows(*this, "PRAGMA integrity_check(" + table + ")");
}

// ---- Transaction

Status Transaction::Begin() {
  if (open_) return Status::Internal("transaction already begun");
  // A transaction left open by a failed ROLLBACK would make BEGIN fail forever; end it first.
  if (sqlite3_get_autocommit(db_->db_) == 0) {
    sqlite3_exec(db_->db_, "ROLLBACK", nullptr, nullptr, nullptr);
  }
  Status s = db_->Exec(kind_ == Kind::kWrite ? "BEGIN IMMEDIATE" : "BEGIN");
  if (s.ok()) open_ = true;
  return s;
}

Status Transaction::Commit() {
  if (!open_) return Status::Internal("commit without a transaction");
  Status s = db_->Exec("COMMIT");
  // After a failed COMMIT the transaction is either still open (the destructor rolls it back) or
  // already rolled back by SQLite itself.
  if (s.ok() || sqlite3_get_autocommit(db_->db_) != 0) open_ = false;
  return s;
}

Transaction::~Transaction() {
  if (open_ && sqlite3_get_autocommit(db_->db_) == 0) {
    sqlite3_exec(db_->db_, "ROLLBACK", nullptr, nullptr, nullptr);
  }
}

}  // namespace sflow
