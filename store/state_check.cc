// Implementation details: each table is read with a statement of its own and every row decoded
// on its own, so one damaged row is one problem and the rows after it are still checked.
#include "store/state_check.h"

#include <map>

#include "store/migrations.h"
#include "store/run_rows.h"
#include "store/state_dir.h"
#include "store/wal_check.h"

namespace sflow {

namespace {

// Runs `sql` and hands each row to `each`; a failing step (a damaged page) is one problem.
template <typename F>
void EachRow(Db& db, const std::string& sql, StoreCheck* out, F&& each) {
  Result<Stmt> q = db.Prepare(sql);
  if (!q.ok()) {
    out->problems.push_back(q.status().message());
    return;
  }
  for (;;) {
    Result<bool> row = q->Step();
    if (!row.ok()) {
      out->problems.push_back(row.status().message());
      return;
    }
    if (!*row) return;
    each(*q);
  }
}

template <typename T>
void Note(const Result<T>& r, StoreCheck* out) {
  if (!r.ok()) out->problems.push_back(DamageDetail(r.status()));
}

}  // namespace

Result<StoreCheck> CheckStore(const std::string& db_path) {
  StoreCheck out;
  std::string dir = db_path.substr(0, db_path.rfind('/') == std::string::npos ? 0 : db_path.rfind('/'));
  if (dir.empty()) dir = ".";
  Result<WalReport> wal = InspectWal(db_path + "-wal");
  if (!wal.ok()) {
    out.problems.push_back(wal.status().message());
  } else if (wal->damaged()) {
    out.problems.push_back("the log " + db_path + "-wal is damaged at byte " + std::to_string(wal->damaged_at) +
                           ": " + std::to_string(wal->lost_commits) + " committed transactions after it cannot be read");
  }
  Result<std::unique_ptr<Db>> opened = Db::Open(db_path, StateDir::ReaderDbOptions(dir, db_path, 5000));
  if (!opened.ok()) {
    if (opened.status().code() == Status::Code::kNotFound) return opened.status();
    out.problems.push_back(opened.status().message());
    return out;
  }
  Db& db = **opened;
  Result<int64_t> version = db.QueryInt("PRAGMA user_version");
  if (version.ok() && *version != LatestSchemaVersion()) {  // the rows below would not match
    out.problems.push_back("the database is at schema version " + std::to_string(*version) + ", not " +
                           std::to_string(LatestSchemaVersion()) +
                           (*version < LatestSchemaVersion() ? "; run a writing command (e.g. resume) once to upgrade it"
                                                              : "; it is from a newer sogni-flow"));
    return out;
  }
  if (Status schema = CheckSchema(&db); !schema.ok()) out.problems.push_back(DamageDetail(schema));
  EachRow(db, "PRAGMA integrity_check", &out, [&](Stmt& q) {
    if (q.Text(0) != "ok") out.problems.push_back("integrity_check: " + Printable(q.Text(0)));
  });
  EachRow(db, "PRAGMA foreign_key_check", &out, [&](Stmt& q) {
    out.problems.push_back("foreign_key_check: a " + Printable(q.Text(0)) + " row (rowid " + q.Text(1) +
                           ") names a missing " + Printable(q.Text(2)) + " row");
  });
  std::map<std::string, int64_t> cursors;  // run -> stored cursor
  EachRow(db, std::string(kSelectRuns) + " ORDER BY r.id", &out, [&](Stmt& q) {
    ++out.runs;
    Result<RunRecord> run = DecodeRun(q);
    Note(run, &out);
    if (run.ok()) cursors[Printable(run->id)] = run->cursor;
  });
  EachRow(db, "SELECT r.id FROM runs r WHERE NOT EXISTS (SELECT 1 FROM cursors c WHERE c.run_id = r.id)", &out,
          [&](Stmt& q) { out.problems.push_back("run '" + Printable(q.Text(0)) + "' has no event cursor"); });
  EachRow(db, "SELECT " + std::string(kStepColumns) + " FROM steps", &out, [&](Stmt& q) {
    ++out.steps;
    Note(DecodeStep(q), &out);
  });
  EachRow(db, "SELECT " + std::string(kIntentColumns) + " FROM intents", &out, [&](Stmt& q) {
    ++out.intents;
    Note(DecodeIntent(q), &out);
  });
  EachRow(db, "SELECT " + std::string(kArtifactColumns) + ", run_id FROM artifacts ORDER BY run_id, rowid", &out,
          [&](Stmt& q) {
            ++out.artifacts;
            Result<ArtifactRecord> a = DecodeArtifact(q);
            Note(a, &out);
            if (a.ok() && a->state == ArtifactState::kDone) {
              out.done.push_back(*a);
              out.done_runs.push_back(q.Text(10));
            }
          });
  std::map<std::string, int64_t> last;  // run -> highest stored sequence
  std::vector<EventRecord> events;  // one chunk's, reused
  EachRow(db, "SELECT " + std::string(kChunkColumns) + ", run_id FROM event_chunks", &out, [&](Stmt& q) {
    events.clear();
    if (Status d = DecodeChunkRow(q, -1, &events); !d.ok()) {
      out.problems.push_back("run '" + Printable(q.Text(4)) + "': " + DamageDetail(d));
      return;
    }
    out.events += static_cast<int64_t>(events.size());
    int64_t& max = last[Printable(q.Text(4))];
    max = std::max(max, events.back().sequence);
  });
  for (const auto& [run, sequence] : last) {
    auto c = cursors.find(run);
    if (c != cursors.end() && c->second < sequence) {
      out.problems.push_back("run '" + run + "': its cursor " + std::to_string(c->second) +
                             " does not cover its stored event " + std::to_string(sequence));
    }
  }
  return out;
}

}  // namespace sflow
