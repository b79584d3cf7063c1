// Fuzz target: bytes -> safe YAML reader -> plan loader -> validator -> estimate.
// Whatever the input, this must neither crash nor hang nor leak, and every error it reports
// must carry a message. Built with libFuzzer when clang is available (tests/fuzz/CMakeLists.txt),
// and driven by a deterministic mutator in every test run (tests/fuzz_smoke/).
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <memory>
#include <string_view>

#include "engine/estimate.h"
#include "engine/validate.h"
#include "plans/plan_loader.h"
#include "schemas/protocol_catalog.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static std::unique_ptr<sflow::ProtocolCatalog> catalog = std::move(sflow::ProtocolCatalog::Load()).value();
  std::string_view text(reinterpret_cast<const char*>(data), size);
  sflow::DiagnosticList diags("fuzz.yaml");
  // A directory that does not exist: media paths resolve to nothing, so no real file is read.
  sflow::Result<sflow::Plan> plan = sflow::LoadPlanFromText("/nonexistent-sflow-fuzz/fuzz.yaml", text, &diags);
  if (plan.ok()) {
    sflow::ParamSources sources;
    sflow::PlanAnalysis analysis = sflow::ValidatePlan(&plan.value(), *catalog, sources, sflow::ValidateOptions(), &diags);
    (void)sflow::EstimatePlan(*plan, analysis);
  }
  for (const sflow::Diagnostic& d : diags.Sorted()) {
    if (d.message.empty()) std::abort();
    (void)sflow::FormatDiagnostic(d);
  }
  return 0;
}
