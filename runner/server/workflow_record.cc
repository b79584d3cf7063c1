#include "runner/server/workflow_record.h"

#include <map>
#include <set>

#include "runner/sha256.h"

namespace sflow {

namespace {

// The capacity units a step reports. The contract (durable-workflow-step) has cost{estimate,
// actual} with `actual` untyped, so every spelling seen is accepted. Unknown: nullopt.
std::optional<double> StepUnits(const Value& step) {
  const Value* cost = step.is_object() ? step.Find("cost") : nullptr;
  if (!cost || !cost->is_object()) return std::nullopt;
  if (const Value* actual = cost->Find("actual")) {
    if (actual->is_number()) return actual->as_number();
    if (const Value* u = actual->is_object() ? actual->Find("capacityUnits") : nullptr; u && u->is_number())
      return u->as_number();
  }
  if (const Value* u = cost->Find("capacityUnits"); u && u->is_number()) return u->as_number();
  return std::nullopt;
}

}  // namespace

std::optional<RunStatus> WireStatus(std::string s) {
  if (s == "canceled") s = "cancelled";
  if (s == "pending") s = "queued";
  return ParseName<RunStatus>(kRunStatusNames, s);
}

std::string ArgumentsDigest(const Value& step) {
  const Value* args = step.is_object() ? step.Find("arguments") : nullptr;
  if (!args || !args->is_object()) return "";
  Value effective = *args;
  if (const Value* seed = step.Find("seed"); seed && seed->is_int()) effective.Set("seed", *seed);
  return Sha256Hex(effective.ToJson(/*sort_keys=*/true));
}

bool AwaitsCostApproval(const Value& w) {
  const Value* aca = w.is_object() ? w.Find("awaitingCostApproval") : nullptr;
  return (aca && aca->is_bool() && aca->as_bool()) || w.StringAt("waitingReason") == "cost_approval_required";
}

Result<RunUpdate> RecordUpdate(const Value& w) {
  std::string wire = w.StringAt("status");
  std::optional<RunStatus> st = WireStatus(wire);
  if (!st) return Status::Internal("the workflow record has an unknown status '" + wire + "'");
  RunUpdate update{.status = *st, .waiting_reason = w.StringAt("waitingReason")};
  if (const Value* e = w.Find("error"); e && e->is_object()) update.error = *e;
  std::set<std::string> seen;
  auto add_artifact = [&](const Value& a, const std::string& step, int64_t index) {
    std::string id = a.StringAt("id");
    if (id.empty() || !seen.insert(id).second) return;
    ArtifactRecord rec{.step_id = step, .index = index, .remote_id = id, .url = a.StringAt("url")};
    rec.kind = ParseMediaKind(a.StringAt("kind")).value_or(MediaKind::kUnknown);
    update.artifacts.push_back(std::move(rec));
  };
  if (const Value* steps = w.Find("steps"); steps && steps->is_array()) {
    for (const Value& s : steps->items()) {
      std::string sid = s.StringAt("id");
      if (sid.empty()) continue;
      int64_t n = 0;
      if (const Value* arts = s.Find("artifacts"); arts && arts->is_array())
        for (const Value& a : arts->items()) add_artifact(a, sid, n++);
      std::optional<RunStatus> ss = WireStatus(s.StringAt("status"));
      if (!ss) continue;
      StepRecord step{.step_id = sid, .tool = s.StringAt("toolName"), .status = *ss, .artifact_count = n};
      if (const Value* seed = s.Find("seed"); seed && seed->is_int()) step.seed = seed->as_int();
      if (const Value* e = s.Find("error"); e && e->is_object()) step.error = *e;
      step.units = StepUnits(s);
      step.arguments_digest = ArgumentsDigest(s);
      update.steps.push_back(std::move(step));
    }
  }
  if (const Value* arts = w.Find("artifacts"); arts && arts->is_array()) {
    std::map<std::string, int64_t> next;
    for (const ArtifactRecord& a : update.artifacts) next[a.step_id] = std::max(next[a.step_id], a.index + 1);
    for (const Value& a : arts->items()) {
      std::string step = a.StringAt("stepId");
      if (step.empty()) step = "_";
      if (!seen.count(a.StringAt("id"))) add_artifact(a, step, next[step]++);
    }
  }
  return update;
}

}  // namespace sflow
