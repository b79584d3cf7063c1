// RunProgress: what a runner tells whoever watches its runs, while it drives them. The runner
// layer says what happened; how it is shown (a live block on a terminal, one line per change,
// --json lines) is the choice of the command watching, which implements this interface.
//
// Every implementation is thread-safe: the runs that `run -j N` and `resume --all` drive at once
// share one RunProgress, and their lines never interleave mid-line.
#ifndef SFLOW_RUNNER_PROGRESS_H_
#define SFLOW_RUNNER_PROGRESS_H_

#include <chrono>
#include <string>
#include <string_view>
#include <vector>

#include "engine/value.h"

namespace sflow {

class RunProgress {
 public:
  virtual ~RunProgress() = default;
  // Announces a run and its steps in plan order before it is driven (for live views).
  virtual void AddRun(const std::string& run_id, const std::string& label, const std::vector<std::string>& steps) = 0;
  // A change worth one line: "r-...: running", "r-...: saved sogni-out/.../0.png (32431 bytes)".
  virtual void Line(const std::string& text) = 0;
  // A workflow event once its batch is committed (never before: a resumed run would report it
  // twice), in sequence order per run.
  virtual void Event(const std::string& run_id, const Value& record) = 0;
  // Whether Event() does anything with an event of this type. A runner may skip building (and
  // keeping, until its batch commits) the record of an event nobody watches: most events of a
  // stream are progress nobody reads when no live view or --json is on.
  virtual bool WantsEvent(std::string_view type) const {
    (void)type;
    return true;
  }
};

// A duration as progress lines write it: "12.3s", "1m05s", "1h02m".
std::string FormatElapsed(std::chrono::milliseconds ms);

}  // namespace sflow

#endif  // SFLOW_RUNNER_PROGRESS_H_
