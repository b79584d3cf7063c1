// Implementation details: a RowReader reads one row's columns and keeps the first broken promise;
// each Decode* reads every column through it, then returns the record or that problem.
#include "store/run_rows.h"

#include <climits>
#include <cstdio>

#include "engine/json.h"
#include "store/event_chunks.h"

namespace sflow {

namespace {

bool IsLowerHex(const std::string& s) {
  for (char c : s)
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return false;
  return true;
}

bool ValidUtf8(const std::string& s) {
  for (size_t i = 0, len; i < s.size(); i += len)
    if ((len = Utf8LengthAt(s, i)) == 0) return false;
  return true;
}

class RowReader {
 public:
  RowReader(const Stmt& row, const char* table) : row_(row), table_(table) {}

  int64_t Int(int c, const char* col, int64_t min = INT64_MIN) {
    if (!Is(c, col, Stmt::Type::kInteger)) return 0;
    int64_t v = row_.Int(c);
    if (v < min) Fail(std::string(col) + " is " + std::to_string(v) + ", below " + std::to_string(min));
    return v;
  }
  std::optional<int64_t> OptInt(int c, const char* col) {
    if (row_.IsNull(c)) return std::nullopt;
    return Int(c, col);
  }
  std::optional<double> OptReal(int c, const char* col) {
    if (row_.IsNull(c)) return std::nullopt;
    if (!Is(c, col, Stmt::Type::kFloat)) return std::nullopt;
    return row_.Double(c);
  }
  // Text of the column; with `utf8`, it must be valid UTF-8 (text that is printed in --json).
  std::string Text(int c, const char* col, bool utf8 = true) {
    if (!Is(c, col, Stmt::Type::kText)) return "";
    std::string s = row_.Text(c);
    if (utf8 && !ValidUtf8(s)) Fail(std::string(col) + " is not valid UTF-8");
    return s;
  }
  std::string OptText(int c, const char* col) { return row_.IsNull(c) ? "" : Text(c, col); }
  // A JSON column (CHECK json_valid): a null Value for NULL when `nullable`.
  Value Json(int c, const char* col, bool nullable) {
    if (nullable && row_.IsNull(c)) return Value();
    std::string text = Text(c, col, false);
    if (!ok()) return Value();
    Result<Value> v = ParseJson(text);
    if (!v.ok()) Fail(std::string(col) + " is not JSON (" + v.status().message() + ")");
    return v.ok() ? std::move(*v) : Value();
  }
  template <typename E, size_t N>
  E Name(const char* const (&names)[N], int c, const char* col) {
    std::string text = Text(c, col);
    std::optional<E> e = ParseName<E>(names, text);
    if (ok() && !e) Fail(std::string(col) + " '" + Printable(text) + "' is not one this sogni-flow knows");
    return e.value_or(static_cast<E>(0));
  }
  void Check(bool holds, const std::string& what) {
    if (!holds) Fail(what);
  }
  void Key(std::string key) { key_ = std::move(key); }
  bool ok() const { return problem_.empty(); }
  Status status() const { return ok() ? Status::OK() : DamagedRow(row_, table_, key_, problem_); }

