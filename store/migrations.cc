// Implementation details: the schema, as numbered SQL. Comments inside CREATE TABLE are kept by
// SQLite in sqlite_master, so `sqlite3 state.db .schema` shows the grammar below to whoever opens
// the file. All tables are STRICT (types enforced) and check their enumerations and JSON columns,
// so a bug in the store cannot write a state the engine would not recognise on resume.
//
// Run and step status grammar (docs/architecture.md, crash safety):
//   planned -> submitting -> (queued | running) <-> waiting_for_user
//           -> completed | partial_failure | failed | cancelled
//   any non-terminal -> unknown   (a request's outcome is not known; left only by reconciliation)
// Intent state:   pending -> sent -> done | unknown;  unknown -> sent | done   (done is final)
// Artifact state: planned -> downloading -> done | failed;  failed -> downloading  (done is final)
#include "store/migrations.h"

#include <sys/stat.h>

#include <map>
#include <mutex>
#include <string>

namespace sflow {

namespace {

constexpr const char* kV1 = R"sql(
CREATE TABLE runs (
  id             TEXT PRIMARY KEY NOT NULL,         -- the local run id
  plan_path      TEXT NOT NULL,
  plan_name      TEXT NOT NULL,
  plan_digest    TEXT NOT NULL,
  params         TEXT NOT NULL CHECK (json_valid(params)),
  execution      TEXT NOT NULL CHECK (execution IN ('server', 'local')),
  status         TEXT NOT NULL CHECK (status IN ('planned', 'submitting', 'queued', 'running',
                   'waiting_for_user', 'completed', 'partial_failure', 'failed', 'cancelled',
                   'unknown')),
  waiting_reason TEXT NOT NULL DEFAULT '',
  workflow_id    TEXT,                              -- remote id, NULL until the start is answered
  -- sha256 prefix of the API key to notice an account change on resume; NEVER the key itself,
  -- which the shape check below makes hard to store by mistake.
  account        TEXT NOT NULL DEFAULT ''
                   CHECK (length(account) <= 16 AND account NOT GLOB '*[^0-9a-f]*'),
  out_dir        TEXT NOT NULL DEFAULT '',
  error          TEXT CHECK (error IS NULL OR json_valid(error)),
  created_at     INTEGER NOT NULL,                  -- ms since the Unix epoch
  updated_at     INTEGER NOT NULL
) STRICT;
CREATE INDEX runs_by_status ON runs (status, created_at);

CREATE TABLE steps (
  run_id         TEXT NOT NULL REFERENCES runs (id) ON DELETE CASCADE,
  step_id        TEXT NOT NULL,
  position       INTEGER NOT NULL,                  -- order in the plan
  tool           TEXT NOT NULL DEFAULT '',
  status         TEXT NOT NULL CHECK (status IN ('planned', 'submitting', 'queued', 'running',
                   'waiting_for_user', 'completed', 'partial_failure', 'failed', 'cancelled',
                   'unknown')),
  seed           INTEGER,                           -- the remote seed, resent on reseed
  artifact_count INTEGER NOT NULL DEFAULT 0 CHECK (artifact_count >= 0),
  remote_id      TEXT NOT NULL DEFAULT '',          -- local execution: the project id
  error          TEXT CHECK (error IS NULL OR json_valid(error)),
  updated_at     INTEGER NOT NULL,
  PRIMARY KEY (run_id, step_id)
) STRICT, WITHOUT ROWID;

-- The primary key is UNIQUE(run_id, sequence): a replayed event is dropped, never stored twice.
CREATE TABLE events (
  run_id         TEXT NOT NULL REFERENCES runs (id) ON DELETE CASCADE,
  sequence       INTEGER NOT NULL CHECK (sequence >= 0),
  type           TEXT NOT NULL,
  status         TEXT NOT NULL DEFAULT '',
  json           TEXT NOT NULL CHECK (json_valid(json)),  -- the event as received, byte for byte
  received_at    INTEGER NOT NULL,
  PRIMARY KEY (run_id, sequence)
) STRICT, WITHOUT ROWID;

-- Committed in the same transaction as the events it covers; never moves backwards.
CREATE TABLE cursors (
  run_id         TEXT PRIMARY KEY NOT NULL REFERENCES runs (id) ON DELETE CASCADE,
  last_sequence  INTEGER NOT NULL DEFAULT -1 CHECK (last_sequence >= -1)
) STRICT;

CREATE TABLE artifacts (
  run_id         TEXT NOT NULL REFERENCES runs (id) ON DELETE CASCADE,
  step_id        TEXT NOT NULL,
  idx            INTEGER NOT NULL CHECK (idx >= 0),
  remote_id      TEXT NOT NULL,
  url            TEXT NOT NULL DEFAULT '',
  kind           TEXT NOT NULL DEFAULT 'unknown',
  local_path     TEXT NOT NULL DEFAULT '',          -- chosen by the runner, never by the server
  size           INTEGER NOT NULL DEFAULT 0 CHECK (size >= 0),
  sha256         TEXT NOT NULL DEFAULT '',
  state          TEXT NOT NULL CHECK (state IN ('planned', 'downloading', 'done', 'failed')),
  updated_at     INTEGER NOT NULL,
  UNIQUE (run_id, remote_id),
  CHECK (state <> 'done' OR (local_path <> '' AND length(sha256) = 64))
) STRICT;

CREATE TABLE approvals (
  id             INTEGER PRIMARY KEY,
  plan_digest    TEXT NOT NULL,
  ceiling        REAL NOT NULL CHECK (ceiling >= 0),  -- capacity units
  approved_by    TEXT NOT NULL,
  expires_at     INTEGER NOT NULL DEFAULT 0,        -- ms since the Unix epoch; 0 = never
  file_path      TEXT NOT NULL DEFAULT '',          -- the PLAN.approval.json it came from
  created_at     INTEGER NOT NULL,
  UNIQUE (plan_digest, file_path)
) STRICT;

-- An intent and its Idempotency-Key are committed BEFORE the paid request is sent; after a crash
-- the same request (byte for byte) is sent again with the same key.
CREATE TABLE intents (
  id              TEXT PRIMARY KEY NOT NULL,
  run_id          TEXT NOT NULL REFERENCES runs (id) ON DELETE CASCADE,
  kind            TEXT NOT NULL CHECK (kind IN ('start', 'reseed', 'confirm_cost', 'cancel')),
  idempotency_key TEXT NOT NULL UNIQUE CHECK (length(idempotency_key) BETWEEN 1 AND 255),
  request         TEXT NOT NULL CHECK (json_valid(request)),
  state           TEXT NOT NULL CHECK (state IN ('pending', 'sent', 'done', 'unknown')),
  response        TEXT CHECK (response IS NULL OR json_valid(response)),
  created_at      INTEGER NOT NULL,
  updated_at      INTEGER NOT NULL
) STRICT;
CREATE INDEX intents_open ON intents (run_id, created_at) WHERE state <> 'done';
)sql";

// Version 2: what a provenance file beside each artifact needs from its step.
constexpr const char* kV2 = R"sql(
ALTER TABLE steps ADD COLUMN units REAL;            -- capacity units the server reports for the step
ALTER TABLE steps ADD COLUMN arguments_digest TEXT NOT NULL DEFAULT '';  -- sha256 of the sorted-key arguments JSON
)sql";

