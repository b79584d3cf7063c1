// Fuzz target: param files and -p values (plans/plan_loader.h LoadParamFile's reader, then
// engine/params.h ResolveParams) against a fixed plan with a param of every type.
// The input is read as a --param-file (YAML or JSON); each of its first lines that holds '=' is
// also a -p assignment. Checked: nothing crashes; every problem has a message; every value that
// resolution returns fits its spec (CheckParamValue), whatever the sources said; text converted
// by ParseParamText has the spec's type.
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "engine/params.h"
#include "plans/plan_loader.h"
#include "plans/yaml_reader.h"
#include "tests/fuzz/fuzz_util.h"

namespace {

using sflow::fuzz::Check;

constexpr char kPlan[] = R"(version: 1
name: params
params:
  title: {type: string, pattern: "^[a-z0-9][a-z0-9-]{2,39}$", default: demo-run}
  count: {type: integer, minimum: 1, maximum: 8, default: 2}
  strength: {type: number, minimum: 0.3, maximum: 0.9}
  hd: {type: boolean, default: false}
  style: {type: enum, values: [photo, sketch, 3]}
  free: {type: string}
steps:
  - {id: a, toolName: generate_image, arguments: {prompt: "${params.free}"}}
)";

const sflow::Plan& FixedPlan() {
  static const std::unique_ptr<sflow::Plan> plan = [] {
    sflow::DiagnosticList diags("params.yaml");
    sflow::Result<sflow::Plan> p = sflow::LoadPlanFromText("/nonexistent-sflow-fuzz/params.yaml", kPlan, &diags);
    Check(p.ok(), "the fixed plan does not load");
    return std::make_unique<sflow::Plan>(std::move(p).value());
  }();
  return *plan;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const sflow::Plan& plan = FixedPlan();
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  sflow::ParamSources sources;
  sflow::DiagnosticList diags("fuzz.params.yaml");
  sflow::Result<sflow::Value> file = sflow::ParseYaml(text, sflow::YamlLimits(), &diags);
  if (file.ok() && file->is_object()) sources.files.push_back({"fuzz.params.yaml", std::move(file).value()});
  size_t at = 0;
  for (int line = 0; line < 6 && at < text.size(); ++line) {
    size_t end = text.find('\n', at);
    if (end == std::string_view::npos) end = text.size();
    std::string_view l = text.substr(at, end - at);
    if (l.find('=') != std::string_view::npos) sources.assignments.emplace_back(l);
    at = end + 1;
  }
  sflow::ParamValues values = sflow::ResolveParams(plan, sources, &diags);
  for (const auto& [name, value] : values) {
    const sflow::ParamSpec* spec = plan.FindParam(name);
    Check(spec != nullptr, "a resolved value for a param the plan does not have");
    Check(sflow::CheckParamValue(*spec, value).empty(), "a resolved value does not fit its spec");
  }
  for (const sflow::Diagnostic& d : diags.Sorted()) Check(!d.message.empty(), "a problem without a message");

  const std::string raw(text.substr(0, 256));
  for (const sflow::ParamSpec& spec : plan.params) {
    std::string error;
    sflow::Value v = sflow::ParseParamText(spec, raw, &error);
    if (!error.empty()) continue;
    switch (spec.type) {
      case sflow::ParamSpec::Type::kString: Check(v.is_string(), "string text not a string"); break;
      case sflow::ParamSpec::Type::kInteger: Check(v.is_int(), "integer text not an integer"); break;
      case sflow::ParamSpec::Type::kNumber: Check(v.is_number(), "number text not a number"); break;
      case sflow::ParamSpec::Type::kBoolean: Check(v.is_bool(), "boolean text not a boolean"); break;
      case sflow::ParamSpec::Type::kEnum: break;
    }
    (void)sflow::CheckParamValue(spec, v);
  }
  return 0;
}
