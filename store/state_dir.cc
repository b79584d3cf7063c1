// Implementation details: modes are read with lstat, so a symbolic link is seen as one (the
// directory itself may be a link, e.g. to another disk: it is followed with stat). Files are
// fixed by path (chmod) rather than through a descriptor, because opening and closing
// state.db while SQLite has it open would drop SQLite's POSIX locks (howtocorrupt.html 2.2).
#include "store/state_dir.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <sys/vfs.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>

#include "store/migrations.h"

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

// Checks ownership and type of `path` (which must exist) and tightens its mode to `want` when
// `fix`; a notice records each change.
Status Secure(const std::string& path, const char* what, bool dir, mode_t want, bool fix,
              std::vector<std::string>* notices) {
  struct stat st;
  int rc = dir ? ::stat(path.c_str(), &st) : ::lstat(path.c_str(), &st);
  if (rc != 0) {
    return Status::IOError("cannot inspect " + std::string(what) + " " + path + ": " +
                           std::strerror(errno));
  }
  if (dir ? !S_ISDIR(st.st_mode) : !S_ISREG(st.st_mode)) {
    return Status::Security(std::string(what) + " " + path + " is not a " +
                            (dir ? "directory" : "regular file") + "; refusing to use it");
  }
  if (st.st_uid != ::geteuid()) {
    return Status::Security(std::string(what) + " " + path + " belongs to uid " +
                            std::to_string(st.st_uid) + ", not to this user (uid " +
                            std::to_string(::geteuid()) + "); refusing to use it");
  }
  mode_t mode = st.st_mode & 07777;
  if (fix && mode != want) {
    if (::chmod(path.c_str(), want) != 0) {
      return Status::IOError("cannot set the mode of " + path + ": " + std::strerror(errno));
    }
    // Only a looser mode is news; a stricter one (a umask of 0277) is quietly made usable.
    if ((mode & ~want) != 0) {
      notices->push_back("tightened the mode of " + std::string(what) + " " + path + " from " +
                         Octal(mode) + " to " + Octal(want));
    }
  }
  return Status::OK();
}

bool Exists(const std::string& path) {
  struct stat st;
  return ::lstat(path.c_str(), &st) == 0;
}

Status MakeDir(const std::string& path) {
  std::filesystem::path p(path);
  std::error_code ec;
  if (p.has_parent_path()) std::filesystem::create_directories(p.parent_path(), ec);
  if (::mkdir(path.c_str(), 0700) != 0 && errno != EEXIST) {
    return Status::IOError("cannot create state directory " + path + ": " + std::strerror(errno));
  }
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

}  // namespace

Result<std::unique_ptr<StateDir>> StateDir::Open(const StateDirOptions& options) {
  std::unique_ptr<StateDir> dir(new StateDir());
  dir->path_ = options.path.empty() ? std::string(".sogni-flow") : options.path;
  while (dir->path_.size() > 1 && dir->path_.back() == '/') dir->path_.pop_back();
  const bool fix = !options.read_only;
  std::vector<std::string>* notices = &dir->notices_;
  std::string takeover;  // the notice for a crashed writer's lock, once the database is checked

  if (!Exists(dir->path_)) {
    if (options.read_only) return Status::NotFound("no state directory " + dir->path_ + " yet");
    if (Status s = MakeDir(dir->path_); !s.ok()) return s;
    ::chmod(dir->path_.c_str(), 0700);  // mkdir's mode passed through the umask
  }
  if (Status s = Secure(dir->path_, "state directory", true, 0700, fix, notices); !s.ok()) return s;
  if (Status s = CheckFilesystem(dir->path_); !s.ok()) return s;

  if (!options.read_only) {
    const std::string lock_path = dir->path_ + "/" + kLockName;
    Result<std::unique_ptr<LockFile>> lock = LockFile::Acquire(lock_path);
    if (!lock.ok()) return lock.status();
    dir->lock_ = std::move(*lock);
    if (Status s = Secure(lock_path, "lock file", false, 0600, fix, notices); !s.ok()) return s;
    if (const auto& prev = dir->lock_->previous()) {
      dir->recovered_ = true;
      takeover = "took over the lock of " + prev->Describe();
      if (prev->host == LockFile::HostName() && !LockFile::ProcessAlive(prev->pid)) {
        takeover += ", which is no longer running";
      }
    }
  }

  const std::string db_path = dir->db_path();
  if (!Exists(db_path)) {
    if (options.read_only) return Status::NotFound("no state database " + db_path + " yet");
    if (Status s = CreateDbFile(db_path); !s.ok()) return s;
  }
  for (const char* suffix : {"", "-wal", "-shm"}) {
    std::string p = db_path + suffix;
    if (*suffix != '\0' && !Exists(p)) continue;
    if (Status s = Secure(p, "state database file", false, 0600, fix, notices); !s.ok()) return s;
  }

  DbOptions db_options;
  db_options.busy_timeout_ms = options.busy_timeout_ms;
  db_options.create = false;
  db_options.read_only = options.read_only;
  db_options.vfs = options.vfs;
  Result<std::unique_ptr<Db>> db = Db::Open(db_path, db_options);
  if (!db.ok()) return db.status();
  if (dir->recovered_) {
    Result<std::string> check = (*db)->IntegrityCheck();
    if (!check.ok()) return check.status();
    if (*check != "ok") {
      return Status::IOError(
          "state database " + db_path + " failed its integrity check after an unclean shutdown: " +
          check->substr(0, check->find('\n')) + "; keep a copy of the directory and try `sqlite3 " +
          db_path + " .recover`");
    }
    notices->push_back(takeover + "; the database passed its integrity check");
  }
  if (options.read_only) {
    // Without the writer's lock nothing may be migrated: the file must be at a version we know.
    Result<int64_t> version = (*db)->QueryInt("PRAGMA user_version");
    if (!version.ok()) return version.status();
    if (*version == 0) return Status::NotFound("state database " + db_path + " has no runs yet");
    if (*version < LatestSchemaVersion()) {
      return Status::IOError("state database " + db_path + " is at schema version " +
                             std::to_string(*version) +
                             "; run a writing command (e.g. resume) once to upgrade it");
    }
  }
  Result<std::unique_ptr<SqliteRunStore>> store =
      SqliteRunStore::Open(std::move(*db), options.now_ms);
  if (!store.ok()) return store.status();
  dir->store_ = std::move(*store);
  return dir;
}

StateDir::~StateDir() {
  store_.reset();  // close the database before the lock goes
  lock_.reset();
}

}  // namespace sflow
