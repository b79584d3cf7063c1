// The socket host's estimate routes, as the SDK calls them (Projects/index.js estimateCost,
// estimateVideoCost, estimateAudioCost, getSizePresets). No key needed, as for the SDK's examples.
// The price is project_pricing.h's formula: the same one a project is billed by.
#include "sandbox/project_pricing.h"
#include "sandbox/project_wire.h"
#include "sandbox/projects_impl.h"
#include "sandbox/routes.h"

namespace sflow {

using namespace hub;

bool ServeProjectEstimates(RouteContext& ctx) {
  const PathMatch path(ctx.path);
  const std::vector<std::string>& seg = path.seg;
  if (ctx.method != "GET" || seg.size() < 2 || seg[0] != "api") return false;
  if (path.Is({"api", "v1", "size-presets", "network", "*", "model", "*"})) {
    ctx.route = "/api/v1/size-presets/network/:network/model/:model";
    const ModelInfo* model = FindModel(seg[6]);
    if (!model) {
      SendJson(ctx, 404, ErrorBody(404, "Model " + seg[6] + " is not available"));
      return true;
    }
    Value list = Value::Array();
    if (std::string(model->media) == "image")
      for (const SizePreset& p : SizePresets())
        list.Append(Obj({{"label", Str(p.label)}, {"id", Str(p.id)}, {"width", Int(p.width)},
                         {"height", Int(p.height)}, {"ratio", Str(p.ratio)}, {"aspect", Str(p.aspect)}}));
    SendJson(ctx, 200, list);
    return true;
  }
  const bool image = seg.size() >= 4 && (seg[1] == "v2" || seg[1] == "v3") && seg[2] == "job";
  const bool media = seg.size() >= 4 && seg[1] == "v1" && (seg[2] == "job-video" || seg[2] == "job-audio");
  if (!(image || media) || seg[3] != "estimate") return false;
  ctx.route = "/api/" + seg[1] + "/" + seg[2] + "/estimate/...";
  if (ctx.world.faults().Roll("estimate_garbage")) {  // a proxy's page where the quote belongs
    SendJsonText(ctx, 200, "<html><body>Service temporarily rerouted</body></html>", {{"Content-Type", "text/html"}});
    return true;
  }
  Result<QuoteInput> in = ParseEstimatePath(seg, ctx.query);
  if (!in.ok()) {
    int status = in.status().code() == Status::Code::kNotFound ? 404 : 400;
    SendJson(ctx, status, ErrorBody(status, in.status().message()));
    return true;
  }
  SendJson(ctx, 200, EstimationResponse(*in, PriceOf(*in, ctx.world.config().price_percent)));
  return true;
}

}  // namespace sflow
