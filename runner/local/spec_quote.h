// Quotes of a local run's spec: what each project step costs, asked of the estimate routes
// before anything is paid. `run` gates on them (--max-tokens, the balance) and stores them with
// the run; `estimate` shows them. Both price a plan the same way through this one function.
#ifndef SFLOW_RUNNER_LOCAL_SPEC_QUOTE_H_
#define SFLOW_RUNNER_LOCAL_SPEC_QUOTE_H_

#include <functional>
#include <map>
#include <string>

#include "api/api_client.h"
#include "engine/status.h"
#include "runner/local/local_spec.h"

namespace sflow {

// The token type a project step pays with: its own tokenType, else the plan's budget.token_type
// (spark or sogni), else spark (what the estimate routes need a value for; the request itself
// carries only what the plan says).
std::string StepTokenType(const SpecStep& step, const std::string& plan_token_type);

struct SpecQuoteTotals {
  std::map<std::string, double> tokens;  // by token type
  double usd = 0;
};

// Quotes every step of `spec` in plan order, storing quote_tokens, quote_usd and token_type into
// each; `on_step` (may be empty) is told of each as it is quoted. The model list is read once.
// The first step without a quote ends it: its error, prefixed "step 'ID': no quote: ", with the
// client's redaction applied.
Result<SpecQuoteTotals> QuoteSpec(ApiClient& client, const std::string& plan_token_type, LocalSpec* spec,
                                  const std::function<void(const SpecStep&)>& on_step = {});

}  // namespace sflow

#endif  // SFLOW_RUNNER_LOCAL_SPEC_QUOTE_H_
