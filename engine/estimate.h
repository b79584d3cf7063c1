// The offline cost estimate: capacity units per step and in total, against the plan's budget.
//
// Capacity units are the API's coarse, unitless cost measure ("one unit very roughly corresponds
// to one standard 1-credit image render"). Weights per cost class are those of the backbone's
// cost table (docs/api-contract.md section 6):
//   free 0, image.standard 1, image.premium 2, image.external 3, video.standard 5,
//   video.vendor.standard 6, video.premium 8, video.vendor.premium 10, audio.standard 3,
//   compose.standard 1, compose.ffmpeg 1, any other or unknown class 1.
// How a class's weight scales (INFERRED; the protocol's step cost unit is image|second|operation):
//   image.*   weight x variations                    (unit "image")
//   video.*   weight x seconds x variations          (unit "second")
//   others    weight x variations, or x 1            (unit "operation")
// Seconds come from the step's duration argument (endSeconds - startSeconds for
// replace_video_segment), else the tool's documented default. Project steps (local execution)
// are priced by the network at run time: they are listed as needing a quote.
#ifndef SFLOW_ENGINE_ESTIMATE_H_
#define SFLOW_ENGINE_ESTIMATE_H_

#include <optional>
#include <string>
#include <vector>

#include "engine/plan.h"
#include "engine/validate.h"

namespace sflow {

struct StepEstimate {
  std::string step_id;
  std::string tool;        // tool name, or "project:<type>"
  std::string cost_class;  // "" for project steps
  std::string unit;        // "image" | "second" | "operation" | "quote"
  double weight = 0;
  double quantity = 0;     // images, seconds x variations, or operations
  double units = 0;
  bool needs_quote = false;
  std::string basis;       // e.g. "6 x 5 s x 1 variation"
};

struct PlanEstimate {
  std::vector<StepEstimate> steps;
  double total_units = 0;
  int quotes_needed = 0;
  std::optional<double> max_units;  // from budget.max_units
  bool over_budget() const { return max_units && total_units > *max_units; }
};

// Weight of a cost class (1 for unknown classes, as the backbone counts them).
double CostClassWeight(const std::string& cost_class);

// Estimates a validated plan. Steps whose tool is unknown count 0 (validation has refused them).
PlanEstimate EstimatePlan(const Plan& plan, const PlanAnalysis& analysis);

}  // namespace sflow

#endif  // SFLOW_ENGINE_ESTIMATE_H_
