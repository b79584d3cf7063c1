// The server messages of the projects socket as typed events.
//
// Shapes from @sogni-ai/sogni-client 5.54.0 dist/ApiClient/WebSocketClient/events.d.ts
// (AuthenticatedData, JobStateData, JobProgressData, JobETAData, JobResultData, JobErrorData,
// JobRetryData, ArtistCancelConfirmation, RecoveredProject) and the handlers of
// dist/Projects/index.js (handleJobState, handleJobProgress, handleJobETA, handleJobResult,
// handleJobError, handleJobRetry). Pure.
#ifndef SFLOW_API_PROJECT_EVENTS_H_
#define SFLOW_API_PROJECT_EVENTS_H_

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "api/project_frame.h"
#include "engine/status.h"
#include "engine/value.h"

namespace sflow {

enum class ProjectEventKind {
  kAuthenticated,  // one per project the server lists (active or unclaimed), or one with no project
  kQueued, kAssigned, kInitiating, kStarted, kProgress, kEta, kResult, kJobError, kRetry, kCompleted,
  kCancelConfirmation, kBalanceUpdate, kOther
};
const char* ProjectEventKindName(ProjectEventKind kind);

struct ProjectEvent {
  ProjectEventKind kind = ProjectEventKind::kOther;
  std::string type;          // the frame type ("jobState", ...), for the event log
  std::string project_id;    // jobID ("" for account-level frames)
  std::string job_id;        // imgID ("" when project-level)
  std::optional<int64_t> job_index;
  int64_t queue_position = -1;
  double eta_seconds = -1;   // kQueued: estimatedStartSeconds; kEta, kProgress: etaSeconds
  double progress = -1;      // 0..1: `progress`, else step / stepCount
  int64_t step = -1, step_count = -1;
  std::string worker_name;
  std::string result_url, last_frame_url, output_format;  // kResult
  bool user_canceled = false, nsfw_filtered = false;
  std::string error_code, error_message;  // kJobError, kRetry (the code as sent, as text)
  int64_t attempt = -1, max_attempts = -1;  // kRetry
  bool did_cancel = false;                  // kCancelConfirmation
  bool unclaimed = false;  // kAuthenticated: listed under unclaimedCompletedProjects
  Value raw;               // the decoded data (for kAuthenticated: the listed project's record)
};

// A frame whose data is not an object, or whose job frame has no jobID string, is an error
// (kInternal) naming the frame type; a known field of the wrong type is ignored as absent, as
// the SDK's typeof checks do. Unknown frame types (and jobState types) are one kOther event.
// `authenticated` gives one event per listed project, or one with no project when it lists none.
Result<std::vector<ProjectEvent>> ParseProjectFrame(const ProjectFrame& frame);

}  // namespace sflow

#endif  // SFLOW_API_PROJECT_EVENTS_H_
