// The local-execution half of SqliteRunStore (engine/run_store.h): projects and settings. Same
// shape as store/sqlite_run_store.cc: inputs checked before the transaction, one Write() or Read()
// per method, the run update applied inside the same transaction.
#include <algorithm>

#include "store/run_rows.h"
#include "store/sqlite_run_store.h"

namespace sflow {

namespace {

bool IsCacheKey(const std::string& s) {
  return s.empty() || (s.size() == 64 && std::all_of(s.begin(), s.end(), [](char c) {
                         return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f');
                       }));
}

bool Amount(const std::optional<double>& v) { return !v || *v >= 0; }  // NaN fails both

}  // namespace

Status SqliteRunStore::RecordProjects(const std::vector<ProjectRecord>& projects, const RunUpdate& run) {
  if (projects.empty()) return InvalidCall("no project to record");
  for (const ProjectRecord& p : projects) {
    if (p.project_id.empty() || p.run_id.empty() || p.step_id.empty())
      return InvalidCall("a project without an id, a run or a step");
    if (p.run_id != projects[0].run_id) return InvalidCall("projects of two runs recorded together");
    if (p.app_id.empty()) return InvalidCall("project " + p.project_id + " has no appId");
    if (p.request.empty()) return InvalidCall("project " + p.project_id + " has no request");
    if (!IsCacheKey(p.cache_key)) return InvalidCall("project " + p.project_id + " has a malformed cache key");
    if (p.state != ProjectState::kPending) return InvalidCall("project " + p.project_id + " must be recorded pending");
    if (!Amount(p.quote) || !Amount(p.quote_usd) || !Amount(p.charge))
      return InvalidCall("project " + p.project_id + " has a negative or NaN amount");
  }
  if (Status s = CheckRunUpdate(run); !s.ok()) return s;
  const std::string& run_id = projects[0].run_id;
  return Write([&](int64_t now) -> Status {
    if (Status s = RequireRun(run_id); !s.ok()) return s;
    bool any_new = false;
    for (const ProjectRecord& p : projects) {
      Result<Stmt> q = db_->Prepare("SELECT run_id, step_id, request FROM projects WHERE project_id = ?1");
      if (!q.ok()) return q.status();
      Result<bool> row = q->BindAll(p.project_id).Step();
      if (!row.ok()) return row.status();
      if (*row) {
        if (q->Text(0) == p.run_id && q->Text(1) == p.step_id && q->Text(2) == p.request) continue;
        return Status::Error(Status::Code::kConflict, "project " + p.project_id + " is already recorded with another request");
      }
      Result<Stmt> ins = db_->Prepare(
          "INSERT INTO projects (project_id, run_id, step_id, app_id, request, cache_key, state, quote, "
          "quote_usd, token_type, charge, error, created_at, updated_at) "
          "VALUES (?1, ?2, ?3, ?4, ?5, ?6, 'pending', ?7, ?8, ?9, ?10, ?11, ?12, ?12)");
      if (!ins.ok()) return ins.status();
      ins->BindAll(p.project_id, p.run_id, p.step_id, p.app_id, p.request, p.cache_key, p.quote, p.quote_usd,
                   p.token_type, p.charge, JsonOrNull(p.error), now);
      if (Status s = ins->Run(); !s.ok()) return s;
      any_new = true;
    }
    return any_new ? ApplyRunUpdate(run_id, run, now) : Status::OK();  // all recorded before: nothing changes
  });
}

Status SqliteRunStore::MarkProject(const std::string& project_id, const ProjectUpdate& u) {
  const ProjectMark m{.project_id = project_id, .state = u.state, .charge = u.charge, .error = u.error};
  if (Status s = CheckProjectMark(m); !s.ok()) return s;
  if (Status s = CheckRunUpdate(u.run); !s.ok()) return s;
  return Write([&](int64_t now) -> Status {
    Result<std::string> run_id = ApplyProjectMark("", m, now);
    if (!run_id.ok()) return run_id.status();
    if (Status s = ApplyRunUpdate(*run_id, u.run, now); !s.ok()) return s;
    return m.charge ? SettleIfEnded(*run_id) : Status::OK();  // a charge known after the run ended
  });
}

Result<std::string> SqliteRunStore::ApplyProjectMark(const std::string& run_id, const ProjectMark& m, int64_t now) {
  Result<Stmt> q = db_->Prepare("SELECT state, run_id FROM projects WHERE project_id = ?1");
  if (!q.ok()) return q.status();
  Result<bool> row = q->BindAll(m.project_id).Step();
  if (!row.ok()) return row.status();
  if (!*row) return Status::NotFound("no project " + m.project_id + " in the state database");
  const std::string from = q->Text(0), owner = q->Text(1), to = Name(m.state);
  if (!run_id.empty() && owner != run_id)
    return InvalidCall("project " + m.project_id + " belongs to run " + owner + ", not to run " + run_id);
  std::optional<ProjectState> was = ParseName<ProjectState>(kProjectStateNames, from);
  if (!was) return Status::IOError("the state database is damaged: project " + m.project_id + " has state '" + Printable(from) + "'");
  if (IsFinal(*was) && from != to)
    return Status::Error(Status::Code::kConflict, "project " + m.project_id + " is " + from + "; it cannot become " + to);
  if (IsFinal(*was) && !m.charge && !m.error) return owner;  // the same end again: nothing to change
  Result<Stmt> up = db_->Prepare(
      "UPDATE projects SET state = ?2, charge = COALESCE(?3, charge), error = CASE WHEN ?4 THEN ?5 ELSE error END, "
      "updated_at = ?6 WHERE project_id = ?1");
  if (!up.ok()) return up.status();
  std::optional<std::string> error;
  if (m.error) error = JsonOrNull(*m.error);
  if (Status s = up->BindAll(m.project_id, to, m.charge, int64_t{m.error ? 1 : 0}, error, now).Run(); !s.ok()) return s;
  return owner;
}

Result<std::vector<ProjectRecord>> SqliteRunStore::ListProjects(const std::string& run_id) {
  std::vector<ProjectRecord> out;
  Status s = Read([&]() -> Status {
    if (Status st = RequireRun(run_id); !st.ok()) return st;
    Result<Stmt> q = db_->Prepare("SELECT " + std::string(kProjectColumns) +
                                  " FROM projects WHERE run_id = ?1 ORDER BY created_at, rowid");
    if (!q.ok()) return q.status();
    q->BindAll(run_id);
    return CollectRows<ProjectRecord>(*q, DecodeProject, &out);
  });
  if (!s.ok()) return s;
  return out;
}

Result<std::optional<ProjectRecord>> SqliteRunStore::FindCompletedProject(const std::string& cache_key) {
  if (cache_key.empty() || !IsCacheKey(cache_key)) return InvalidCall("a malformed cache key");
  std::optional<ProjectRecord> out;
  Status s = Read([&]() -> Status {
    // `cache_key <> ''` repeats the partial index's condition, so that SQLite uses
    // projects_by_cache (a bound ?1 does not imply it): without it every lookup scans the table.
    Result<Stmt> q = db_->Prepare("SELECT " + std::string(kProjectColumns) +
                                  " FROM projects WHERE cache_key = ?1 AND cache_key <> '' AND state = 'completed'"
                                  " ORDER BY updated_at DESC, rowid DESC LIMIT 1");
    if (!q.ok()) return q.status();
    Result<bool> row = q->BindAll(cache_key).Step();
    if (!row.ok()) return row.status();
    if (!*row) return Status::OK();
    Result<ProjectRecord> p = DecodeProject(*q);
    if (!p.ok()) return p.status();
    out = std::move(*p);
    return Status::OK();
  });
  if (!s.ok()) return s;
  return out;
}

Result<std::string> SqliteRunStore::Setting(const std::string& name, const std::string& value_if_absent) {
  if (name.empty()) return InvalidCall("a setting without a name");
  std::string value;
  Status s = Write([&](int64_t) -> Status {
    Result<Stmt> ins = db_->Prepare("INSERT INTO settings (name, value) VALUES (?1, ?2) ON CONFLICT (name) DO NOTHING");
    if (!ins.ok()) return ins.status();
    if (Status st = ins->BindAll(name, value_if_absent).Run(); !st.ok()) return st;
    Result<Stmt> q = db_->Prepare("SELECT value FROM settings WHERE name = ?1");
    if (!q.ok()) return q.status();
    Result<bool> row = q->BindAll(name).Step();
    if (!row.ok()) return row.status();
    if (!*row) return Status::IOError("the state database lost setting " + name + " inside one transaction");
    value = q->Text(0);
    return Status::OK();
  });
  if (!s.ok()) return s;
  return value;
}

}  // namespace sflow