// Version 3: the API endpoint a run was started against, so that resume talks to the same one.
constexpr const char* kV3 = R"sql(
ALTER TABLE runs ADD COLUMN api_url TEXT NOT NULL DEFAULT '';  -- base URL the run belongs to; '' before v3
)sql";

// Version 4: one driver per run (store/run_lease.h) and the cancel a user asked for.
constexpr const char* kV4 = R"sql(
-- Who drives a run now. No foreign key: a run is leased before it is stored, so that no other
-- process can take up a run between its creation and its first request.
CREATE TABLE leases (
  run_id         TEXT PRIMARY KEY NOT NULL,
  pid            INTEGER NOT NULL CHECK (pid > 0),
  host           TEXT NOT NULL DEFAULT '',          -- messages only
  boot_id        TEXT NOT NULL DEFAULT '',          -- /proc/sys/kernel/random/boot_id
  pid_ns         TEXT NOT NULL DEFAULT '',          -- /proc/self/ns/pid
  start_ticks    INTEGER NOT NULL DEFAULT 0 CHECK (start_ticks >= 0),  -- /proc/PID/stat field 22
  started        TEXT NOT NULL DEFAULT '',          -- ISO 8601, messages only
  acquired_at    INTEGER NOT NULL
) STRICT;
-- When the server accepted a cancel of the run's workflow (ms since the Unix epoch; 0 = never):
-- the run is then "cancel requested" until its end has been followed and stored.
ALTER TABLE runs ADD COLUMN cancel_requested_at INTEGER NOT NULL DEFAULT 0 CHECK (cancel_requested_at >= 0);
)sql";

