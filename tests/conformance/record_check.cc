// Checks every record the conformance run captured from the sandbox against the official schemas
// of the pinned @sogni-ai/sogni-protocol package (compiled into sogni-flow):
//   event-*.json     schemas/events/workflow-event.schema.json
//   artifact-*.json  schemas/events/artifact-reference.schema.json (also every artifact inside a
//                    workflow record, and inside events)
//   workflow-*.json  schemas/workflows/durable-workflow-run.schema.json, after removing the fields
//                    the live record carries beyond the PROTO contract (the SDK's
//                    CreativeWorkflowRecord fields and the per-step state the docs describe; the
//                    list is kExtensions below and docs/sandbox.md); a record's `error` and each
//                    step's `error` against schemas/errors/error.schema.json
//   error-*.json     the API's error envelope, {status:"error", message, errorCode[, retryAfter,
//                    details]} (the SDK's ApiErrorResponse: the protocol has no schema for it)
//   template-*.json  the SDK's WorkflowTemplate (string id and name, as the SDK filters them)
// Usage: sflow_record_check CAPTURE_DIR   (exit 0 when every file conforms, 1 otherwise)
#include <filesystem>
#include <fstream>
#include <iostream>
#include <map>
#include <sstream>

#include <Poco/JSON/Parser.h>
#include <valijson/adapters/poco_json_adapter.hpp>
#include <valijson/schema.hpp>
#include <valijson/schema_parser.hpp>
#include <valijson/validation_results.hpp>
#include <valijson/validator.hpp>

#include "engine/json.h"
#include "schemas/poco_json.h"
#include "schemas/protocol_catalog.h"

namespace sflow {
namespace {

// Fields of the live workflow record beyond durable-workflow-run.schema.json (sources in
// docs/api-contract.md section 2.2): the SDK type's waitingReason, awaitingCostApproval,
// safeContentFilter, createdAt/updatedAt/createTime/updateTime, billingPreview, error; and the
// reseed's clonedFromRunId.
const char* kExtensions[] = {"waitingReason", "awaitingCostApproval", "safeContentFilter", "createdAt", "updatedAt",
                             "createTime",    "updateTime",           "billingPreview",    "error",     "clonedFromRunId"};
// Per-step runtime state beyond the plan shape (DOCS: workflow.steps[i].artifacts).
const char* kStepExtensions[] = {"status", "artifacts", "cost", "seed", "error"};

class Checker {
 public:
  bool Load() {
    for (const char* path : {"schemas/events/workflow-event.schema.json", "schemas/events/artifact-reference.schema.json",
                             "schemas/workflows/durable-workflow-run.schema.json", "schemas/errors/error.schema.json"}) {
      const char* text = ProtocolCatalog::PackageFile(path);
      if (!text) return std::cerr << "missing embedded schema " << path << "\n", false;
      Poco::JSON::Parser parser;
      Poco::Dynamic::Var doc = parser.parse(text);
      valijson::adapters::PocoJsonAdapter adapter(doc);
      valijson::SchemaParser sp(valijson::SchemaParser::kDraft7);
      sp.populateSchema(adapter, schemas_[path]);
    }
    return true;
  }

  // Appends a problem per violation of `schema` by `v`.
  void Validate(const std::string& file, const std::string& where, const char* schema, const Value& v) {
    ++checked_;
    Poco::Dynamic::Var doc = ToPocoVar(v);
    valijson::adapters::PocoJsonAdapter adapter(doc);
    valijson::Validator validator;
    valijson::ValidationResults results;
    if (validator.validate(schemas_.at(schema), adapter, &results)) return;
    valijson::ValidationResults::Error e;
    while (results.popError(e)) {
      std::string ctx;
      for (const std::string& c : e.context) ctx += c;
      Problem(file, where + " " + ctx + ": " + e.description + " (" + schema + ")");
    }
  }

  void Problem(const std::string& file, const std::string& what) {
    ++problems_;
    std::cerr << file << ": " << what << "\n";
  }

  void CheckArtifactsIn(const std::string& file, const Value& v, const std::string& where) {
    if (const Value* arts = v.Find("artifacts"); arts && arts->is_array())
      for (size_t i = 0; i < arts->items().size(); ++i)
        Validate(file, where + "artifacts[" + std::to_string(i) + "]", "schemas/events/artifact-reference.schema.json",
                 arts->items()[i]);
    if (const Value* a = v.Find("artifact"); a && a->is_object())
      Validate(file, where + "artifact", "schemas/events/artifact-reference.schema.json", *a);
  }

