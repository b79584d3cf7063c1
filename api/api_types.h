// Requests and replies of the REST client (api_client.h). Records stay sflow::Value trees with the
// server's camelCase keys (workflowId, status, steps...); only what the client itself must know is
// typed. Request fields are written as the SDK sends them: snake_case at the top level, the step
// plan inside `input` untouched (docs/api-contract.md sections 1 and 2.1). A field is sent only when set.
#ifndef SFLOW_API_API_TYPES_H_
#define SFLOW_API_API_TYPES_H_

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "engine/value.h"

namespace sflow {

// W1. Exactly one of `input` (an object: {title?, steps:[...]}) and `workflow_id` is set;
// `inputs` goes only with `workflow_id`. The Idempotency-Key travels as a header, never here.
struct StartWorkflowRequest {
  Value input;                                        // null: not sent
  std::string workflow_id;                            // a saved template's id
  Value inputs;                                       // template inputs
  std::string token_type;                             // "spark" | "sogni" | "auto"
  std::string billing_mode;                           // "auto" | "subscription" | "tokens"
  std::string app_source;                             // "": ApiClientOptions::app_source
  std::optional<double> max_estimated_capacity_units;
  std::optional<bool> confirm_cost;
  std::optional<bool> safe_content_filter;
  Value media_references;                             // array of {kind, url}; http(s) URLs only
};

// W6 resume. Never carries safe_content_filter: the run keeps its original preference.
struct ResumeRequest {
  std::string token_type, billing_mode, app_source;
};

// W7 reseed. Steps left out of seed_overrides get fresh seeds from the server.
struct ReseedRequest {
  std::map<std::string, int64_t> seed_overrides;
  std::string token_type, billing_mode, app_source;
};

// The answer of a workflow action (W1, W6-W9): data.workflow plus the rest of data, which holds
// the action's extras: `resumed`, `transitioned`, `reseed`, `idempotent`.
struct WorkflowReply {
  Value workflow;
  Value data;
  // data.<key> is the boolean true.
  bool Flag(std::string_view key) const {
    const Value* v = data.Find(key);
    return v && v->is_bool() && v->as_bool();
  }
};

// W2 and T1: one page and the numeric offset of the next (none at the end).
struct WorkflowPage {
  std::vector<Value> workflows;
  std::optional<int64_t> next;
};
struct TemplatePage {
  std::vector<Value> templates;  // entries without a string id and name are dropped, as the SDK does
  std::optional<int64_t> next;
};

// Upload and download URL routes (docs/api-contract.md section 8): /v{version}/{family}/{uploadUrl,downloadUrl}.
struct MediaUrlQuery {
  std::string family = "image";  // "image" or "media"
  int version = 2;               // 2: presigned multipart POST; 1: legacy raw PUT
  std::string job_id;            // jobId (chosen by the caller)
  std::string type;              // e.g. referenceImage, contextImage1, referenceAudio, complete
  std::string content_type;      // e.g. image/png; "" = not sent
  std::string id;                // sent as imageId (image) or id (media); "" = not sent
};

}  // namespace sflow

#endif  // SFLOW_API_API_TYPES_H_
