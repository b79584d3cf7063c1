// Internal to api/job_request*.cc: the reading of ProjectParams with JavaScript's meaning of
// "undefined" and "truthy", and the three per-type key-frame builders.
#ifndef SFLOW_API_JOB_REQUEST_PARTS_H_
#define SFLOW_API_JOB_REQUEST_PARTS_H_

#include <optional>
#include <string>
#include <string_view>

#include "api/job_request.h"
#include "engine/status.h"
#include "engine/value.h"

namespace sflow::job_request {

// A checked ProjectParams object (every key known to its type and of its kind).
class Params {
 public:
  explicit Params(const Value& v) : v_(v) {}
  const Value* Get(std::string_view key) const { return v_.Find(key); }  // nullptr: undefined
  bool Has(std::string_view key) const { return Get(key) != nullptr; }
  bool Truthy(std::string_view key) const;  // JavaScript's !!params[key]
  std::string Str(std::string_view key) const;  // "" unless a string
  std::optional<double> Num(std::string_view key) const;  // a number, else nullopt
  const std::string& model() const { return model_; }
  const Value& value() const { return v_; }
  void set_model(std::string m) { model_ = std::move(m); }

 private:
  const Value& v_;
  std::string model_;
};

bool Truthy(const Value* v);

// keyFrame[key] = params[key], or no key when params has none (JSON drops undefined).
void Copy(Value* frame, const std::string& key, const Value* v);

// validation.js validateNumber: `name` must be a number within [min, max].
Result<double> ValidateNumber(const Value* v, std::optional<double> min, std::optional<double> max,
                              const std::string& name);
// validation.js validateSampler/validateScheduler/validateVae: null when the model offers no
// choice or none is asked for; the name when allowed; else the SDK's error. With !known (no
// models list at hand), the name as given.
Result<Value> ValidateOption(const Value* v, const std::vector<std::string>& allowed, bool known, const char* what);

Status Invalid(std::string message);

Status ApplyImageParams(const Params& p, const ModelTraits& model, Value* frame);
Status ApplyVideoParams(const Params& p, const ModelTraits& model, Value* frame);
Status ApplyAudioParams(const Params& p, const ModelTraits& model, Value* frame);
Status ValidateVideoWorkflowAssets(const Params& p);  // job_request_video_assets.cc

}  // namespace sflow::job_request

#endif  // SFLOW_API_JOB_REQUEST_PARTS_H_
