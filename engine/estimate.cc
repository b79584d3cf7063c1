#include "engine/estimate.h"

#include <cmath>
#include <map>

namespace sflow {

namespace {

std::string Num(double d) {
  std::string s = Value::Double(d).ToJson();
  return s;
}

bool StartsWith(const std::string& s, const char* p) { return s.rfind(p, 0) == 0; }

// A numeric argument; a template placeholder ("$inputs.NAME") counts as that input's default.
double NumberArg(const Plan& plan, const ResolvedStep& r, const char* key, double fallback) {
  const Value* v = r.arguments.Find(key);
  if (v && v->is_number()) return v->as_number();
  if (v && v->is_string() && v->as_string().rfind("$inputs.", 0) == 0) {
    std::string name = v->as_string().substr(8);
    for (const TemplateInput& in : plan.inputs)
      if (in.name == name && in.default_value && in.default_value->is_number()) return in.default_value->as_number();
  }
  return fallback;
}

}  // namespace

double CostClassWeight(const std::string& c) {
  static const std::map<std::string, double> kWeights = {
      {"free", 0},          {"image.standard", 1},        {"image.premium", 2},
      {"image.external", 3}, {"video.standard", 5},        {"video.vendor.standard", 6},
      {"video.premium", 8},  {"video.vendor.premium", 10}, {"audio.standard", 3},
      {"compose.standard", 1}, {"compose.ffmpeg", 1}};
  auto it = kWeights.find(c);
  return it == kWeights.end() ? 1 : it->second;
}

PlanEstimate EstimatePlan(const Plan& plan, const PlanAnalysis& analysis) {
  PlanEstimate est;
  est.max_units = plan.budget.max_units;
  for (size_t i = 0; i < plan.steps.size(); ++i) {
    const Step& step = plan.steps[i];
    const ResolvedStep& r = analysis.steps[i];
    StepEstimate e;
    e.step_id = step.id;
    if (step.is_project()) {
      const Value* t = r.arguments.Find("type");
      e.tool = "project:" + (t && t->is_string() ? t->as_string() : std::string("?"));
      e.unit = "quote";
      e.needs_quote = true;
      e.basis = "priced by the network at run time";
      ++est.quotes_needed;
      est.steps.push_back(std::move(e));
      continue;
    }
    e.tool = step.tool_name;
    if (!r.tool) {
      e.unit = "operation";
      e.basis = "unknown tool";
      est.steps.push_back(std::move(e));
      continue;
    }
    const ToolInfo& tool = *r.tool;
    e.cost_class = tool.cost_class.empty() ? "unclassified" : tool.cost_class;
    e.weight = CostClassWeight(tool.cost_class);
    double variations = tool.counts_variations ? std::max(1.0, std::floor(NumberArg(plan, r, "numberOfVariations", 1))) : 1;
    std::string var_text = Num(variations) + (variations == 1 ? " variation" : " variations");
    if (StartsWith(tool.cost_class, "image.")) {
      e.unit = "image";
      e.quantity = variations;
      e.basis = Num(e.weight) + " x " + var_text;
    } else if (StartsWith(tool.cost_class, "video.")) {
      double seconds = NumberArg(plan, r, "duration", tool.default_seconds);
      if (tool.name == "replace_video_segment")
        seconds = std::max(0.0, NumberArg(plan, r, "endSeconds", 0) - NumberArg(plan, r, "startSeconds", 0));
      e.unit = "second";
      e.quantity = seconds * variations;
      e.basis = Num(e.weight) + " x " + Num(seconds) + " s x " + var_text;
    } else {
      e.unit = "operation";
      e.quantity = variations;
      e.basis = Num(e.weight) + " x " + var_text;
    }
    e.units = e.weight * e.quantity;
    est.total_units += e.units;
    est.steps.push_back(std::move(e));
  }
  return est;
}

}  // namespace sflow
