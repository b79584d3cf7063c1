// Implementation details: one event stream per request, by the WHATWG rules. The cursor is
// Last-Event-ID when the client sends one (the standard reconnection mechanism), else ?after=,
// else 0; `id:` is the event's sequence. Each logged event goes out as
// `id: N / event: <type> / data: <event JSON>`; a status change is followed by a
// `event: workflow_status` frame without an id, carrying {workflowId, status}. Comments keep an
// idle stream alive. The stream ends after a terminal status or waiting_for_user.
#include <sstream>

#include "sandbox/routes.h"

namespace sflow {

namespace {

const std::set<std::string> kStatusEvents = {"workflow_started", "workflow_completed", "workflow_failed",
                                             "workflow_cancelled", "workflow_waiting_for_user"};

bool Ends(const std::string& status) {
  return status == "completed" || status == "failed" || status == "cancelled" || status == "partial_failure" ||
         status == "waiting_for_user";
}

std::string Frame(const std::string& workflow_id, const LoggedEvent& e) {
  std::string f;
  f.reserve(e.json.size() + 64);
  f += "id: " + std::to_string(e.sequence) + "\nevent: " + e.type + "\ndata: " + e.json + "\n\n";
  bool status_change = kStatusEvents.count(e.type) || (e.type == "workflow_progress" && e.status == "queued");
  if (status_change) {
    Value s = Value::Object();
    s.Set("workflowId", Value::String(workflow_id));
    s.Set("status", Value::String(e.status));
    f += "event: workflow_status\ndata: " + s.ToJson() + "\n\n";
  }
  return f;
}

int64_t ParseCursor(const std::string& s) {
  if (s.empty()) return -1;
  char* end = nullptr;
  long long v = std::strtoll(s.c_str(), &end, 10);
  return *end == '\0' && v >= 0 ? v : -1;
}

}  // namespace

void StreamEvents(RouteContext& ctx, const std::string& workflow_id) {
  World& world = ctx.world;
  Faults& faults = world.faults();
  int64_t cursor = ParseCursor(ctx.req.has("Last-Event-ID") ? ctx.req.get("Last-Event-ID") : "");
  if (cursor < 0) cursor = ParseCursor(ctx.query.count("after") ? ctx.query.at("after") : "");
  if (cursor < 0) cursor = 0;
  {
    std::lock_guard<std::mutex> lock(world.mu());
    WorkflowRun* w = nullptr;
    if (!world.FindWorkflowLocked(ctx.caller, workflow_id, &w)) {
      Value b = Value::Object();
      b.Set("status", Value::String("error"));
      b.Set("message", Value::String("Workflow not found"));
      b.Set("errorCode", Value::Int(404));
      // SendJson takes no lock, so it may run here.
      return SendJson(ctx, 404, b);
    }
  }
  if (cursor > 0 && faults.Roll("ignore_last_event_id")) cursor = 0;

  ctx.status = 200;
  ctx.resp.setStatus(Poco::Net::HTTPResponse::HTTP_OK);
  ctx.resp.setContentType("text/event-stream");
  ctx.resp.set("Cache-Control", "no-cache");
  ctx.resp.set("X-Accel-Buffering", "no");
  ctx.resp.setChunkedTransferEncoding(true);
  std::ostream& out = ctx.resp.send();
  out << ": sogni-flow sandbox stream\n\n";
  out.flush();
  world.CountStreamOpened();

  const int64_t drop_after = static_cast<int64_t>(faults.Value("sse_drop_after", 0));
  int64_t frames = 0;
  std::string held;  // a frame held back by sse_reorder, sent after the next one
  auto keepalive = std::chrono::milliseconds(world.config().keepalive_ms);
  while (!ctx.stopping) {
    std::vector<std::string> batch;  // frames, made under the lock (strings, no trees)
    bool ends = false;
    {
      std::unique_lock<std::mutex> lock(world.mu());
      WorkflowRun* w = nullptr;
      if (!world.FindWorkflowLocked(ctx.caller, workflow_id, &w)) return;  // reset under us
      if (static_cast<int64_t>(w->events.size()) <= cursor && !Ends(w->status)) {
        bool news = world.changed().wait_for(lock, keepalive, [&] {
          return ctx.stopping.load() || static_cast<int64_t>(w->events.size()) > cursor || Ends(w->status) ||
                 w->forgotten;
        });
        if (!news) {
          lock.unlock();
          out << ": keepalive\n\n";
          out.flush();
          if (!out.good()) return;
          continue;
        }
      }
      // At most 2000 frames per round, so one long log does not hold the lock for long.
      for (size_t i = static_cast<size_t>(cursor); i < w->events.size() && batch.size() < 2000; ++i)
        batch.push_back(Frame(workflow_id, w->events[i]));
      ends = Ends(w->status) && static_cast<size_t>(cursor) + batch.size() == w->events.size();
    }
    for (const std::string& frame : batch) {
      ++cursor;
      ++frames;
      if (drop_after > 0 && frames > drop_after) {
        faults.Count("sse_drop_after");
        if (frames % 2 == 0) out << frame.substr(0, frame.size() / 2);  // sometimes mid-frame
        out.flush();
        return;
      }
      if (faults.Roll("sse_truncate")) {
        out << frame.substr(0, frame.size() / 2);
        out.flush();
        return;
      }
      if (held.empty() && faults.Roll("sse_reorder")) {
        held = frame;
        continue;
      }
      out << frame;
      if (faults.Roll("sse_duplicate")) out << frame;
      if (!held.empty()) {
        out << held;
        held.clear();
      }
    }
    if (!held.empty() && ends) {
      out << held;
      held.clear();
    }
    out.flush();
    if (!out.good()) return;
    if (ends && held.empty()) return;  // everything up to the stop has gone out
  }
}

}  // namespace sflow
