// Validation throughput: loads and validates generated local plans of 1,000 to 10,000 steps and
// prints the time per size and the growth factor. Target: 10,000 steps in under 1 s.
//   compact: flow-style steps, one in four with a dependency, so that 10,000 steps fit in the
//            1 MiB plan cap: exactly what `sogni-flow validate` accepts;
//   rich:    block-style steps with realistic arguments, params, interpolation, a chain and fan-in
//            (about 300 bytes a step, so the cap is raised to 8 MiB for this run).
//   validate_bench [MAX_STEPS]
#include <sys/resource.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <string>

#include "engine/estimate.h"
#include "engine/validate.h"
#include "plans/plan_loader.h"
#include "schemas/protocol_catalog.h"

namespace {

std::string MakeCompactPlan(int steps) {
  std::string y = "version: 1\nname: bench\nexecution: local\nsteps:\n";
  for (int i = 0; i < steps; ++i) {
    y += "- {id: s" + std::to_string(i) + ", toolName: generate_image, arguments: {prompt: p" + std::to_string(i) + "}";
    if (i % 4 == 3)
      y += ", dependsOn: [{sourceStepId: s" + std::to_string(i - 1) +
           ", targetArgument: sourceImageIndex, transform: image_index}]";
    y += "}\n";
  }
  return y;
}

std::string MakeRichPlan(int steps) {
  std::string y = "version: 1\nname: bench\nexecution: local\nparams:\n"
                  "  subject: {type: string, default: lamp}\n  seconds: {type: integer, default: 5}\nsteps:\n";
  for (int i = 0; i < steps; ++i) {
    std::string id = "s" + std::to_string(i);
    if (i % 3 == 2) {
      y += "  - id: " + id + "\n    toolName: generate_video\n    arguments: {prompt: \"orbit of ${params.subject} " +
           std::to_string(i) + "\", duration: \"${params.seconds}\", videoModel: ltx23}\n";
    } else {
      y += "  - id: " + id + "\n    toolName: generate_image\n    arguments: {prompt: \"render ${params.subject} " +
           std::to_string(i) + "\", numberOfVariations: 2, seed: " + std::to_string(i) + ", width: 1024, height: 1024}\n";
    }
    if (i > 0) {
      y += "    dependsOn:\n";
      std::string prev = "s" + std::to_string(i - 1);
      const char* target = i % 3 == 2 ? "referenceImageIndices" : "sourceImageIndex";
      // Sources are always image steps (every third step is a video).
      std::string src = (i - 1) % 3 == 2 ? "s" + std::to_string(i - 2) : prev;
      y += "      - {sourceStepId: " + src + ", sourceArtifactIndex: 1, targetArgument: " + target +
           ", mediaType: image, transform: image_index}\n";
      int fan = (i - 9) % 3 == 2 ? i - 8 : i - 9;  // fan-in from an earlier image step
      if (i % 10 == 0 && i >= 10)
        y += "      - {sourceStepId: s" + std::to_string(fan) + ", targetArgument: " + target +
             ", transform: image_index}\n";
    }
  }
  return y;
}

double RunOnce(const sflow::ToolCatalog& catalog, const std::string& path, int steps,
               const sflow::YamlLimits& limits, size_t* diags_out) {
  auto t0 = std::chrono::steady_clock::now();
  sflow::DiagnosticList diags(path);
  sflow::Result<sflow::Plan> plan = sflow::LoadPlan(path, &diags, limits);
  if (!plan.ok()) {
    for (const auto& d : diags.Sorted()) std::fprintf(stderr, "%s\n", sflow::FormatDiagnostic(d).c_str());
    std::exit(1);
  }
  sflow::PlanAnalysis a = sflow::ValidatePlan(&plan.value(), catalog, sflow::ParamSources(), sflow::ValidateOptions(), &diags);
  sflow::PlanEstimate e = sflow::EstimatePlan(*plan, a);
  auto t1 = std::chrono::steady_clock::now();
  *diags_out = static_cast<size_t>(diags.error_count());
  if (diags.has_errors() || static_cast<int>(e.steps.size()) != steps) {
    for (const auto& d : diags.Sorted()) std::fprintf(stderr, "%s\n", sflow::FormatDiagnostic(d).c_str());
    std::exit(1);
  }
  return std::chrono::duration<double, std::milli>(t1 - t0).count();
}

}  // namespace

int main(int argc, char** argv) {
  int max_steps = argc > 1 ? std::atoi(argv[1]) : 10000;
  auto catalog = std::move(sflow::ProtocolCatalog::Load()).value();
  for (bool compact : {true, false}) {
    sflow::YamlLimits limits;
    if (!compact) limits.max_bytes = 8 << 20;
    std::printf("%s plans%s\n", compact ? "compact" : "rich", compact ? " (within the default 1 MiB cap)" : " (cap raised to 8 MiB)");
    std::printf("%8s %10s %10s %10s\n", "steps", "bytes", "best ms", "ms/step");
    double first = 0;
    for (int steps : {1000, 2000, 5000, 10000}) {
      if (steps > max_steps) break;
      std::string path = "/tmp/sflow-bench-" + std::to_string(steps) + ".yaml";
      std::string text = compact ? MakeCompactPlan(steps) : MakeRichPlan(steps);
      std::ofstream(path) << text;
      double best = 1e18;
      size_t errors = 0;
      for (int rep = 0; rep < 3; ++rep) best = std::min(best, RunOnce(*catalog, path, steps, limits, &errors));
      std::remove(path.c_str());
      std::printf("%8d %10zu %10.1f %10.4f\n", steps, text.size(), best, best / steps);
      if (!first) first = best;
      if (steps == 10000) std::printf("growth 1,000 -> 10,000 steps: x%.1f time for x10 steps\n", best / first);
    }
    std::printf("\n");
  }
  struct rusage ru{};
  getrusage(RUSAGE_SELF, &ru);
  std::printf("peak RSS: %.1f MiB\n", ru.ru_maxrss / 1024.0);
  return 0;
}
