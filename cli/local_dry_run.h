// `sogni-flow run LOCAL_PLAN --dry-run`: what a local run would send, step by step, without
// sending, uploading or storing anything.
#ifndef SFLOW_CLI_LOCAL_DRY_RUN_H_
#define SFLOW_CLI_LOCAL_DRY_RUN_H_

#include <ostream>
#include <string>
#include <utility>
#include <vector>

#include "cli/plan_check.h"
#include "engine/status.h"

namespace sflow {

// The jobID a dry run shows: the real one is an uppercase UUID chosen when the step runs.
inline constexpr const char* kDryRunJobId = "00000000-0000-4000-8000-000000000000";

// For a checked plan with `execution: local`, writes one JSON line per step in running order
// (dependencies first, plan order otherwise):
//   {"step":ID,"jobRequest":{...},"uploads":[{"param","index","route","type","id"?,"mediaKind",
//    "contentType"?,"source"}...],"estimatePath":"/api/..." | null, "sizePresetPath"?, "estimateNote"?}
// The jobRequest is the one the official SDK sends for the step's ProjectParams (api/job_request.h)
// with jobID kDryRunJobId; a media param filled by dependsOn or naming a media: entry counts as
// present. Content types come from the media file's bytes, or from the upstream project's
// outputFormat. A step whose request cannot be built prints {"step":ID,"error":MESSAGE}; once
// every step is printed the result is kInvalidPlan naming the first such step and its reason.
Status PrintLocalDryRun(const CheckedPlan& checked, std::ostream& out);

// The steps of a checked local plan whose jobRequest cannot be built, each with why (what
// PrintLocalDryRun prints as their "error"): requests the API would refuse, found offline.
std::vector<std::pair<size_t, std::string>> LocalRequestProblems(const CheckedPlan& checked);

}  // namespace sflow

#endif  // SFLOW_CLI_LOCAL_DRY_RUN_H_