// Version 5: local execution. A project (one attempt at a step, as a direct project) is committed
// with its exact jobRequest BEFORE the frame is sent: its id is the only identity the projects
// socket knows (there is no Idempotency-Key), so after a crash the same request is re-sent under
// the same id only when the server does not know it.
constexpr const char* kV5 = R"sql(
CREATE TABLE projects (
  project_id     TEXT PRIMARY KEY NOT NULL,         -- the jobRequest's jobID (uppercase UUID)
  run_id         TEXT NOT NULL REFERENCES runs (id) ON DELETE CASCADE,
  step_id        TEXT NOT NULL,
  app_id         TEXT NOT NULL,                     -- the socket's appId it was sent under
  request        TEXT NOT NULL CHECK (json_valid(request)),  -- the jobRequest, resent byte for byte
  cache_key      TEXT NOT NULL DEFAULT '' CHECK (cache_key = '' OR (length(cache_key) = 64
                   AND cache_key NOT GLOB '*[^0-9a-f]*')),
  state          TEXT NOT NULL CHECK (state IN ('pending', 'sent', 'completed', 'failed', 'cancelled')),
  quote          REAL CHECK (quote IS NULL OR quote >= 0),       -- tokens quoted before sending
  quote_usd      REAL CHECK (quote_usd IS NULL OR quote_usd >= 0),
  token_type     TEXT NOT NULL DEFAULT '',
  charge         REAL CHECK (charge IS NULL OR charge >= 0),     -- tokens it cost, once known
  error          TEXT CHECK (error IS NULL OR json_valid(error)),
  created_at     INTEGER NOT NULL,
  updated_at     INTEGER NOT NULL
) STRICT;
CREATE INDEX projects_by_run ON projects (run_id, created_at);
CREATE INDEX projects_by_cache ON projects (cache_key, updated_at) WHERE state = 'completed' AND cache_key <> '';

-- A local run's spec (runner/local/local_spec.h): its steps with their resolved parameters and
-- inputs, fixed at creation so that resume never re-reads a plan file that changed since.
ALTER TABLE runs ADD COLUMN spec TEXT CHECK (spec IS NULL OR json_valid(spec));

-- Values the state directory keeps for itself, e.g. its appId on the projects socket.
CREATE TABLE settings (
  name           TEXT PRIMARY KEY NOT NULL,
  value          TEXT NOT NULL
) STRICT;
)sql";

// A local run's spec moves out of `runs` into a table of its own. SQLite rewrites a whole row,
// overflow pages included, whenever one of its columns changes; with the spec in `runs`, each
// status or updated_at change of a 1,000-step run rewrote ~300 KB. The spec is written once, at
// creation, and read with the run.
constexpr const char* kV6 = R"sql(
CREATE TABLE run_specs (
  run_id         TEXT PRIMARY KEY NOT NULL REFERENCES runs (id) ON DELETE CASCADE,
  spec           TEXT NOT NULL CHECK (json_valid(spec))  -- runner/local/local_spec.h
) STRICT;
INSERT INTO run_specs (run_id, spec) SELECT id, spec FROM runs WHERE spec IS NOT NULL;
ALTER TABLE runs DROP COLUMN spec;
)sql";

// Events move into chunks, one row per committed batch of a run (store/event_chunks.h): a row
// and a B-tree insert per event made SQLite most of the cost of following a stream. Each stored
// event becomes a chunk of its own; the JSON is checked when a chunk is read, as it was checked
// (json_valid) when it was written.
constexpr const char* kV7 = R"sql(
CREATE TABLE event_chunks (
  run_id          TEXT NOT NULL REFERENCES runs (id) ON DELETE CASCADE,
  first_sequence  INTEGER NOT NULL CHECK (first_sequence >= 0),
  last_sequence   INTEGER NOT NULL CHECK (last_sequence >= first_sequence),
  count           INTEGER NOT NULL CHECK (count >= 1 AND count - 1 <= last_sequence - first_sequence),
  body            TEXT NOT NULL,  -- the events, store/event_chunks.h
  PRIMARY KEY (run_id, first_sequence)
) STRICT, WITHOUT ROWID;
INSERT INTO event_chunks (run_id, first_sequence, last_sequence, count, body)
  SELECT run_id, sequence, sequence, 1,
         printf('%d %d %d %d %d', sequence, length(CAST(type AS BLOB)), length(CAST(status AS BLOB)),
                length(CAST(json AS BLOB)), received_at) || char(10) || type || status || json
  FROM events WHERE run_id IN (SELECT id FROM runs);  -- an event of no stored run: nothing reads it
