// Validation throughput: loads and validates generated local plans of 1,000 to 20,000 steps and
// prints the time per size and whether the time per step stays flat (linear in steps).
//   compact: flow-style steps, one in four with a dependency, so that 10,000 steps fit in the
//            1 MiB plan cap: exactly what `sogni-flow validate` accepts;
//   rich:    block-style steps with realistic arguments, params, interpolation, a chain and fan-in
//            (about 300 bytes a step, so the cap is raised to 8 MiB for this run).
//   validate_bench [MAX_STEPS]
//   validate_bench --write-capped FILE   (the largest rich plan within the 1 MiB cap, for timing
//                                         `sogni-flow validate` through the binary; scripts/bench)
#include <sys/resource.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <string>

#include "api/tool_projects.h"
#include "engine/estimate.h"
#include "engine/validate.h"
#include "plans/plan_loader.h"
#include "schemas/protocol_catalog.h"

namespace {

std::string MakeCompactPlan(int steps) {
  std::string y = "version: 1\nname: bench\nexecution: local\nsteps:\n";
  for (int i = 0; i < steps; ++i) {
    y += "- {id: s" + std::to_string(i) + ", toolName: generate_image, arguments: {prompt: p" + std::to_string(i) +
         (i % 4 == 3 ? ", starting_image_strength: 0.75}" : "}");
    if (i % 4 == 3)
      y += ", dependsOn: [{sourceStepId: s" + std::to_string(i - 1) +
           ", targetArgument: sourceImageIndex, transform: image_index}]";
    y += "}\n";
  }
  return y;
}

// Every tenth step from 10 on is a fan-in project step; of the others every third is a video.
bool IsFanIn(int i) { return i >= 10 && i % 10 == 0; }
bool IsVideo(int i) { return !IsFanIn(i) && i % 3 == 2; }

// A plan `sogni-flow validate` accepts, local direct-project checks included: image chains
// through sourceImageIndex, videos from one reference image, and fan-in of three images through
// contextImages, with params and interpolation throughout.
std::string MakeRichPlan(int steps) {
  std::string y = "version: 1\nname: bench\nexecution: local\nparams:\n"
                  "  subject: {type: string, default: lamp}\n  seconds: {type: integer, default: 5}\nsteps:\n";
  for (int i = 0; i < steps; ++i) {
    std::string id = "s" + std::to_string(i);
    std::string prev = "s" + std::to_string(IsVideo(i - 1) ? i - 2 : i - 1);  // an image step
    bool prev_is_tool = !IsFanIn(IsVideo(i - 1) ? i - 2 : i - 1);
    if (IsFanIn(i)) {
      y += "  - id: " + id + "\n    project:\n      type: image\n      modelId: flux1-schnell-fp8\n"
           "      positivePrompt: \"contact sheet of ${params.subject} " + std::to_string(i) + "\"\n"
           "      steps: 4\n      width: 768\n      height: 512\n      seed: " + std::to_string(i) + "\n"
           "    dependsOn:\n";
      int found = 0;
      for (int j = i - 1; found < 3; --j) {
        if (IsVideo(j)) continue;
        y += "      - {sourceStepId: s" + std::to_string(j) + ", targetArgument: contextImages, transform: image_url}\n";
        ++found;
      }
      continue;
    }
    if (IsVideo(i)) {
      y += "  - id: " + id + "\n    toolName: generate_video\n    arguments: {prompt: \"orbit of ${params.subject} " +
           std::to_string(i) + "\", duration: \"${params.seconds}\", videoModel: ltx23}\n";
    } else {
      y += "  - id: " + id + "\n    toolName: generate_image\n    arguments: {prompt: \"render ${params.subject} " +
           std::to_string(i) + "\", numberOfVariations: 2, seed: " + std::to_string(i) + ", width: 1024, height: 1024" +
           (i > 0 ? ", starting_image_strength: 0.75" : "") + "}\n";
    }
    if (i > 0) {
      const char* target = IsVideo(i) ? "referenceImageIndices" : "sourceImageIndex";
      y += "    dependsOn:\n      - {sourceStepId: " + prev + (prev_is_tool ? ", sourceArtifactIndex: 1" : "") +
           ", targetArgument: " + std::string(target) + ", mediaType: image, transform: image_index}\n";
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
  sflow::CheckLocalToolSteps(*plan, a, &diags);  // what `sogni-flow validate` adds for local plans
  sflow::PlanEstimate e = sflow::EstimatePlan(*plan, a);
  auto t1 = std::chrono::steady_clock::now();
  *diags_out = static_cast<size_t>(diags.error_count());
  if (diags.has_errors() || static_cast<int>(e.steps.size()) != steps) {
    for (const auto& d : diags.Sorted()) std::fprintf(stderr, "%s\n", sflow::FormatDiagnostic(d).c_str());
    std::exit(1);
  }
  return std::chrono::duration<double, std::milli>(t1 - t0).count();
}

// The largest rich plan under `cap` bytes (what `sogni-flow validate` accepts at its default cap).
std::string RichPlanUnder(size_t cap, int* steps_out) {
  int lo = 1, hi = 100000;
  while (lo < hi) {
    int mid = (lo + hi + 1) / 2;
    if (MakeRichPlan(mid).size() <= cap) lo = mid; else hi = mid - 1;
  }
  *steps_out = lo;
  return MakeRichPlan(lo);
}

}  // namespace

int main(int argc, char** argv) {
  // validate_bench --write-capped FILE: writes the largest rich plan within the default 1 MiB
  // cap to FILE and prints its step count (for timing `sogni-flow validate` itself).
  if (argc == 3 && std::string(argv[1]) == "--write-capped") {
    int steps = 0;
    std::string text = RichPlanUnder(sflow::YamlLimits().max_bytes, &steps);
    std::ofstream out(argv[2], std::ios::binary);
    out << text;
    out.close();
    if (!out) { std::fprintf(stderr, "validate_bench: cannot write %s\n", argv[2]); return 1; }
    std::printf("%d\n", steps);
    return 0;
  }
  int max_steps = argc > 1 ? std::atoi(argv[1]) : 20000;
  auto catalog = std::move(sflow::ProtocolCatalog::Load()).value();
  for (bool compact : {true, false}) {
    sflow::YamlLimits limits;
    if (!compact) limits.max_bytes = 8 << 20;
    std::printf("%s plans%s\n", compact ? "compact" : "rich", compact ? " (within the default 1 MiB cap)" : " (cap raised to 8 MiB)");
    std::printf("%8s %10s %10s %10s\n", "steps", "bytes", "best ms", "ms/step");
    double first = 0, last = 0;
    int last_steps = 0;
    for (int steps : {1000, 2000, 5000, 10000, 20000}) {
      if (compact && steps > 10000) break;  // past the 1 MiB cap
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
      last = best;
      last_steps = steps;
    }
    if (last_steps > 1000) {
      // Linear: time per step at the largest size within 1.5x of that at 1,000 steps.
      double growth = (last / last_steps) / (first / 1000);
      std::printf("time per step, %d steps against 1,000: x%.2f (goal: linear, <= x1.5): %s\n", last_steps, growth,
                  growth <= 1.5 ? "PASS" : "MISS");
    }
    std::printf("\n");
  }
  struct rusage ru{};
  getrusage(RUSAGE_SELF, &ru);
  std::printf("peak RSS: %.1f MiB\n", ru.ru_maxrss / 1024.0);
  return 0;
}
