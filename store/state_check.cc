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

// The rows of local runs agree with each other (a resume trusts them to send nothing twice):
//   - a local run has a spec, with one entry per step of the run;
//   - a project belongs to a step of its run;
//   - while the run goes on, a step in flight (submitting, queued, running) names its project,
//     a project of this run and step still open (pending or sent), and an open project is the
//     one its step in flight names: RecordProjects commits the two together, and a step's end
//     closes both. The project a step in flight names is its newest (resume takes the newest),
//     and a planned step has no completed project.
// Finished runs are left out of the last two: their leftovers decide nothing.
void CheckLocalRuns(Db& db, StoreCheck* out) {
  static constexpr const char* kGoesOn = "r.status NOT IN ('completed', 'failed', 'cancelled', 'partial_failure')";
  // "run 'R'" then what is wrong with it.
  auto problem = [&](const std::string& run, const std::string& what) {
    out->problems.push_back("run '" + Printable(run) + "'" + what);
  };
  EachRow(db,
          "SELECT r.id, s.spec IS NULL, json_type(s.spec, '$.steps'), json_array_length(s.spec, '$.steps'), "
          "(SELECT count(*) FROM steps t WHERE t.run_id = r.id) FROM runs r LEFT JOIN run_specs s ON s.run_id = r.id "
          "WHERE r.execution = 'local' ORDER BY r.id",
          out, [&](Stmt& q) {
            if (q.Int(1)) return problem(q.Text(0), " is a local run without its spec");
            if (q.Text(2) != "array") return problem(q.Text(0), ": its spec has no list of steps");
            if (q.Int(3) != q.Int(4))
              problem(q.Text(0), ": its spec has " + std::to_string(q.Int(3)) + " steps, the run " + std::to_string(q.Int(4)));
          });
  EachRow(db,
          "SELECT p.project_id, p.run_id, p.step_id FROM projects p WHERE NOT EXISTS "
          "(SELECT 1 FROM steps t WHERE t.run_id = p.run_id AND t.step_id = p.step_id) ORDER BY p.run_id, p.project_id",
          out, [&](Stmt& q) {
            problem(q.Text(1), ": project " + Printable(q.Text(0)) + " names step '" + Printable(q.Text(2)) +
                                   "', which the run does not have");
          });
  EachRow(db,
          std::string("SELECT t.run_id, t.step_id, t.status, t.remote_id, p.state FROM steps t JOIN runs r ON r.id = t.run_id "
                      "LEFT JOIN projects p ON p.project_id = t.remote_id AND p.run_id = t.run_id AND p.step_id = t.step_id "
                      "WHERE r.execution = 'local' AND ") + kGoesOn +
              " AND t.status IN ('submitting', 'queued', 'running') AND (p.state IS NULL OR p.state NOT IN ('pending', 'sent')) "
              "ORDER BY t.run_id, t.position",
          out, [&](Stmt& q) {
            const std::string step = ": step '" + Printable(q.Text(1)) + "' is " + Printable(q.Text(2)) + ", but its project ";
            if (q.IsNull(4))
              problem(q.Text(0), step + (q.Text(3).empty() ? std::string("is not named")
                                                            : Printable(q.Text(3)) + " is not one of its projects"));
            else
              problem(q.Text(0), step + Printable(q.Text(3)) + " is " + Printable(q.Text(4)));
          });
  EachRow(db,
          std::string("SELECT t.run_id, t.step_id, t.remote_id, q.project_id FROM steps t JOIN runs r ON r.id = t.run_id "
                      "JOIN projects p ON p.project_id = t.remote_id AND p.run_id = t.run_id "
                      "JOIN projects q ON q.run_id = t.run_id AND q.step_id = t.step_id AND q.created_at > p.created_at "
                      "WHERE r.execution = 'local' AND ") + kGoesOn +
              " AND t.status IN ('submitting', 'queued', 'running') ORDER BY t.run_id, t.position, q.project_id",
          out, [&](Stmt& q) {
            problem(q.Text(0), ": step '" + Printable(q.Text(1)) + "' is in flight as project " + Printable(q.Text(2)) +
                                   ", but its project " + Printable(q.Text(3)) + " is newer");
          });
  EachRow(db,
          std::string("SELECT t.run_id, t.step_id, p.project_id FROM steps t JOIN runs r ON r.id = t.run_id "
                      "JOIN projects p ON p.run_id = t.run_id AND p.step_id = t.step_id AND p.state = 'completed' "
                      "WHERE r.execution = 'local' AND ") + kGoesOn +
              " AND t.status = 'planned' ORDER BY t.run_id, t.position, p.project_id",
          out, [&](Stmt& q) {
            problem(q.Text(0), ": step '" + Printable(q.Text(1)) + "' is planned, but its project " +
                                   Printable(q.Text(2)) + " completed");
          });
  EachRow(db,
          std::string("SELECT p.run_id, p.step_id, p.project_id, p.state FROM projects p JOIN runs r ON r.id = p.run_id "
                      "WHERE ") + kGoesOn +
              " AND p.state IN ('pending', 'sent') AND NOT EXISTS (SELECT 1 FROM steps t WHERE t.run_id = p.run_id "
              "AND t.step_id = p.step_id AND t.remote_id = p.project_id AND t.status IN ('submitting', 'queued', 'running')) "
              "ORDER BY p.run_id, p.project_id",
          out, [&](Stmt& q) {
            problem(q.Text(0), ": project " + Printable(q.Text(2)) + " (" + Printable(q.Text(3)) + ") of step '" +
                                   Printable(q.Text(1)) + "' is not the project of that step in flight");
          });
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
  CheckLocalRuns(db, &out);
  // The ledger (engine/ledger.h): every run has its row, and each row's estimate reads back.
  EachRow(db, "SELECT r.id FROM runs r WHERE NOT EXISTS (SELECT 1 FROM ledger l WHERE l.run_id = r.id)", &out,
          [&](Stmt& q) { out.problems.push_back("run '" + Printable(q.Text(0)) + "' has no row in the ledger"); });
  EachRow(db, "SELECT run_id, steps FROM ledger ORDER BY rowid", &out, [&](Stmt& q) {
    Result<LedgerEstimate> e = LedgerEstimate::FromJson(q.Text(1));
    if (!e.ok()) out.problems.push_back("the ledger row of run '" + Printable(q.Text(0)) + "' holds " + e.status().message());
  });
  // What the CHECKs say, for rows written with them off: amounts in [0, 1e300), a YYYY-MM-DD day.
  EachRow(db,
          "SELECT run_id FROM ledger WHERE NOT (units >= 0 AND units < 1e300 AND usd >= 0 AND usd < 1e300 "
          "AND (units_actual IS NULL OR (units_actual >= 0 AND units_actual < 1e300)) "
          "AND (usd_actual IS NULL OR (usd_actual >= 0 AND usd_actual < 1e300)) "
          "AND length(day) = 10 AND day GLOB '[0-9][0-9][0-9][0-9]-[0-9][0-9]-[0-9][0-9]') ORDER BY rowid",
          &out, [&](Stmt& q) {
            out.problems.push_back("the ledger row of run '" + Printable(q.Text(0)) +
                                   "' holds an amount that is negative or not finite, or a malformed day");
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