DROP TABLE events;
)sql";

// Chunks move to a rowid table. In a WITHOUT ROWID table a row is its key: SQLite compares a
// seek or a range bound against the whole record, so every chunk it passed (a chunk holds up to
// megabytes of events in overflow pages) was read in full. `status` of a run of 100,000 events
// read 32 MB to sum the counts, and each appended batch read its neighbours back. Here the key is
// the small UNIQUE index and a row's counts sit before its body.
// A damaged file must not stop the upgrade (every command would refuse the directory, and the
// older binary cannot repair it): a chunk that breaks a CHECK moves as it is, to be named as
// damage where it is read and by `sogni-flow check`; a chunk of no stored run (nothing can
// read it) is left behind.
constexpr const char* kV8 = R"sql(
ALTER TABLE event_chunks RENAME TO event_chunks_v7;
CREATE TABLE event_chunks (
  run_id          TEXT NOT NULL REFERENCES runs (id) ON DELETE CASCADE,
  first_sequence  INTEGER NOT NULL CHECK (first_sequence >= 0),
  last_sequence   INTEGER NOT NULL CHECK (last_sequence >= first_sequence),
  count           INTEGER NOT NULL CHECK (count >= 1 AND count - 1 <= last_sequence - first_sequence),
  body            TEXT NOT NULL,  -- the events, store/event_chunks.h
  UNIQUE (run_id, first_sequence)
) STRICT;
PRAGMA ignore_check_constraints = ON;
INSERT INTO event_chunks (run_id, first_sequence, last_sequence, count, body)
  SELECT run_id, first_sequence, last_sequence, count, body FROM event_chunks_v7
  WHERE run_id IN (SELECT id FROM runs) ORDER BY run_id, first_sequence;
PRAGMA ignore_check_constraints = OFF;
DROP TABLE event_chunks_v7;
)sql";

// Which runs a batch file made (`sogni-flow batch run`), one row per run, written in the run's own
// creating transaction, so that no run a batch started is ever unknown to it (a crash between
// the two would have made the next `batch run` start that entry again, and pay twice).
constexpr const char* kV9 = R"sql(
CREATE TABLE batch_runs (
  batch   TEXT NOT NULL CHECK (length(batch) BETWEEN 1 AND 128),
  entry   TEXT NOT NULL CHECK (length(entry) BETWEEN 1 AND 4096),
  run_id  TEXT NOT NULL UNIQUE REFERENCES runs (id) ON DELETE CASCADE
) STRICT;
CREATE INDEX batch_runs_by_batch ON batch_runs (batch, entry);
)sql";

