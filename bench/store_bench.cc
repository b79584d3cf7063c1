// store_bench: how fast can one event stream be persisted? Appends events with their cursor
// through RunStore::AppendEvents (WAL, synchronous=FULL: one fsync per commit) and reports events
// per second and fsyncs (counted by store/fault_vfs.h), first for the requested run (default
// 100,000 events in batches of 50), then for a sweep of batch sizes. The runner's target is
// 175,000 events/s persisted for one stream; the last lines say which batch size reaches it.
//
// Usage: store_bench [EVENTS [BATCH]]. Files go to a fresh directory under $TMPDIR (or /tmp),
// so the figures are those of that disk.
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <string>
#include <vector>

#include "store/fault_vfs.h"
#include "store/state_dir.h"

namespace sflow {
namespace {

constexpr double kTarget = 175000;

struct Figures {
  int64_t events = 0, batch = 0, commits = 0, syncs = 0;
  double seconds = 0;
  double rate() const { return seconds > 0 ? events / seconds : 0; }
};

// A workflow event of the size the sandbox emits (~230 bytes).
std::string EventJson(int64_t seq) {
  return "{\"id\":\"" + std::to_string(seq) +
         "\",\"workflowId\":\"wf_7f3a9c2e51b04d8e\",\"sequence\":" + std::to_string(seq) +
         ",\"timestamp\":\"2025-11-23T15:48:00.000Z\",\"type\":\"step_progress\","
         "\"status\":\"running\",\"message\":\"step clip is "
         "running\",\"data\":{\"stepId\":\"clip\","
         "\"progress\":0.42,\"etaSeconds\":12}}";
}

std::string MakeTempDir() {
  std::string base = std::filesystem::temp_directory_path() / "sflow-store-bench-XXXXXX";
  std::vector<char> buf(base.begin(), base.end());
  buf.push_back('\0');
  const char* made = ::mkdtemp(buf.data());
  return made ? made : "";
}

// Appends `events` events in batches of `batch`; synchronous=OFF when `no_sync` (a CPU-only bound).
bool Run(int64_t events, int64_t batch, bool no_sync, Figures* out) {
  const std::string tmp = MakeTempDir();
  if (tmp.empty()) return false;
  bool ok = false;
  {
    Result<std::unique_ptr<StateDir>> dir =
        StateDir::Open({.path = tmp + "/state", .vfs = FaultVfs::kName});
    if (!dir.ok()) {
      std::fprintf(stderr, "%s\n", dir.status().ToString().c_str());
      return false;
    }
    RunStore& store = (*dir)->store();
    RunRecord run{
        .id = "bench", .plan_path = "bench.yaml", .plan_name = "bench", .plan_digest = "d"};
    if (no_sync && !(*dir)->sqlite_store().db().Exec("PRAGMA synchronous=OFF").ok()) return false;
    if (!store.CreateRun(run).ok()) return false;
    // Events are built before the clock starts: the bench measures the store, not string code.
    std::vector<EventBatch> batches;
    for (int64_t first = 0; first < events; first += batch) {
      EventBatch b;
      for (int64_t s = first; s < std::min(events, first + batch); ++s) {
        b.events.push_back({.sequence = s,
                            .type = "step_progress",
                            .status = "running",
                            .json = EventJson(s),
                            .received_at = 1});
      }
      b.cursor = b.events.back().sequence;
      batches.push_back(std::move(b));
    }
    FaultVfs::ResetCounters();
    auto start = std::chrono::steady_clock::now();
    for (const EventBatch& b : batches) {
      Result<AppendResult> r = store.AppendEvents("bench", b);
      if (!r.ok()) {
        std::fprintf(stderr, "%s\n", r.status().ToString().c_str());
        return false;
      }
    }
    out->seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    out->syncs = FaultVfs::syncs();
    out->events = events;
    out->batch = batch;
    out->commits = static_cast<int64_t>(batches.size());
    ok = store.GetRun("bench").ok() &&
         (*dir)->sqlite_store().db().QueryInt("SELECT sum(count) FROM event_chunks").ok();
  }
  std::error_code ec;
  std::filesystem::remove_all(tmp, ec);
  return ok;
}

void Print(const Figures& f, const char* note) {
  std::printf(
      "  batch %5lld  %7lld events  %7.3f s  %9.0f events/s  %6lld fsyncs (%.2f per commit)  "
      "%7.1f us/commit%s\n",
      static_cast<long long>(f.batch), static_cast<long long>(f.events), f.seconds, f.rate(),
      static_cast<long long>(f.syncs), f.commits ? double(f.syncs) / f.commits : 0,
      f.commits ? f.seconds * 1e6 / f.commits : 0, note);
}

int Main(int argc, char** argv) {
  const int64_t events = argc > 1 ? std::atoll(argv[1]) : 100000;
  const int64_t batch = argc > 2 ? std::atoll(argv[2]) : 50;
  if (events <= 0 || batch <= 0 || !FaultVfs::Register().ok()) return 2;
  std::printf("state directory under %s; WAL, synchronous=FULL, one transaction per batch\n",
              std::filesystem::temp_directory_path().c_str());

  Figures main_run;
  if (!Run(events, batch, false, &main_run)) return 1;
  Print(main_run, main_run.rate() >= kTarget ? "  <- meets 175,000/s" : "  <- below 175,000/s");

  std::printf("sweep (fewer events for the small batches, to keep the run short):\n");
  int64_t first_reaching = 0;
  for (int64_t b : {1, 10, 50, 100, 200, 500, 1000, 2000, 5000}) {
    Figures f;
    if (!Run(std::min<int64_t>(events, b * 2000), b, false, &f)) return 1;
    Print(f, "");
    if (first_reaching == 0 && f.rate() >= kTarget) first_reaching = b;
  }
  Figures cpu;
  if (!Run(events, 1000, true, &cpu)) return 1;
  Print(cpu, "  (synchronous=OFF: the CPU-only ceiling, not durable)");

  std::printf("target 175,000 events/s for one stream: batches of %lld %s (%.0f events/s); ",
              static_cast<long long>(batch), main_run.rate() >= kTarget ? "reach it" : "do not",
              main_run.rate());
  if (first_reaching) {
    std::printf("the smallest batch that reaches it here is %lld\n",
                static_cast<long long>(first_reaching));
  } else {
    std::printf("no batch size reached it on this disk\n");
  }
  return 0;
}

}  // namespace
}  // namespace sflow

int main(int argc, char** argv) { return sflow::Main(argc, argv); }
