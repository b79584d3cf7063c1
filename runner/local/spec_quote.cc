#include "runner/local/spec_quote.h"

#include "api/retry_policy.h"
#include "runner/local/session_project_service.h"

namespace sflow {

std::string StepTokenType(const SpecStep& step, const std::string& plan_token_type) {
  if (const Value* t = step.params.Find("tokenType"); t && t->is_string() && !t->as_string().empty()) return t->as_string();
  if (plan_token_type == "spark" || plan_token_type == "sogni") return plan_token_type;
  return "spark";
}

Result<SpecQuoteTotals> QuoteSpec(ApiClient& client, const std::string& plan_token_type, LocalSpec* spec,
                                  const std::function<void(const SpecStep&)>& on_step) {
  SpecQuoteTotals totals;
  ModelCatalog catalog(&client);
  for (SpecStep& step : spec->steps) {
    // Ctrl-C stops between quotes too, not only in a retry's wait (a plan of 200 steps).
    if (RetryWaitsInterrupted()) return Status::Error(Status::Code::kCancelled, "interrupted while quoting");
    const std::string tt = StepTokenType(step, plan_token_type);
    Result<ProjectQuoteFigures> q = QuoteProject(client, catalog, step.params, tt, "");
    if (!q.ok())
      return Status::Error(q.status().code(), "step '" + step.id + "': no quote: " + client.Redact(q.status().message()));
    step.quote_tokens = q->tokens;
    step.quote_usd = q->usd;
    step.token_type = tt;
    totals.tokens[tt] += q->tokens;
    totals.usd += q->usd;
    if (on_step) on_step(step);
  }
  return totals;
}

}  // namespace sflow
