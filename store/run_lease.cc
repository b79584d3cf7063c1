#include "store/run_lease.h"

#include <chrono>
#include <thread>

namespace sflow {

std::string LeaseSubject(const std::string& key) {
  if (key.rfind("batch:", 0) == 0) return "batch '" + key.substr(6) + "'";
  return "run " + key;
}

namespace {

constexpr int64_t kLeaseBase = int64_t{1} << 40;

Status Busy(const std::string& run_id, const std::optional<ProcessIdentity>& holder) {
  std::string by = holder ? holder->Describe() : "another process (it has not written its name yet)";
  return Status::Error(Status::Code::kConflict,
                       LeaseSubject(run_id) + " is driven by " + by +
                           "; wait for it to finish (or stop that process), then try again");
}

int64_t NowMs() {
  using namespace std::chrono;
  return duration_cast<milliseconds>(system_clock::now().time_since_epoch()).count();
}

}  // namespace

// ---- RunLease

RunLease::~RunLease() { (void)Release(); }  // a failed deletion leaves a row naming a gone process

Status RunLease::Release() {
  if (!owner_) return Status::OK();
  std::shared_ptr<RunLeases> owner = std::move(owner_);
  return owner->Drop(run_id_);
}

// ---- RunLeases

RunLeases::RunLeases(std::unique_ptr<LockFile> lock, std::unique_ptr<Db> db)
    : lock_(std::move(lock)), db_(std::move(db)) {}

int64_t RunLeases::ByteOf(const std::string& run_id) {
  uint64_t h = 14695981039346656037ull;  // FNV-1a, 64 bits
  for (unsigned char c : run_id) h = (h ^ c) * 1099511628211ull;
  return kLeaseBase + static_cast<int64_t>(h & static_cast<uint64_t>(kLeaseBase - 1));
}

Result<std::optional<ProcessIdentity>> RunLeases::ReadRow(const std::string& run_id) {
  Result<Stmt> q = db_->Prepare(
      "SELECT pid, host, boot_id, pid_ns, start_ticks, started FROM leases WHERE run_id = ?1");
  if (!q.ok()) return q.status();
  Result<bool> row = q->BindAll(run_id).Step();
  if (!row.ok()) return row.status();
  if (!*row) return std::optional<ProcessIdentity>();
  ProcessIdentity id;
  id.pid = q->Int(0);
  id.host = q->Text(1);
  id.boot_id = q->Text(2);
  id.pid_ns = q->Text(3);
  id.start_ticks = q->Int(4);
  id.started = q->Text(5);
  return std::optional<ProcessIdentity>(std::move(id));
}

Result<bool> RunLeases::Drives(const std::string& run_id, const ProcessIdentity& holder) {
  if (holder.SameProcess(ProcessIdentity::Self())) return held_.count(run_id) > 0;
  if (lock_) {
    Result<bool> byte = lock_->ByteHeldElsewhere(ByteOf(run_id));
    if (!byte.ok()) return byte.status();
    if (*byte) return true;
  }
  // The byte is free: the holder drives only if it lives without it (the lock file it locked
  // was deleted or replaced). Without a lock file to ask, an unknown liveness counts as alive.
  ProcessIdentity::Liveness alive = holder.Alive();
  return alive == ProcessIdentity::Liveness::kAlive ||
         (!lock_ && alive == ProcessIdentity::Liveness::kUnknown);
}

Result<std::unique_ptr<RunLease>> RunLeases::Acquire(const std::string& run_id) {
  std::lock_guard<std::mutex> guard(mu_);
  if (held_.count(run_id)) {
    return Status::Error(Status::Code::kConflict, "run " + run_id + " is already driven by this process");
  }
  if (!lock_) return Status::IOError("the state directory is open read-only; no run can be driven");
  const int64_t byte = ByteOf(run_id);
  Result<bool> got = lock_->TryLockByte(byte);
  if (!got.ok()) return got.status();
  if (!*got) {
    // The holder writes its row just after taking the byte: give it a moment to, so that the
    // refusal can name it.
    Result<std::optional<ProcessIdentity>> row = ReadRow(run_id);
    for (int i = 0; i < 500 && row.ok() && !*row; ++i) {  // up to 5 s: its commit fsyncs
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
      row = ReadRow(run_id);
    }
    return Busy(run_id, row.ok() ? *row : std::nullopt);
  }
  const ProcessIdentity me = ProcessIdentity::Self();
  std::string notice;
  Status s = [&]() -> Status {
    Transaction txn(db_.get());
    if (Status b = txn.Begin(); !b.ok()) return b;
    Result<std::optional<ProcessIdentity>> row = ReadRow(run_id);
    if (!row.ok()) return row.status();
    if (*row && !(*row)->SameProcess(me)) {
      ProcessIdentity::Liveness alive = (*row)->Alive();
      if (alive == ProcessIdentity::Liveness::kAlive) return Busy(run_id, *row);
      notice = "took over " + LeaseSubject(run_id) + " from " + (*row)->Describe() +
               (alive == ProcessIdentity::Liveness::kDead ? ", which is no longer running"
                                                          : ", which no longer holds its lock");
    }
    Result<Stmt> up = db_->Prepare(
        "INSERT INTO leases (run_id, pid, host, boot_id, pid_ns, start_ticks, started, acquired_at) "
        "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8) ON CONFLICT (run_id) DO UPDATE SET pid = excluded.pid, "
        "host = excluded.host, boot_id = excluded.boot_id, pid_ns = excluded.pid_ns, "
        "start_ticks = excluded.start_ticks, started = excluded.started, acquired_at = excluded.acquired_at");
    if (!up.ok()) return up.status();
    up->BindAll(run_id, me.pid, me.host, me.boot_id, me.pid_ns, me.start_ticks, me.started, NowMs());
    if (Status r = up->Run(); !r.ok()) return r;
    return txn.Commit();
  }();
  if (!s.ok()) {
    lock_->UnlockByte(byte);
    return s;
  }
  held_.insert(run_id);
  return std::unique_ptr<RunLease>(new RunLease(shared_from_this(), run_id, notice));
}

Status RunLeases::Drop(const std::string& run_id) {
  std::lock_guard<std::mutex> guard(mu_);
  const ProcessIdentity me = ProcessIdentity::Self();
  Status s = [&]() -> Status {
    Transaction txn(db_.get());
    if (Status b = txn.Begin(); !b.ok()) return b;
    Result<Stmt> del = db_->Prepare(
        "DELETE FROM leases WHERE run_id = ?1 AND pid = ?2 AND boot_id = ?3 AND start_ticks = ?4");
    if (!del.ok()) return del.status();
    if (Status r = del->BindAll(run_id, me.pid, me.boot_id, me.start_ticks).Run(); !r.ok()) return r;
    return txn.Commit();
  }();
  held_.erase(run_id);
  if (lock_) lock_->UnlockByte(ByteOf(run_id));  // after the row: a taker never sees our row with a free byte while we live
  return s;
}

Result<std::optional<ProcessIdentity>> RunLeases::Holder(const std::string& run_id) {
  std::lock_guard<std::mutex> guard(mu_);
  if (lock_) {
    Result<bool> byte = lock_->ByteHeldElsewhere(ByteOf(run_id));
    if (!byte.ok()) return byte.status();
    if (*byte) {
      Result<std::optional<ProcessIdentity>> row = ReadRow(run_id);
      if (!row.ok()) return row.status();
      if (*row) return *row;
      ProcessIdentity unnamed;  // taken a moment ago; its row follows
      return std::optional<ProcessIdentity>(unnamed);
    }
  }
  Result<std::optional<ProcessIdentity>> row = ReadRow(run_id);
  if (!row.ok()) return row.status();
  if (!*row) return std::optional<ProcessIdentity>();
  Result<bool> drives = Drives(run_id, **row);
  if (!drives.ok()) return drives.status();
  return *drives ? *row : std::optional<ProcessIdentity>();
}

Result<std::vector<std::pair<std::string, ProcessIdentity>>> RunLeases::ReapDead() {
  std::lock_guard<std::mutex> guard(mu_);
  std::vector<std::pair<std::string, ProcessIdentity>> dead;
  if (!lock_) return dead;
  Status s = [&]() -> Status {
    Transaction txn(db_.get());
    if (Status b = txn.Begin(); !b.ok()) return b;
    Result<Stmt> q = db_->Prepare("SELECT run_id FROM leases ORDER BY run_id");
    if (!q.ok()) return q.status();
    std::vector<std::string> ids;
    for (;;) {
      Result<bool> row = q->Step();
      if (!row.ok()) return row.status();
      if (!*row) break;
      ids.push_back(q->Text(0));
    }
    for (const std::string& id : ids) {
      Result<std::optional<ProcessIdentity>> row = ReadRow(id);
      if (!row.ok()) return row.status();
      if (!*row || (*row)->SameProcess(ProcessIdentity::Self())) continue;
      Result<bool> drives = Drives(id, **row);
      if (!drives.ok()) return drives.status();
      if (*drives) continue;
      Result<Stmt> del = db_->Prepare(
          "DELETE FROM leases WHERE run_id = ?1 AND pid = ?2 AND boot_id = ?3 AND start_ticks = ?4");
      if (!del.ok()) return del.status();
      if (Status r = del->BindAll(id, (*row)->pid, (*row)->boot_id, (*row)->start_ticks).Run(); !r.ok()) return r;
      dead.emplace_back(id, **row);
    }
    return txn.Commit();
  }();
  if (!s.ok()) return s;
  return dead;
}

}  // namespace sflow
