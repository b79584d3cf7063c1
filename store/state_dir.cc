// Implementation details: modes are read with lstat, so a symbolic link is seen as one (the
// directory itself may be a link, e.g. to another disk: it is followed with stat). Files are
// fixed by path (chmod) rather than through a descriptor, because opening and closing state.db
// while SQLite has it open would drop SQLite's POSIX locks (howtocorrupt.html 2.2).
#include "store/state_dir.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <sys/vfs.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <ctime>
#include <filesystem>
#include <thread>

#include "engine/random.h"
#include "engine/run_id.h"
#include "store/migrations.h"
#include "store/wal_check.h"

namespace sflow {

namespace {

constexpr long kNfsMagic = 0x6969;
constexpr long kSmbMagic = 0x517B;
constexpr long kCifsMagic = 0xFF534D42;
constexpr long kSmb2Magic = 0xFE534D42;

std::string Octal(mode_t mode) {
  char buf[8];
  std::snprintf(buf, sizeof buf, "%04o", static_cast<unsigned>(mode & 07777));
  return buf;
}

bool Exists(const std::string& path) {
  struct stat st;
  return ::lstat(path.c_str(), &st) == 0;
}

Status NotMine(const std::string& what, const std::string& path, uid_t uid) {
  return Status::Security(what + " " + path + " belongs to uid " + std::to_string(uid) +
                          ", not to this user (uid " + std::to_string(::geteuid()) + "); refusing to use it");
}

// The directory (followed if a link): a directory of this user that group and others cannot write.
Status CheckDir(const std::string& path) {
  struct stat st;
  if (::stat(path.c_str(), &st) != 0) {
    return Status::IOError("cannot inspect state directory " + path + ": " + std::strerror(errno));
  }
  if (!S_ISDIR(st.st_mode)) {
    return Status::IOError("state directory " + path + " is not a directory; move that file away or "
                           "give another --state-dir");
  }
  if (st.st_uid != ::geteuid()) return NotMine("state directory", path, st.st_uid);
  if ((st.st_mode & 022) != 0) {
    return Status::Security("state directory " + path + " is writable by " +
                            ((st.st_mode & 002) ? "others" : "its group") + " (mode " + Octal(st.st_mode) +
                            "); sogni-flow keeps state only where no one else can write: chmod go-w " + path +
                            " or give another --state-dir");
  }
  return Status::OK();
}

// A file sogni-flow makes: a regular file of this user, tightened to 0600 (with a notice) when
// `fix`.
Status CheckFile(const std::string& path, const char* what, bool fix, std::vector<std::string>* notices) {
  struct stat st;
  if (::lstat(path.c_str(), &st) != 0) {
    return Status::IOError("cannot inspect " + std::string(what) + " " + path + ": " + std::strerror(errno));
  }
  if (!S_ISREG(st.st_mode)) {
    return Status::Security(std::string(what) + " " + path + " is not a regular file; refusing to use it");
  }
  if (st.st_uid != ::geteuid()) return NotMine(what, path, st.st_uid);
  const mode_t mode = st.st_mode & 07777;
  if (fix && mode != 0600) {
    if (::chmod(path.c_str(), 0600) != 0) {
      return Status::IOError("cannot set the mode of " + path + ": " + std::strerror(errno));
    }
    // Only a looser mode is news; a stricter one (a umask of 0277) is quietly made usable.
    if ((mode & ~mode_t{0600}) != 0) {
      notices->push_back("tightened the mode of " + std::string(what) + " " + path + " from " + Octal(mode) +
                         " to 0600");
    }
  }
  return Status::OK();
}

Status MakeDir(const std::string& path) {
  std::filesystem::path p(path);
  std::error_code ec;
  if (p.has_parent_path()) std::filesystem::create_directories(p.parent_path(), ec);
  if (::mkdir(path.c_str(), 0700) != 0 && errno != EEXIST) {
    return Status::IOError("cannot create state directory " + path + ": " + std::strerror(errno));
  }
  ::chmod(path.c_str(), 0700);  // mkdir's mode passed through the umask
  return Status::OK();
}

Status CreateDbFile(const std::string& path) {
  int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
  if (fd < 0) {
    if (errno == EEXIST) return Status::OK();
    return Status::IOError("cannot create state database " + path + ": " + std::strerror(errno));
  }
  ::fchmod(fd, 0600);  // whatever the umask said
  ::close(fd);
  return Status::OK();
}

Status CheckFilesystem(const std::string& path) {
  struct statfs fs;
  if (::statfs(path.c_str(), &fs) != 0) return Status::OK();  // unknown: let SQLite try
  long type = static_cast<long>(fs.f_type);
  if (type == kNfsMagic || type == kSmbMagic || type == kCifsMagic || type == kSmb2Magic) {
    return Status::IOError("state directory " + path +
                           " is on a network filesystem (NFS/SMB), where SQLite's WAL mode is "
                           "unsafe; use --state-dir on a local disk");
  }
  return Status::OK();
}

Status CheckWal(const std::string& db_path) {
  Result<WalReport> wal = InspectWal(db_path + "-wal");
  if (!wal.ok()) return wal.status();
  return wal->damaged() ? DamagedWal(db_path, *wal) : Status::OK();
}

// The schema's text (store/migrations.h), then integrity_check of every table but `event_chunks`
// (too big to check on each open; events are checked chunk by chunk as they are read). integrity_check rather than quick_check: only it checks that each index finds its rows
// (else a run in the table is "no run" to a lookup by its id), and it costs the same here (20,000
// runs with 200,000 steps: ~0.7 s either way; the tables but events grow with runs, not events).
Status CheckOnOpen(Db* db) {
  if (Status s = CheckSchema(db); !s.ok()) return s;
  Result<Stmt> q = db->Prepare("SELECT name FROM sqlite_schema WHERE type = 'table' AND name <> 'event_chunks' "
                               "AND name NOT LIKE 'sqlite_%' ORDER BY name");
  if (!q.ok()) return q.status();
  std::vector<std::string> tables;
  for (;;) {
    Result<bool> row = q->Step();
    if (!row.ok()) return row.status();
    if (!*row) break;
    tables.push_back(q->Text(0));
  }
  for (const std::string& t : tables) {
    Result<std::string> check = db->IntegrityCheck(t);
    if (!check.ok()) return check.status();
    if (*check != "ok") {
      return Status::IOError("the state database " + db->path() + " is damaged: table " + t + ": " +
                             check->substr(0, check->find('\n')) + "; " + DamagedDatabaseHint(db->path()));
    }
  }
  return Status::OK();
}

// Retries `attempt` (which fails with kConflict while another process holds the lock) for up to
// `timeout_ms`.
template <typename F>
Status Retrying(int timeout_ms, F&& attempt) {
  auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms);
  for (;;) {
    Status s = attempt();
    if (s.code() != Status::Code::kConflict || std::chrono::steady_clock::now() >= deadline) return s;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
}

std::string HeldBy(LockFile& lock) {
  std::optional<LockHolder> who = LockHolder::Parse(lock.ReadText());
  return who ? who->Describe() : "another process";
}

}  // namespace

Result<std::unique_ptr<StateDir>> StateDir::Open(const StateDirOptions& options) {
  std::unique_ptr<StateDir> dir(new StateDir());
  dir->path_ = options.path.empty() ? std::string(".sogni-flow") : options.path;
  while (dir->path_.size() > 1 && dir->path_.back() == '/') dir->path_.pop_back();
  dir->read_only_ = options.read_only;
  Status s = options.read_only ? dir->OpenReader(options) : dir->OpenWriter(options);
  if (!s.ok()) return s;
  return dir;
}

Status StateDir::OpenWriter(const StateDirOptions& options) {
  if (!Exists(path_)) {
    if (Status s = MakeDir(path_); !s.ok()) return s;
  }
  if (Status s = CheckDir(path_); !s.ok()) return s;
  if (Status s = CheckFilesystem(path_); !s.ok()) return s;
  const std::string db_path = this->db_path(), lock_path = path_ + "/" + kLockName;
  if (Status s = CheckWal(db_path); !s.ok()) return s;

  Result<std::unique_ptr<LockFile>> lock = LockFile::Open(lock_path, /*create=*/true);
  if (!lock.ok()) return lock.status();
  if (Status s = CheckFile(lock_path, "lock file", true, &notices_); !s.ok()) return s;
  Status shared = Retrying(options.busy_timeout_ms, [&] { return (*lock)->Lock(LockFile::Mode::kShared); });
  if (!shared.ok()) {
    if (shared.code() != Status::Code::kConflict) return shared;
    return Status::Error(Status::Code::kConflict,
                         "state directory " + path_ + " is locked by " + HeldBy(**lock) +
                             " (an older sogni-flow, or one upgrading the database); wait for it to finish or stop it");
  }

  // An existing empty file with no log is a new database to SQLite, which would start afresh
  // without a word. It is one (made by a process that stopped before its first commit), or one
  // emptied by an accident: either way it is said, with the way back to the runs that were in it.
  std::error_code size_error;
  const bool emptied = Exists(db_path) && std::filesystem::file_size(db_path, size_error) == 0 && !size_error &&
                       !Exists(db_path + "-wal");
  if (!Exists(db_path)) {
    if (Status s = CreateDbFile(db_path); !s.ok()) return s;
  }
  for (const char* suffix : {"", "-wal", "-shm"}) {
    std::string p = db_path + suffix;
    if (*suffix != '\0' && !Exists(p)) continue;
    if (Status s = CheckFile(p, "state database file", true, &notices_); !s.ok()) return s;
  }
  DbOptions db_options{.busy_timeout_ms = options.busy_timeout_ms, .create = false, .vfs = options.vfs};
  Result<std::unique_ptr<Db>> db = Db::Open(db_path, db_options);
  if (!db.ok()) return db.status();
  if (Status s = CheckOnOpen(db->get()); !s.ok()) return s;
  if (Status s = Migrate(db->get(), lock->get(), options.busy_timeout_ms); !s.ok()) return s;
  if (emptied)
    notices_.push_back("the state database " + db_path + " was an empty file: a new one was made in it. Runs stored "
                       "there before, if any, are not in it: `sogni-flow recover` lists the account's workflows "
                       "that no stored run knows");
  // The lease rows are committed without an fsync of their own (two per driven run): a lease
  // names a live process, and a power loss ends that process. A row lost with the machine was
  // never needed (the byte lock is gone too); a release lost so leaves a row naming a process
  // of an earlier boot, which the next taker takes over (and ReapDeadDrivers removes).
  DbOptions lease_options = db_options;
  lease_options.sync_each_commit = false;
  Result<std::unique_ptr<Db>> lease_db = Db::Open(db_path, lease_options);
  if (!lease_db.ok()) return lease_db.status();
  leases_ = std::make_shared<RunLeases>(std::move(*lock), std::move(*lease_db));
  if (Status s = ReapDeadDrivers(db->get()); !s.ok()) return s;
  Result<std::unique_ptr<SqliteRunStore>> store = SqliteRunStore::Open(std::move(*db), options.now_ms);
  if (!store.ok()) return store.status();
  store_ = std::move(*store);
  return Status::OK();
}

Status StateDir::Migrate(Db* db, LockFile* lock, int busy_timeout_ms) {
  Result<int64_t> version = db->QueryInt("PRAGMA user_version");
  if (!version.ok()) return version.status();
  if (*version >= LatestSchemaVersion()) return sflow::Migrate(db);  // equal: nothing; newer: refused
  // The one exclusive lock: no other sogni-flow (of this or an older version) uses the directory
  // while its schema changes. This process holds nothing while it waits, so that two processes
  // that both found an old schema cannot each keep the other from upgrading.
  if (Status s = lock->Lock(LockFile::Mode::kNone); !s.ok()) return s;
  auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(busy_timeout_ms);
  for (;;) {
    version = db->QueryInt("PRAGMA user_version");
    if (!version.ok()) return version.status();
    if (*version >= LatestSchemaVersion()) break;  // another process upgraded it meanwhile
    Status excl = lock->Lock(LockFile::Mode::kExclusive);
    if (excl.ok()) {
      ProcessIdentity me = ProcessIdentity::Self();
      Status s = lock->WriteText(LockHolder{me.pid, me.host, me.started}.Serialize());
      if (s.ok()) s = sflow::Migrate(db);
      Status cleared = lock->WriteText("");
      if (!s.ok()) return s;
      if (!cleared.ok()) return cleared;
      break;
    }
    if (excl.code() != Status::Code::kConflict) return excl;
    if (std::chrono::steady_clock::now() >= deadline) {
      return Status::Error(Status::Code::kConflict,
                           "cannot upgrade the state database " + db->path() + " to schema version " +
                               std::to_string(LatestSchemaVersion()) +
                               " while another sogni-flow uses it; wait for it to finish, then try again");
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  Status shared = Retrying(busy_timeout_ms, [&] { return lock->Lock(LockFile::Mode::kShared); });
  if (shared.code() == Status::Code::kConflict) {
    return Status::Error(Status::Code::kConflict, "state directory " + path_ + " is locked by " + HeldBy(*lock) +
                                                      "; wait for it to finish or stop it");
  }
  return shared;
}

Status StateDir::ReapDeadDrivers(Db* db) {
  Result<std::vector<std::pair<std::string, ProcessIdentity>>> dead = leases_->ReapDead();
  if (!dead.ok()) return dead.status();
  if (dead->empty()) return Status::OK();
  recovered_ = true;
  Result<std::string> check = db->IntegrityCheck();
  if (!check.ok()) return check.status();
  if (*check != "ok") {
    return Status::IOError("the state database " + db->path() + " failed its integrity check after " +
                           dead->front().second.Describe() + " died while driving " + LeaseSubject(dead->front().first) +
                           ": " + check->substr(0, check->find('\n')) + "; " + DamagedDatabaseHint(db->path()));
  }
  for (const auto& [run_id, who] : *dead) {
    notices_.push_back(who.Describe() + " died while driving " + LeaseSubject(run_id) +
                       "; the database passed its integrity check");
  }
  return Status::OK();
}

DbOptions StateDir::ReaderDbOptions(const std::string& dir, const std::string& db_path, int busy_timeout_ms) {
  // Without write access to the directory SQLite cannot make the -wal and -shm a WAL reader
  // needs; with no -wal there is nothing but the file itself to read, and no writer can exist.
  struct stat wal;
  const bool no_wal = ::stat((db_path + "-wal").c_str(), &wal) != 0 || wal.st_size == 0;
  return DbOptions{.busy_timeout_ms = busy_timeout_ms, .create = false, .read_only = true,
                   .immutable = ::access(dir.c_str(), W_OK) != 0 && no_wal};
}

Status StateDir::OpenReader(const StateDirOptions& options) {
  if (!Exists(path_)) return Status::NotFound("no state directory " + path_ + " yet");
  if (Status s = CheckDir(path_); !s.ok()) return s;
  const std::string db_path = this->db_path();
  if (!Exists(db_path)) return Status::NotFound("no state database " + db_path + " yet");
  for (const char* suffix : {"", "-wal", "-shm"}) {
    std::string p = db_path + suffix;
    if (*suffix != '\0' && !Exists(p)) continue;
    if (Status s = CheckFile(p, "state database file", false, &notices_); !s.ok()) return s;
  }
  if (Status s = CheckWal(db_path); !s.ok()) return s;
  DbOptions db_options = ReaderDbOptions(path_, db_path, options.busy_timeout_ms);
  db_options.vfs = options.vfs;
  Result<std::unique_ptr<Db>> db = Db::Open(db_path, db_options);
  if (!db.ok()) return db.status();
  if (Status s = CheckOnOpen(db->get()); !s.ok()) return s;
  // Without a writer's lock nothing may be migrated: the file must be at a version we know.
  Result<int64_t> version = (*db)->QueryInt("PRAGMA user_version");
  if (!version.ok()) return version.status();
  if (*version == 0) return Status::NotFound("state database " + db_path + " has no runs yet");
  if (*version < LatestSchemaVersion()) {
    return Status::IOError("state database " + db_path + " is at schema version " + std::to_string(*version) +
                           "; run a writing command (e.g. resume) once to upgrade it");
  }
  Result<std::unique_ptr<LockFile>> lock = LockFile::Open(path_ + "/" + kLockName, /*create=*/false);
  std::unique_ptr<LockFile> lock_file = lock.ok() ? std::move(*lock) : nullptr;  // none: rows alone decide
  Result<std::unique_ptr<Db>> lease_db = Db::Open(db_path, db_options);
  if (!lease_db.ok()) return lease_db.status();
  leases_ = std::make_shared<RunLeases>(std::move(lock_file), std::move(*lease_db));
  Result<std::unique_ptr<SqliteRunStore>> store = SqliteRunStore::Open(std::move(*db), options.now_ms);
  if (!store.ok()) return store.status();
  store_ = std::move(*store);
  return Status::OK();
}

Result<std::unique_ptr<RunLease>> StateDir::AcquireRunLease(const std::string& run_id) {
  if (read_only_) return Status::IOError("the state directory " + path_ + " is open read-only; no run can be driven");
  return leases_->Acquire(run_id);
}

Result<StateDir::NewRun> StateDir::LeaseNewRun(const std::function<std::string()>& next_id) {
  constexpr int kTries = 64;
  for (int attempt = 0; attempt < kTries; ++attempt) {
    std::string id = next_id ? next_id() : MakeRunId(std::time(nullptr), RandomU64());
    Result<std::unique_ptr<RunLease>> lease = AcquireRunLease(id);
    if (!lease.ok()) {
      if (lease.status().code() == Status::Code::kConflict) continue;  // driven here or elsewhere
      return lease.status();
    }
    // Leased: no other process can store this id now (each creates its run under its lease).
    Result<RunRecord> stored = store_->GetRun(id);
    if (stored.ok()) continue;  // an older run's id; the lease goes with this scope
    if (stored.status().code() != Status::Code::kNotFound) return stored.status();
    return NewRun{std::move(id), std::move(*lease)};
  }
  return Status::Error(Status::Code::kConflict,
                       "no free run id after " + std::to_string(kTries) + " tries (too many runs created this second?)");
}

Result<std::optional<ProcessIdentity>> StateDir::RunDriver(const std::string& run_id) {
  return leases_->Holder(run_id);
}

StateDir::~StateDir() {
  store_.reset();  // the database closes before the lock file can go
  leases_.reset();
}

}  // namespace sflow