// The ledger (engine/ledger.h): what each run is expected to cost, stored with the run in its
// creating transaction, and what it was charged once it ended. No foreign key: what was spent
// stays spent when a run is forgotten. `day` is the date (UTC) the run was stored on.
// Runs stored before have no estimate (0); those that ended count what they reported: the units
// of a server run's steps, the charges of a local run's projects at each one's quote rate. A damaged amount or
// time must not stop the upgrade: each is bounded into what the CHECKs accept.
constexpr const char* kV10 = R"sql(
CREATE TABLE ledger (
  run_id        TEXT PRIMARY KEY NOT NULL,
  batch         TEXT NOT NULL DEFAULT '',          -- the batch file's name, '' = none
  day           TEXT NOT NULL CHECK (length(day) = 10
                  AND day GLOB '[0-9][0-9][0-9][0-9]-[0-9][0-9]-[0-9][0-9]'),
  units         REAL NOT NULL CHECK (units >= 0 AND units < 1e300),  -- the estimate: capacity units
  usd           REAL NOT NULL CHECK (usd >= 0 AND usd < 1e300),      -- the estimate: US dollars
  steps         TEXT NOT NULL CHECK (json_valid(steps)),  -- the estimate per step {"ID": {"units", "usd"}}
  units_actual  REAL CHECK (units_actual IS NULL OR (units_actual >= 0 AND units_actual < 1e300)),  -- once ended
  usd_actual    REAL CHECK (usd_actual IS NULL OR (usd_actual >= 0 AND usd_actual < 1e300)),
  created_at    INTEGER NOT NULL,
  -- who pays: the run's key fingerprint and endpoint ('-' when the run has none); a ceiling
  -- counts only the runs of one payer
  account       TEXT NOT NULL,
  api_url       TEXT NOT NULL
) STRICT;
CREATE INDEX ledger_by_day ON ledger (day);
CREATE INDEX ledger_by_batch ON ledger (batch, day);
INSERT INTO ledger (run_id, batch, day, units, usd, steps, units_actual, usd_actual, created_at, account, api_url)
  SELECT r.id,
         COALESCE((SELECT b.batch FROM batch_runs b WHERE b.run_id = r.id), ''),
         CASE WHEN r.created_at BETWEEN 0 AND 253402214400000
              THEN COALESCE(date(r.created_at / 1000, 'unixepoch'), '1970-01-01')
              ELSE '1970-01-01' END,
         0, 0, '{}',
         CASE WHEN r.status NOT IN ('completed', 'partial_failure', 'failed', 'cancelled') THEN NULL
              WHEN r.execution = 'local' THEN 0  -- a local step's units are the tokens it was charged
              ELSE
           (SELECT max(0, TOTAL(CASE WHEN s.units > 0 AND s.units < 1e300 THEN s.units ELSE 0 END))
            FROM steps s WHERE s.run_id = r.id) END,
         CASE WHEN r.status IN ('completed', 'partial_failure', 'failed', 'cancelled') THEN
           (SELECT max(0, TOTAL(CASE WHEN p.quote > 0 AND p.charge > 0 AND p.quote_usd > 0
                                      AND p.charge * p.quote_usd / p.quote < 1e300
                                     THEN p.charge * p.quote_usd / p.quote ELSE 0 END))
            FROM projects p WHERE p.run_id = r.id) END,
         r.created_at,
         CASE WHEN r.account = '' THEN '-' ELSE r.account END,
         CASE WHEN r.api_url = '' THEN '-' ELSE r.api_url END
  FROM runs r;
)sql";

constexpr Migration kMigrations[] = {
    {1, "initial schema", kV1},
    {2, "step units and arguments digest", kV2},
    {3, "run endpoint", kV3},
    {4, "run leases and cancel requests", kV4},
    {5, "direct projects of local runs", kV5},
    {6, "run specs in their own table", kV6},
    {7, "events in chunks", kV7},
    {8, "event chunks keyed by a small index", kV8},
    {9, "the runs of batch files", kV9},
    {10, "the ledger of what runs cost", kV10},
};

}  // namespace

std::span<const Migration> StoreMigrations() { return kMigrations; }

int LatestSchemaVersion() { return kMigrations[std::size(kMigrations) - 1].version; }

Status Migrate(Db* db) { return Migrate(db, StoreMigrations()); }

namespace {

Status TooNew(const Db& db, int64_t found, int latest) {
  return Status::IOError("state database " + db.path() + " is from a newer sogni-flow (version " +
                         std::to_string(found) +
                         "); upgrade (this sogni-flow knows up to version " +
                         std::to_string(latest) + ")");
}

}  // namespace

Status Migrate(Db* db, std::span<const Migration> migrations) {
  const int latest = migrations.empty() ? 0 : migrations.back().version;
  Result<int64_t> found = db->QueryInt("PRAGMA user_version");
  if (!found.ok()) return found.status();
  if (*found > latest) return TooNew(*db, *found, latest);
  if (*found == latest) return Status::OK();
  for (const Migration& m : migrations) {
    if (m.version <= *found) continue;
    Transaction txn(db);
    if (Status s = txn.Begin(); !s.ok()) return s;
    // Re-read under the write lock: another process may have migrated meanwhile.
    Result<int64_t> current = db->QueryInt("PRAGMA user_version");
    if (!current.ok()) return current.status();
    if (*current > latest) return TooNew(*db, *current, latest);
    if (*current >= m.version) continue;
    if (*current != m.version - 1) {
      return Status::Internal("migration " + std::to_string(m.version) + " cannot follow version " +
                              std::to_string(*current));
    }
    Status s = db->Exec(m.sql);
    // A migration that copies damaged rows turns CHECKs off for its copy; whether it got to its
    // end or not, they are on again for everything after.
    if (Status on = db->Exec("PRAGMA ignore_check_constraints = OFF"); s.ok()) s = on;
    if (s.ok()) s = db->Exec("PRAGMA user_version = " + std::to_string(m.version));
    if (s.ok()) s = txn.Commit();
    if (!s.ok()) {
      std::string hint;
      if (s.message().find("disk full") != std::string::npos) {
        // A migration that rewrites a table holds the old and the new copy, and the new one
        // passes through the WAL as well (an outside attack measured 4 times the file's size).
        struct stat st;
        int64_t bytes = 0;
        for (const char* suffix : {"", "-wal"})
          if (::stat((db->path() + suffix).c_str(), &st) == 0) bytes += st.st_size;
        hint = " (an upgrade copies the stored events: it needs about " + std::to_string(3 * bytes / (1 << 20) + 1) +
               " MB free beside the state database)";
      }
      return Status::Error(s.code(), "migrating to version " + std::to_string(m.version) + " (" +
                                         m.name + "): " + s.message() + hint);
    }
  }
  return Status::OK();
}

