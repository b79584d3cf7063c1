// Local run ids and the input of a plan's digest. Pure: the caller supplies time, randomness and
// the hash function (engine/ links only the standard library).
#ifndef SFLOW_ENGINE_RUN_ID_H_
#define SFLOW_ENGINE_RUN_ID_H_

#include <cstdint>
#include <ctime>
#include <string>

#include "engine/params.h"
#include "engine/value.h"

namespace sflow {

// "r-YYYYMMDD-HHMMSS-xxxx": UTC time of `now`, then 4 lowercase hex digits of `random`.
std::string MakeRunId(std::time_t now, uint64_t random);

// The canonical JSON a plan digest is taken over: {"body": <start body>, "params": {...}} with
// object keys sorted, so that the same resolved plan and params always give the same text.
std::string PlanDigestInput(const Value& start_body, const ParamValues& params);

}  // namespace sflow

#endif  // SFLOW_ENGINE_RUN_ID_H_