 private:
  bool Is(int c, const char* col, Stmt::Type want) {
    if (row_.TypeOf(c) == want) return true;
    Fail(std::string(col) + " holds a value of the wrong type");
    return false;
  }
  void Fail(const std::string& what) {
    if (problem_.empty()) problem_ = what;
  }
  const Stmt& row_;
  const char* table_;
  std::string key_, problem_;
};

}  // namespace

Status DamagedRow(const Stmt& row, const std::string& table, const std::string& key, const std::string& what) {
  std::string where = table + " row" + (key.empty() ? "" : " '" + Printable(key) + "'");
  return Status::IOError("the state database " + row.db_path() + " is damaged: " + where + ": " + what +
                         "; " + DamagedDatabaseHint(row.db_path()));
}

std::string DamageDetail(const Status& status) {
  const std::string& m = status.message();
  size_t from = m.find(" is damaged: ");
  if (from == std::string::npos) return m;
  from += 13;
  size_t to = m.find("; keep a copy of ", from);
  return m.substr(from, to == std::string::npos ? std::string::npos : to - from);
}

const char* ExecutionName(Execution execution) {
  return execution == Execution::kLocal ? "local" : "server";
}

Result<RunRecord> DecodeRun(const Stmt& row) {
  RowReader r(row, "runs");
  RunRecord run;
  run.id = r.Text(0, "id");
  r.Key(run.id);
  r.Check(!run.id.empty(), "id is empty");
  run.plan_path = r.Text(1, "plan_path", /*utf8=*/false);
  run.plan_name = r.Text(2, "plan_name");
  run.plan_digest = r.Text(3, "plan_digest");
  run.params = r.Json(4, "params", /*nullable=*/false);
  std::string execution = r.Text(5, "execution");
  r.Check(execution == "server" || execution == "local",
          "execution '" + Printable(execution) + "' is not one this sogni-flow knows");
  run.execution = execution == "local" ? Execution::kLocal : Execution::kServer;
  run.status = r.Name<RunStatus>(kRunStatusNames, 6, "status");
  run.waiting_reason = r.Text(7, "waiting_reason");
  run.workflow_id = r.OptText(8, "workflow_id");
  run.account = r.Text(9, "account");
  r.Check(run.account.size() <= 16 && IsLowerHex(run.account), "account is not a key fingerprint");
  run.out_dir = r.Text(10, "out_dir", /*utf8=*/false);
  run.error = r.Json(11, "error", /*nullable=*/true);
  run.created_at = r.Int(12, "created_at");
  run.updated_at = r.Int(13, "updated_at");
  run.cursor = r.Int(14, "cursor", -1);
  run.api_url = r.Text(15, "api_url");
  run.cancel_requested_at = r.Int(16, "cancel_requested_at", 0);
  run.spec = r.Json(17, "spec", /*nullable=*/true);
  if (!r.ok()) return r.status();
  return run;
}

Result<StepRecord> DecodeStep(const Stmt& row) {
  RowReader r(row, "steps");
  StepRecord s;
  s.step_id = r.Text(0, "step_id");
  r.Key(s.step_id);
  s.tool = r.Text(1, "tool");
  s.status = r.Name<RunStatus>(kRunStatusNames, 2, "status");
  s.seed = r.OptInt(3, "seed");
  s.artifact_count = r.Int(4, "artifact_count", 0);
  s.remote_id = r.Text(5, "remote_id");
  s.error = r.Json(6, "error", /*nullable=*/true);
  s.updated_at = r.Int(7, "updated_at");
  s.units = r.OptReal(8, "units");
  s.arguments_digest = r.Text(9, "arguments_digest");
  if (!r.ok()) return r.status();
  return s;
}

Result<ProjectRecord> DecodeProject(const Stmt& row) {
  RowReader r(row, "projects");
  ProjectRecord p;
  p.project_id = r.Text(0, "project_id");
  r.Key(p.project_id);
  p.run_id = r.Text(1, "run_id");
  p.step_id = r.Text(2, "step_id");
  p.app_id = r.Text(3, "app_id");
  p.request = r.Text(4, "request");
  r.Json(4, "request", /*nullable=*/false);
  p.cache_key = r.Text(5, "cache_key");
  p.state = r.Name<ProjectState>(kProjectStateNames, 6, "state");
  p.quote = r.OptReal(7, "quote");
  p.quote_usd = r.OptReal(8, "quote_usd");
  p.token_type = r.Text(9, "token_type");
  p.charge = r.OptReal(10, "charge");
  p.error = r.Json(11, "error", /*nullable=*/true);
  p.created_at = r.Int(12, "created_at");
  p.updated_at = r.Int(13, "updated_at");
  if (!r.ok()) return r.status();
  return p;
}

Result<IntentRecord> DecodeIntent(const Stmt& row) {
  RowReader r(row, "intents");
  IntentRecord i;
  i.id = r.Text(0, "id");
  r.Key(i.id);
  i.run_id = r.Text(1, "run_id");
  i.kind = r.Name<IntentKind>(kIntentKindNames, 2, "kind");
  i.idempotency_key = r.Text(3, "idempotency_key");
  r.Check(!i.idempotency_key.empty() && i.idempotency_key.size() <= 255, "idempotency_key has a bad length");
  i.request = r.Text(4, "request");
  r.Json(4, "request", /*nullable=*/false);
  i.state = r.Name<IntentState>(kIntentStateNames, 5, "state");
  i.response = r.OptText(6, "response");
  if (!i.response.empty()) r.Json(6, "response", /*nullable=*/true);
  i.created_at = r.Int(7, "created_at");
  i.updated_at = r.Int(8, "updated_at");
  if (!r.ok()) return r.status();
  return i;
}

Result<ArtifactRecord> DecodeArtifact(const Stmt& row) {
  RowReader r(row, "artifacts");
  ArtifactRecord a;
  a.step_id = r.Text(0, "step_id");
  a.index = r.Int(1, "idx", 0);
  a.remote_id = r.Text(2, "remote_id");
  r.Key(a.remote_id);
  a.url = r.Text(3, "url");
  a.kind = ParseMediaKind(r.Text(4, "kind")).value_or(MediaKind::kUnknown);
  a.state = r.Name<ArtifactState>(kArtifactStateNames, 5, "state");
  a.local_path = r.Text(6, "local_path", /*utf8=*/false);
  a.size = r.Int(7, "size", 0);
  a.sha256 = r.Text(8, "sha256");
  a.updated_at = r.Int(9, "updated_at");
  r.Check(a.state != ArtifactState::kDone || (!a.local_path.empty() && a.sha256.size() == 64),
          "done without a local path and a sha256");
  if (!r.ok()) return r.status();
  return a;
}

Status DecodeChunkRow(const Stmt& row, int64_t after, std::vector<EventRecord>* out) {
  RowReader r(row, "event_chunks");
  const int64_t first = r.Int(0, "first_sequence", 0);
  r.Key(std::to_string(first));
  const int64_t last = r.Int(1, "last_sequence", first);
  const int64_t count = r.Int(2, "count", 1);
  const std::string body = r.Text(3, "body", /*utf8=*/false);
  if (!r.ok()) return r.status();
  const size_t before = out->size();
  Status s = DecodeChunk(body, first, last, count, after, out);
  if (s.ok()) return s;
  out->resize(before);
  return DamagedRow(row, "event_chunks", std::to_string(first), s.message());
}

Status InvalidCall(const std::string& what) { return Status::Internal("run store: " + what); }

std::optional<std::string> JsonOrNull(const Value& v) {
  if (v.is_null()) return std::nullopt;
  return v.ToJson();
}

}  // namespace sflow