namespace {

// sqlite_schema as "type name" -> "on tbl_name: sql" (autoindexes have no SQL).
using Schema = std::map<std::string, std::string>;

Result<Schema> SchemaRows(Db* db) {
  Result<Stmt> q = db->Prepare("SELECT type, name, tbl_name, sql FROM sqlite_schema");
  if (!q.ok()) return q.status();
  Schema rows;
  for (;;) {
    Result<bool> row = q->Step();
    if (!row.ok()) return row.status();
    if (!*row) return rows;
    rows[q->Text(0) + " " + q->Text(1)] = "on " + q->Text(2) + ": " + (q->IsNull(3) ? std::string("(none)") : q->Text(3));
  }
}

// What migrations 1..version create, built once per version in a private in-memory database.
Result<Schema> ExpectedSchema(int64_t version) {
  static std::mutex mu;
  static std::map<int64_t, Schema> cache;
  std::lock_guard<std::mutex> hold(mu);
  if (auto it = cache.find(version); it != cache.end()) return it->second;
  Result<std::unique_ptr<Db>> mem = Db::Open(":memory:");
  if (!mem.ok()) return mem.status();
  std::span<const Migration> all = StoreMigrations();
  if (Status s = Migrate(mem->get(), all.first(static_cast<size_t>(version))); !s.ok()) return s;
  Result<Schema> rows = SchemaRows(mem->get());
  if (rows.ok()) cache[version] = *rows;
  return rows;
}

// `text` for a message: printable, at most 120 bytes.
std::string BriefText(const std::string& text) {
  return Printable(text.size() > 120 ? text.substr(0, 120) + "..." : text);
}

// The first difference between `found` and `expected` (which differ), in words.
std::string FirstDifference(const Schema& found, const Schema& expected, int64_t version) {
  const std::string v = std::to_string(version);
  for (const auto& [key, want] : expected) {
    auto it = found.find(key);
    if (it == found.end()) return "its schema lacks " + Printable(key) + ", which version " + v + " creates";
    if (it->second == want) continue;
    const std::string& got = it->second;
    size_t at = 0;
    while (at < got.size() && at < want.size() && got[at] == want[at]) ++at;
    size_t from = at == 0 || got.rfind('\n', at - 1) == std::string::npos ? 0 : got.rfind('\n', at - 1) + 1;
    auto line = [&](const std::string& t) { return BriefText(t.substr(from, t.find('\n', from) - from)); };
    return "the definition of " + Printable(key) + " differs from what version " + v + " creates: found '" +
           line(got) + "' where '" + line(want) + "' belongs";
  }
  for (const auto& [key, got] : found) {
    if (!expected.count(key)) return "its schema has an object version " + v + " does not create: " + Printable(key);
  }
  return "its schema differs from what version " + v + " creates";
}

}  // namespace

Status CheckSchema(Db* db) {
  Result<int64_t> version = db->QueryInt("PRAGMA user_version");
  if (!version.ok()) return version.status();
  if (*version < 0 || *version > LatestSchemaVersion()) return Status::OK();  // Migrate says "newer"
  Result<Schema> expected = ExpectedSchema(*version);
  if (!expected.ok()) return expected.status();
  Result<Schema> found = SchemaRows(db);
  if (!found.ok()) return found.status();
  if (*found == *expected) return Status::OK();
  return Status::IOError("the state database " + db->path() + " is damaged: " +
                         FirstDifference(*found, *expected, *version) + "; " + DamagedDatabaseHint(db->path()));
}

}  // namespace sflow
