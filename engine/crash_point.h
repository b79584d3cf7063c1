// Crash points: named places in the persistence protocol of a run where a test can kill the
// process, to prove that a crash at each of them resumes to the same end state as a run that was
// never interrupted (docs/reliability.md, tests/cli/crash_points.sh).
//
// Only a test build installs a handler (tests/support/crash_main.cc: the sogni-flow-crashtest
// binary, which reads SOGNI_FLOW_CRASH_AT=name:n). The sogni-flow binary never does, so there
// CrashPoint() is one relaxed atomic load and a branch, and no environment variable can trip it.
#ifndef SFLOW_ENGINE_CRASH_POINT_H_
#define SFLOW_ENGINE_CRASH_POINT_H_

#include <atomic>

namespace sflow {

using CrashHandler = void (*)(const char* name);

namespace crash_internal {
inline std::atomic<CrashHandler> handler{nullptr};
}  // namespace crash_internal

// Installs the handler every CrashPoint() calls from then on (nullptr: none). Test builds only.
inline void SetCrashHandler(CrashHandler h) { crash_internal::handler.store(h); }

// Marks a crash point. `name` is a string literal: "<area>.<moment>", e.g. "intent.sent".
inline void CrashPoint(const char* name) {
  if (CrashHandler h = crash_internal::handler.load(std::memory_order_relaxed)) h(name);
}

}  // namespace sflow

#endif  // SFLOW_ENGINE_CRASH_POINT_H_
