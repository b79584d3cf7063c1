// Rows of the state database <-> the records of engine/run_store.h. Each Decode* reads the
// columns in the order of its column list, starting at column 0, and checks every value against
// what the schema promises (store/migrations.cc: STRICT types, CHECK constraints, JSON columns,
// known names). The schema enforces that on writes; on reads a damaged page can still hand back
// anything, and a value that breaks a promise is the sign of it. Such a row fails with kIOError
// "the state database <db> is damaged: <table> row <key>: <what>; <DamagedDatabaseHint>", never
// with a record that a command would print or act on.
#ifndef SFLOW_STORE_RUN_ROWS_H_
#define SFLOW_STORE_RUN_ROWS_H_

#include "engine/run_store.h"
#include "store/sqlite_db.h"

namespace sflow {

// "SELECT <run columns> FROM runs r LEFT JOIN cursors c ... LEFT JOIN run_specs s ...": append a
// WHERE clause.
inline constexpr const char* kSelectRuns =
    "SELECT r.id, r.plan_path, r.plan_name, r.plan_digest, r.params, r.execution, r.status, "
    "r.waiting_reason, r.workflow_id, r.account, r.out_dir, r.error, r.created_at, r.updated_at, "
    "COALESCE(c.last_sequence, -1), r.api_url, r.cancel_requested_at, s.spec "
    "FROM runs r LEFT JOIN cursors c ON c.run_id = r.id LEFT JOIN run_specs s ON s.run_id = r.id";
inline constexpr const char* kStepColumns =
    "step_id, tool, status, seed, artifact_count, remote_id, error, updated_at, units, arguments_digest";
inline constexpr const char* kIntentColumns =
    "id, run_id, kind, idempotency_key, request, state, response, created_at, updated_at";
inline constexpr const char* kArtifactColumns =
    "step_id, idx, remote_id, url, kind, state, local_path, size, sha256, updated_at";
inline constexpr const char* kProjectColumns =
    "project_id, run_id, step_id, app_id, request, cache_key, state, quote, quote_usd, token_type, "
    "charge, error, created_at, updated_at";
inline constexpr const char* kChunkColumns = "first_sequence, last_sequence, count, body";

const char* ExecutionName(Execution execution);  // "server" | "local"

Result<RunRecord> DecodeRun(const Stmt& row);  // steps left empty
Result<StepRecord> DecodeStep(const Stmt& row);
Result<IntentRecord> DecodeIntent(const Stmt& row);
Result<ArtifactRecord> DecodeArtifact(const Stmt& row);
Result<ProjectRecord> DecodeProject(const Stmt& row);
// The event's json must be one strict JSON value in valid UTF-8 (engine/json.h): it is printed
// byte for byte by `events --json`.
// The events of an event_chunks row (kChunkColumns) with sequence > after, appended to *out;
// a row that breaks store/event_chunks.h's format is damage (kIOError naming the chunk).
Status DecodeChunkRow(const Stmt& row, int64_t after, std::vector<EventRecord>* out);

// Steps q to its end, appending decode(q) for each row to *out. decode returns Result<T>.
template <typename T, typename Decode>
Status CollectRows(Stmt& q, Decode decode, std::vector<T>* out) {
  for (;;) {
    Result<bool> row = q.Step();
    if (!row.ok()) return row.status();
    if (!*row) return Status::OK();
    Result<T> item = decode(q);
    if (!item.ok()) return item.status();
    out->push_back(std::move(*item));
  }
}

// kInternal "run store: ..." when `update` is malformed (a step without an id, ...): the checks
// every write makes before its transaction.
// kInternal "run store: <what>": a call the store refuses before any SQL runs.
Status InvalidCall(const std::string& what);
// A JSON column's text; NULL (nullopt) for a null Value.
std::optional<std::string> JsonOrNull(const Value& v);

Status CheckRunUpdate(const RunUpdate& update);
Status CheckArtifactMark(const ArtifactRecord& artifact);  // what MarkArtifact() accepts
Status CheckProjectMark(const ProjectMark& mark);          // what MarkProject() accepts

// The kIOError for a damaged row of `table` (see above).
Status DamagedRow(const Stmt& row, const std::string& table, const std::string& key, const std::string& what);
// The "<table> row <key>: <what>" part of such a Status (its whole message for any other).
std::string DamageDetail(const Status& status);

}  // namespace sflow

#endif  // SFLOW_STORE_RUN_ROWS_H_
