#include "store/run_rows.h"

#include "engine/json.h"

namespace sflow {

namespace {

Status Foreign(const std::string& what) {
  return Status::IOError("state database holds " + what +
                         " that this sogni-flow does not understand (corrupt or foreign file?)");
}

template <typename E, size_t N>
Status DecodeName(const char* const (&names)[N], const std::string& text, const char* what,
                  E* out) {
  std::optional<E> e = ParseName<E>(names, text);
  if (!e) return Foreign(std::string("an unknown ") + what + " '" + text + "'");
  *out = *e;
  return Status::OK();
}

// NULL -> a null Value.
Status DecodeJson(const Stmt& row, int column, const char* what, Value* out) {
  if (row.IsNull(column)) {
    *out = Value();
    return Status::OK();
  }
  Result<Value> v = ParseJson(row.Text(column));
  if (!v.ok()) return Foreign(std::string("malformed JSON in ") + what);
  *out = std::move(*v);
  return Status::OK();
}

}  // namespace

const char* ExecutionName(Execution execution) {
  return execution == Execution::kLocal ? "local" : "server";
}

Result<RunRecord> DecodeRun(const Stmt& row) {
  RunRecord r;
  r.id = row.Text(0);
  r.plan_path = row.Text(1);
  r.plan_name = row.Text(2);
  r.plan_digest = row.Text(3);
  if (Status s = DecodeJson(row, 4, "run params", &r.params); !s.ok()) return s;
  std::string execution = row.Text(5);
  if (execution != "server" && execution != "local") {
    return Foreign("an unknown execution '" + execution + "'");
  }
  r.execution = execution == "local" ? Execution::kLocal : Execution::kServer;
  if (Status s = DecodeName(kRunStatusNames, row.Text(6), "run status", &r.status); !s.ok()) {
    return s;
  }
  r.waiting_reason = row.Text(7);
  r.workflow_id = row.Text(8);
  r.account = row.Text(9);
  r.out_dir = row.Text(10);
  if (Status s = DecodeJson(row, 11, "a run error", &r.error); !s.ok()) return s;
  r.created_at = row.Int(12);
  r.updated_at = row.Int(13);
  r.cursor = row.Int(14);
  r.api_url = row.Text(15);
  return r;
}

Result<StepRecord> DecodeStep(const Stmt& row) {
  StepRecord s;
  s.step_id = row.Text(0);
  s.tool = row.Text(1);
  if (Status st = DecodeName(kRunStatusNames, row.Text(2), "step status", &s.status); !st.ok()) {
    return st;
  }
  s.seed = row.OptInt(3);
  s.artifact_count = row.Int(4);
  s.remote_id = row.Text(5);
  if (Status st = DecodeJson(row, 6, "a step error", &s.error); !st.ok()) return st;
  s.updated_at = row.Int(7);
  s.units = row.OptDouble(8);
  s.arguments_digest = row.Text(9);
  return s;
}

Result<IntentRecord> DecodeIntent(const Stmt& row) {
  IntentRecord i;
  i.id = row.Text(0);
  i.run_id = row.Text(1);
  if (Status s = DecodeName(kIntentKindNames, row.Text(2), "intent kind", &i.kind); !s.ok()) {
    return s;
  }
  i.idempotency_key = row.Text(3);
  i.request = row.Text(4);
  if (Status s = DecodeName(kIntentStateNames, row.Text(5), "intent state", &i.state); !s.ok()) {
    return s;
  }
  i.response = row.Text(6);
  i.created_at = row.Int(7);
  i.updated_at = row.Int(8);
  return i;
}

Result<ArtifactRecord> DecodeArtifact(const Stmt& row) {
  ArtifactRecord a;
  a.step_id = row.Text(0);
  a.index = row.Int(1);
  a.remote_id = row.Text(2);
  a.url = row.Text(3);
  a.kind = ParseMediaKind(row.Text(4)).value_or(MediaKind::kUnknown);
  if (Status s = DecodeName(kArtifactStateNames, row.Text(5), "artifact state", &a.state);
      !s.ok()) {
    return s;
  }
  a.local_path = row.Text(6);
  a.size = row.Int(7);
  a.sha256 = row.Text(8);
  a.updated_at = row.Int(9);
  return a;
}

}  // namespace sflow