  void CheckWorkflow(const std::string& file, const Value& w) {
    Value core = w;
    for (const char* k : kExtensions) core.Erase(k);
    if (Value* steps = core.Find("steps"); steps && steps->is_array())
      for (Value& s : steps->items())
        for (const char* k : kStepExtensions) s.Erase(k);
    Validate(file, "record", "schemas/workflows/durable-workflow-run.schema.json", core);
    CheckArtifactsIn(file, w, "");
    if (const Value* e = w.Find("error"); e && !e->is_null()) Validate(file, "error", "schemas/errors/error.schema.json", *e);
    if (const Value* steps = w.Find("steps"); steps && steps->is_array())
      for (size_t i = 0; i < steps->items().size(); ++i) {
        const Value& s = steps->items()[i];
        CheckArtifactsIn(file, s, "steps[" + std::to_string(i) + "].");
        if (const Value* e = s.Find("error"); e && !e->is_null())
          Validate(file, "steps[" + std::to_string(i) + "].error", "schemas/errors/error.schema.json", *e);
      }
  }

  void CheckErrorEnvelope(const std::string& file, const Value& e) {
    ++checked_;
    const Value* status = e.Find("status");
    const Value* message = e.Find("message");
    const Value* code = e.Find("errorCode");
    if (!status || !status->is_string() || status->as_string() != "error") Problem(file, "status is not \"error\"");
    if (!message || !message->is_string() || message->as_string().empty()) Problem(file, "no message");
    if (!code || !code->is_number()) Problem(file, "errorCode is not a number");
    if (const Value* r = e.Find("retryAfter"); r && !r->is_number()) Problem(file, "retryAfter is not a number");
    for (const Value::Member& m : e.members())
      if (m.key != "status" && m.key != "message" && m.key != "errorCode" && m.key != "retryAfter" && m.key != "details")
        Problem(file, "unexpected field '" + m.key + "' in the error envelope");
  }

  int Run(const std::string& dir) {
    std::map<std::string, int> by_kind;
    for (const auto& entry : std::filesystem::directory_iterator(dir)) {
      std::string name = entry.path().filename().string();
      if (entry.path().extension() != ".json") continue;
      std::string kind = name.substr(0, name.find('-'));
      std::ifstream in(entry.path());
      std::stringstream ss;
      ss << in.rdbuf();
      Result<Value> v = ParseJson(ss.str(), JsonLimits{256});
      if (!v.ok()) {
        Problem(name, "not JSON: " + v.status().message());
        continue;
      }
      ++by_kind[kind];
      if (kind == "event") {
        Validate(name, "event", "schemas/events/workflow-event.schema.json", *v);
        if (const Value* d = v->Find("data"); d && d->is_object()) CheckArtifactsIn(name, *d, "data.");
      } else if (kind == "artifact") {
        Validate(name, "artifact", "schemas/events/artifact-reference.schema.json", *v);
      } else if (kind == "workflow") {
        CheckWorkflow(name, *v);
      } else if (kind == "error") {
        CheckErrorEnvelope(name, *v);
      } else if (kind == "template") {
        ++checked_;
        if (!v->Find("id") || !v->Find("id")->is_string() || !v->Find("name") || !v->Find("name")->is_string())
          Problem(name, "a template needs string id and name");
      }
    }
    std::cout << "record_check:";
    for (const auto& [kind, n] : by_kind) std::cout << " " << n << " " << kind;
    std::cout << "; " << checked_ << " checks, " << problems_ << " problems\n";
    if (by_kind["workflow"] == 0 || by_kind["event"] == 0) {
      std::cerr << "record_check: nothing to check in " << dir << "\n";
      return 1;
    }
    return problems_ == 0 ? 0 : 1;
  }

 private:
  std::map<std::string, valijson::Schema> schemas_;
  int checked_ = 0, problems_ = 0;
};

}  // namespace
}  // namespace sflow

int main(int argc, char** argv) {
  if (argc != 2) {
    std::cerr << "usage: sflow_record_check CAPTURE_DIR\n";
    return 2;
  }
  sflow::Checker checker;
  if (!checker.Load()) return 1;
  return checker.Run(argv[1]);
}
