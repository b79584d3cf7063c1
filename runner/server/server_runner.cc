#include "runner/server/server_runner.h"

#include <algorithm>
#include <condition_variable>
#include <deque>
#include <mutex>
#include <random>
#include <thread>

#include "api/event_follower.h"
#include "api/sse_parser.h"
#include "engine/crash_point.h"
#include "engine/json.h"
#include "engine/random.h"
#include "runner/artifact_download.h"
#include "runner/executor.h"
#include "runner/group_committer.h"
#include "runner/server/workflow_record.h"

namespace sflow {

namespace {

using Clock = std::chrono::steady_clock;

bool Ended(const std::string& wire_status) {
  return EventFollower::IsTerminal(wire_status) || wire_status == "waiting_for_user";
}

// co_await: one asynchronous stream of `req` (HttpTransport::NewStream), its handlers called on
// the transport's stream thread, the awaiting coroutine continued on `ex` with its result. The
// run's cancel (Ctrl-C, --timeout) cancels it. `holder` gets the stream before it starts, for
// handlers that pause it.
struct StreamAwaiter {
  HttpTransport* transport;
  HttpRequest req;
  AsyncStreamHandlers handlers;
  std::shared_ptr<std::shared_ptr<AsyncStream>> holder;
  StreamCancel* cancel;
  Executor* ex;
  std::shared_ptr<Result<HttpResponse>> out = std::make_shared<Result<HttpResponse>>(Status::Internal("not done"));

  bool await_ready() noexcept { return false; }
  void await_suspend(std::coroutine_handle<> h) {
    handlers.on_done = [out = out, ex = ex, h](Result<HttpResponse> r) {
      *out = std::move(r);
      ex->Schedule(h);
    };
    std::shared_ptr<AsyncStream> s = transport->NewStream(req, std::move(handlers));
    *holder = s;
    if (StreamCancel* c = cancel) c->SetHook([s] { s->Cancel(); });
    s->Start();  // nothing of this awaiter after here: the coroutine may be going on already
  }
  Result<HttpResponse> await_resume() {
    if (cancel) cancel->ClearHook();
    return std::move(*out);
  }
};

// Hands event batches (each with the cursor that covers it) to the process's GroupCommitter,
// so that reading and parsing the stream go on during the previous batch's fsync. One batch is
// in flight at most: Submit() waits for the one before (a follower that must not wait asks
// Busy() first and, when busy, pauses its stream until WhenIdle), so batches commit in order
// and memory stays bounded. Nothing may depend on a batch until it is committed: the follower reports
// events only up to committed(), and waits before it reconciles, reconnects, returns or reports
// an interruption. The destructor waits for what is in flight.
class BatchCommitter {
 public:
  BatchCommitter(GroupCommitter* committer, std::string run_id, int64_t cursor)
      : committer_(committer), run_id_(std::move(run_id)), cursor_(cursor) {}
  ~BatchCommitter() {
    (void)Wait();  // its error was or will be reported by the follower
    committer_->Release(filling_);
  }
  // `bytes` of event text went into the batch being filled.
  void Hold(size_t bytes) {
    filling_ += bytes;
    committer_->Hold(bytes);
  }
  // Whether the batch being filled should be submitted now for memory's sake: it has reached
  // the committer's min_batch_bytes while the process holds more than its budget
  // (runner/group_committer.h).
  bool ShouldSubmitForMemory() const { return filling_ >= committer_->min_batch_bytes() && committer_->OverBudget(); }

  // Takes `batch` (which comes back empty, with the previous batch's capacity) once the batch
  // before it is committed. Returns the error of an earlier batch, if any: after one, nothing
  // more is committed.
  Status Submit(EventBatch* batch) {
    std::unique_lock<std::mutex> lock(mu_);
    cv_.wait(lock, [&] { return !busy_; });
    if (!error_.ok()) return error_;
    std::swap(pending_, *batch);
    batch->events.clear();
    batch->run = RunUpdate();
    busy_ = true;
    in_flight_ = filling_;
    filling_ = 0;
    lock.unlock();
    committer_->Submit(&run_id_, &pending_, [this](Result<AppendResult> r) {
      std::function<void()> idle;
      {
        std::lock_guard<std::mutex> done(mu_);
        pending_.events.clear();  // the committed text is freed now, not at the next Submit
        committer_->Release(in_flight_);
        in_flight_ = 0;
        if (r.ok()) cursor_ = r->cursor;
        else error_ = r.status();
        busy_ = false;
        idle = std::move(idle_);
        idle_ = nullptr;
        cv_.notify_all();
      }
      if (idle) idle();
    });
    return Status::OK();
  }
  // Whether a batch is in flight (Submit would wait).
  bool Busy() {
    std::lock_guard<std::mutex> lock(mu_);
    return busy_;
  }
  // `fn` once nothing is in flight: at once, or on the committer's thread when the batch in
  // flight has committed. One at a time.
  void WhenIdle(std::function<void()> fn) {
    {
      std::lock_guard<std::mutex> lock(mu_);
      if (busy_) {
        idle_ = std::move(fn);
        return;
      }
    }
    fn();
  }
  // Until nothing is in flight; the first error of any batch.
  Status Wait() {
    std::unique_lock<std::mutex> lock(mu_);
    cv_.wait(lock, [&] { return !busy_; });
    return error_;
  }
  // The cursor of the last committed batch.
  int64_t committed() {
    std::lock_guard<std::mutex> lock(mu_);
    return cursor_;
  }

 private:
  GroupCommitter* committer_;
  const std::string run_id_;
  std::mutex mu_;
  std::condition_variable cv_;
  EventBatch pending_;
  size_t filling_ = 0;    // event text in the caller's batch (only the caller's thread touches it)
  size_t in_flight_ = 0;  // event text in pending_, under mu_
  bool busy_ = false;
  std::function<void()> idle_;  // WhenIdle's
  Status error_;
  int64_t cursor_;
};

// Events waiting for their batch to commit before the reporter sees them, and the lines about
// them (the run's status), which keep their place: a status learned from the last event of a
// batch is said after that batch's step lines, not before.
class ReportQueue {
 public:
  ReportQueue(RunProgress* reporter, std::string run_id) : reporter_(reporter), run_id_(std::move(run_id)) {}
  bool active() const { return reporter_ != nullptr; }
  // An event, by its JSON text, when the reporter wants its type; it is parsed when reported.
  void Add(const FollowedEvent& e) {
    if (reporter_->WantsEvent(e.type)) waiting_.push_back(Item{e.sequence, e.json, false});
    last_ = std::max(last_, e.sequence);
  }
  // A line said once every event added so far is reported (at once when none waits).
  void AddLine(std::string line) {
    if (waiting_.empty()) return reporter_->Line(line);
    waiting_.push_back(Item{last_, std::move(line), true});
  }
  // Reports every event at or below `committed`, and the lines between them.
  void Release(int64_t committed) {
    while (!waiting_.empty() && waiting_.front().sequence <= committed) {
      Item& item = waiting_.front();
      if (item.is_line) {
        reporter_->Line(item.text);
      } else if (Result<Value> record = ParseJson(item.text); record.ok()) {  // checked as it came
        reporter_->Event(run_id_, *record);
      }
      waiting_.pop_front();
    }
  }

 private:
  struct Item {
    int64_t sequence;
    std::string text;  // an event's JSON, or a line
    bool is_line;
  };
  RunProgress* reporter_;
  const std::string run_id_;
  std::deque<Item> waiting_;
  int64_t last_ = 0;
};

}  // namespace

ServerRunner::ServerRunner(RunStore* store, ApiClient* client, HttpTransport* transport,
                           ServerRunnerOptions options)
    : store_(store), client_(client), transport_(transport), options_(std::move(options)) {
  if (!options_.clock) options_.clock = RetryClock::Real();
}

void ServerRunner::Say(const std::string& line) {
  if (options_.reporter) options_.reporter->Line(line);
}

Task<bool> ServerRunner::WaitAsync(std::chrono::milliseconds d) {
  if (options_.clock != RetryClock::Real()) co_return Wait(d);  // a test's clock: at once
  const std::chrono::milliseconds slice{50};  // a Ctrl-C during a wait is not kept waiting
  while (d.count() > 0) {
    if (options_.cancel && options_.cancel->cancelled()) co_return false;
    std::chrono::milliseconds step = std::min(d, slice);
    co_await ex_->Sleep(step);
    d -= step;
  }
  co_return !(options_.cancel && options_.cancel->cancelled());
}

bool ServerRunner::Wait(std::chrono::milliseconds d) {
  const std::chrono::milliseconds slice{50};  // a Ctrl-C during a wait is not kept waiting
  while (d.count() > 0) {
    if (options_.cancel && options_.cancel->cancelled()) return false;
    std::chrono::milliseconds step = std::min(d, slice);
    if (!options_.clock->SleepFor(step)) return false;
    d -= step;
  }
  return !(options_.cancel && options_.cancel->cancelled());
}

Status ServerRunner::Start(RunRecord* run) {
  if (!run->workflow_id.empty()) return Status::OK();
  Result<std::vector<IntentRecord>> open = store_->PendingIntents(run->id);
  if (!open.ok()) return open.status();
  const IntentRecord* intent = nullptr;
  for (const IntentRecord& i : *open)
    if (i.kind == IntentKind::kStart || i.kind == IntentKind::kReseed) intent = &i;
  if (!intent) return Status::Internal("run " + run->id + " has neither a workflow id nor an open start");
  const std::string what = intent->kind == IntentKind::kReseed ? "reseed" : "start";
  std::mt19937_64 jitter(RandomU64());
  for (int slot_waits = 0;; ++slot_waits) {
    if (options_.before_start_post && !options_.before_start_post())
      return Status::Error(Status::Code::kCancelled, "stopped before the " + what + " request (test hook)");
    if (intent->state != IntentState::kPending || slot_waits > 0)
      Say(run->id + ": re-sending the " + what + " request with its original Idempotency-Key");
    IntentRecord current = *intent;
    if (slot_waits > 0) current.state = IntentState::kSent;
    Result<WorkflowReply> reply = SendIntent(*store_, *client_, *run, current);
    if (reply.ok()) {
      run->workflow_id = reply->workflow.StringAt("workflowId");
      run->status = RunStatus::kQueued;
      Say(run->id + (intent->kind == IntentKind::kReseed ? ": reseeded as workflow " : ": started workflow ") +
          run->workflow_id + (reply->Flag("idempotent") ? " (idempotent replay)" : ""));
      return Status::OK();
    }
    if (reply.status().reason() != "active_workflow_limit") return reply.status();
    // The account's cap of concurrent workflows: nothing was created. Wait for a slot (one of
    // the account's workflows finishing), then send the same request again.
    const int64_t cap = std::min<int64_t>(options_.slot_wait_max.count(),
                                          options_.backoff_base.count() << std::min(slot_waits + 2, 16));
    std::chrono::milliseconds wait{std::uniform_int_distribution<int64_t>(cap / 2, std::max<int64_t>(cap, 1))(jitter)};
    Say(run->id + ": the account has its maximum of active workflows; waiting for a slot, next try in " +
        FormatElapsed(wait));
    if (!Wait(wait)) return Status::Error(Status::Code::kCancelled, "interrupted while waiting for a workflow slot");
  }
}

Status ServerRunner::ResendOpenIntents(RunRecord* run) {
  Result<std::vector<IntentRecord>> open = store_->PendingIntents(run->id);
  if (!open.ok()) return open.status();
  for (const IntentRecord& i : *open) {
    if (i.kind != IntentKind::kCancel && i.kind != IntentKind::kConfirmCost) continue;
    // A cancel or a cost confirmation asked for earlier whose answer was never stored: sent
    // again as stored (the confirmation with its key), so the person's decision is not lost.
    Say(run->id + ": re-sending the " + std::string(i.kind == IntentKind::kCancel ? "cancel" : "cost confirmation") +
        " request");
    Result<WorkflowReply> reply = SendIntent(*store_, *client_, *run, i);
    if (!reply.ok() && reply.status().code() == Status::Code::kIOError) return reply.status();
    if (!reply.ok()) Say(run->id + ": " + client_->Redact(reply.status().message()));
  }
  return Status::OK();
}

Task<Status> ServerRunner::Follow(RunRecord* run) {
  EventFollower follower({.workflow_id = run->workflow_id, .cursor = std::max<int64_t>(run->cursor, 0)});
  const bool stored_final = IsTerminal(run->status);
  EventBatch batch;
  Status store_error;
  bool stop = false;
  std::string end_status;  // the wire status of the end seen (terminal or waiting_for_user)
  // An end after which nothing more happens: not a wait for a person.
  auto ended_for_good = [&] { return EventFollower::IsTerminal(end_status); };
  auto last_flush = Clock::now();
  // The process's committer (shared by every run it follows), else one of this follow's own.
  std::unique_ptr<GroupCommitter> own;
  if (!options_.committer) own = std::make_unique<GroupCommitter>(store_);
  BatchCommitter committer(options_.committer ? options_.committer : own.get(), run->id, run->cursor);
  ReportQueue reports(options_.reporter, run->id);
  // Hands the batch to the committer; with `wait`, returns once everything is durable. Events
  // reach the reporter only once committed.
  auto flush = [&](bool wait) -> Status {
    if (!batch.events.empty() || batch.run.status) {
      batch.cursor = follower.cursor();
      if (Status s = committer.Submit(&batch); !s.ok()) return s;
      last_flush = Clock::now();
    }
    if (reports.active()) reports.Release(committer.committed());
    if (!wait) return Status::OK();
    Status s = committer.Wait();
    run->cursor = committer.committed();
    if (reports.active()) reports.Release(run->cursor);
    return s;
  };
  auto absorb = [&](FollowOutcome& o) {
    for (FollowedEvent& e : o.deliver) {
      // The text as received is stored byte for byte; only a record from a reconciling GET
      // (already parsed by the client) is serialized.
      if (reports.active()) reports.Add(e);
      committer.Hold(e.json.size());
      batch.events.push_back(EventRecord{.sequence = e.sequence, .type = std::move(e.type),
                                         .status = std::move(e.status), .json = std::move(e.json)});
    }
    if (o.status && *o.status != last_status_) {
      last_status_ = *o.status;
      if (reports.active()) reports.AddLine(run->id + ": " + *o.status);
      // A run stored final stays final (the store refuses to leave it): replayed events of a run
      // resumed for its downloads must not carry an old status back.
      if (auto st = WireStatus(*o.status); st && !IsTerminal(*st) && !stored_final) batch.run.status = *st;
    }
    if (o.stops()) {
      stop = true;
      end_status = o.status.value_or("");
    }
  };
  // A GET of the workflow: sets *ended when its record says it has ended (keeping that status in
  // end_status). Returns the answers that end following (auth, a workflow the server no longer
  // knows); any other failure leaves *ended as it was.
  auto record_says_ended = [&](bool* ended) -> Status {
    Result<Value> w = client_->GetWorkflow(run->workflow_id);
    if (!w.ok())
      return w.status().code() == Status::Code::kPermission || w.status().reason() == "not_found" ? w.status()
                                                                                                   : Status::OK();
    *ended = Ended(w->StringAt("status"));
    if (*ended) end_status = w->StringAt("status");
    return Status::OK();
  };
  // GET .../events after the cursor until an answer brings nothing new (fills holes too).
  auto read_log = [&]() -> Status {
    for (int pages = 0; pages < 1000; ++pages) {
      const int64_t before = follower.cursor();
      Result<std::vector<Value>> records = client_->ListEvents(run->workflow_id, follower.cursor());
      if (!records.ok()) return records.status();
      FollowOutcome reconciled = follower.Reconcile(std::move(*records));
      const bool brought = !reconciled.deliver.empty();
      absorb(reconciled);
      if (!brought || follower.cursor() == before) return Status::OK();
    }
    return Status::OK();
  };
  int failures = 0;
  int complete_reads_with_hole = 0;
  std::mt19937_64 jitter(RandomU64());
  // Reused for every frame: no allocation per event. The batch is not reserved up front: its two
  // buffers (BatchCommitter swaps them) grow to the largest batch this run has had, which for
  // hundreds of runs at once is far less than flush_events slots each (a reserve of 2,000 held
  // 43 of the 78 MB of 200 concurrent runs).
  FollowOutcome offered;
  while (true) {
    const int64_t before = follower.cursor();
    SseParser parser;
    follower.StreamStarted();
    HttpRequest req = client_->EventStreamRequest(run->workflow_id, follower.cursor(),
                                                  follower.cursor() > 0 ? follower.LastEventId() : "");
    // Read on the transport's stream thread (the loop's, for a StreamLoop) while this coroutine
    // waits: it holds no thread meanwhile. A batch due while the one before is still being
    // committed pauses the stream until that commit is done, instead of waiting there.
    auto stream = std::make_shared<std::shared_ptr<AsyncStream>>();
    AsyncStreamHandlers handlers;
    // A batch left waiting (for its interval, or for the commit before it) is not left to the
    // stream's next bytes, which may be seconds away: the stream is poked then (AsyncStream::
    // Poke), and an empty chunk comes back here. `poked` is the one poke for the interval.
    bool poked = false;
    handlers.on_chunk = [&, stream](std::string_view bytes) {
      if (bytes.empty()) poked = false;
      Status fs = parser.Feed(bytes, [&](const SseEvent& e) {
        follower.Offer(e, &offered);
        absorb(offered);
      });
      if (!fs.ok()) return false;
      // A batch due while the one before is still committing keeps growing (one transaction
      // and one fsync for more events: a fast stream's batches grow to what the disk can take)
      // until it must go: at max_batch_events, or for memory's sake.
      const bool must = batch.events.size() >= options_.max_batch_events || committer.ShouldSubmitForMemory();
      const auto since = Clock::now() - last_flush;
      if (must || batch.events.size() >= options_.flush_events || since >= options_.flush_interval) {
        if (!committer.Busy()) {
          store_error = flush(/*wait=*/false);
          if (!store_error.ok()) return false;
          poked = false;  // the next batch gets a poke of its own
        } else {
          if (must) (*stream)->Pause();  // else read on, the batch growing meanwhile
          committer.WhenIdle([stream] {  // the commit before is done: this batch goes next
            (*stream)->Resume();         // nothing when it was not paused
            (*stream)->Poke(std::chrono::milliseconds(0));
          });
        }
      } else if (!batch.events.empty() && !poked) {
        poked = true;
        (*stream)->Poke(std::chrono::duration_cast<std::chrono::milliseconds>(options_.flush_interval - since) +
                        std::chrono::milliseconds(1));
      }
      return !stop;
    };
    // Named, not a temporary: GCC 12 destroys a braced temporary awaiter twice.
    StreamAwaiter awaiter{transport_, std::move(req), std::move(handlers), stream, options_.cancel, ex_};
    Result<HttpResponse> head = co_await awaiter;
    parser.Finish();
    if (!store_error.ok()) co_return store_error;
    if (options_.cancel && options_.cancel->cancelled()) {
      if (Status s = flush(/*wait=*/true); !s.ok()) co_return s;  // everything received so far, with its cursor
      co_return Status::Error(Status::Code::kCancelled, "interrupted; the workflow keeps running on the server");
    }
    std::optional<std::chrono::milliseconds> retry_after;
    if (!head.ok()) {
      if (head.status().code() != Status::Code::kUnavailable) co_return head.status();
    } else if (head->status == 401 || head->status == 402 || head->status == 403) {
      co_return Status::Error(Status::Code::kPermission, "event stream: HTTP " + std::to_string(head->status))
          .WithHttp(head->status);
    } else if (head->status == 404 || head->status == 410) {
      co_return Status::NotFound("event stream of workflow " + run->workflow_id + ": HTTP " + std::to_string(head->status))
          .WithHttp(head->status, "not_found");
    } else if (head->status >= 300) {
      // Parsed, never converted blindly: a 309-digit value must not throw in a worker thread.
      if (std::optional<double> s = ParseRetryAfter(head->Header("Retry-After"), head->Header("Date"),
                                                    std::chrono::system_clock::now()))
        retry_after = std::chrono::milliseconds(static_cast<int64_t>(
            std::min(*s * 1000.0, static_cast<double>(options_.max_retry_after.count()))));
    }
    // The workflow has ended when the stream said so; otherwise, when nothing came, ask.
    bool ended = stop;
    if (!ended && follower.cursor() == before)
      if (Status s = record_says_ended(&ended); !s.ok()) co_return s;
    // Holes, a dropped stream, or an end: read the log itself, to its end. After an end this
    // read happens after the end was known, so it holds every event the workflow produced.
    if (ended || follower.gap() || head.ok()) {
      Status read = read_log();
      if (read.code() == Status::Code::kPermission) co_return read;
      if (!read.ok()) {
        ended = false;  // not read to the end: not done yet
      } else if (ended && follower.gap() && ++complete_reads_with_hole >= 3) {
        // Read to its end three times since the workflow ended and these sequences are still
        // missing (one stale answer is not enough to decide): the server's log has a hole.
        const SequenceRange hole = *follower.gap();
        Say(run->id + ": the server's event log has no events " + std::to_string(hole.first) + ".." +
            std::to_string(hole.last) + "; continuing without them");
        FollowOutcome skipped = follower.SkipGap();
        absorb(skipped);
        complete_reads_with_hole = 0;
      }
    }
    if (Status s = flush(/*wait=*/true); !s.ok()) co_return s;
    if (ended && !follower.gap()) {
      // Only a terminal end: after a wait for a person the workflow goes on, and a record that
      // says it ended later means reading the log again (Confirm).
      caught_up_after_end_ = ended_for_good();
      co_return Status::OK();
    }
    if (follower.cursor() > before) {
      failures = 0;
    } else if (++failures > options_.max_stream_failures) {
      co_return Status::Error(Status::Code::kUnavailable, "event stream of " + run->workflow_id +
                                                           ": no progress after " + std::to_string(failures) + " attempts");
    }
    const int64_t cap = std::min<int64_t>(options_.backoff_max.count(), options_.backoff_base.count() << std::min(failures, 10));
    std::chrono::milliseconds wait{failures == 0 ? 0 : std::uniform_int_distribution<int64_t>(0, cap)(jitter)};
    if (retry_after) wait = std::max(wait, *retry_after);
    const std::string why =
        head.ok() ? "HTTP " + std::to_string(head->status) : client_->Redact(head.status().message());
    if (wait > options_.log_poll_interval) {
      // A long Retry-After for the stream: honoured for the stream, while the workflow and its
      // log (other routes) are read every log_poll_interval, so an ending run is not kept waiting.
      Say(run->id + ": event stream unavailable (" + why + "); next try in " + FormatElapsed(wait) +
          ", reading the event log every " + FormatElapsed(options_.log_poll_interval) + " meanwhile");
      for (std::chrono::milliseconds left = wait; left.count() > 0;) {
        const std::chrono::milliseconds step = std::min(left, options_.log_poll_interval);
        if (!co_await WaitAsync(step)) break;  // a Ctrl-C: the loop sees the cancel at the next stream
        left -= step;
        if (left.count() == 0) break;  // the stream may be asked again
        bool now_ended = false;
        if (Status s = record_says_ended(&now_ended); !s.ok()) co_return s;
        const int64_t polled_from = follower.cursor();
        Status read = read_log();  // after the end was known, when it is: the whole log
        if (read.code() == Status::Code::kPermission) co_return read;
        if (Status s = flush(/*wait=*/true); !s.ok()) co_return s;
        if (follower.cursor() > polled_from) failures = 0;
        if (read.ok() && now_ended && !follower.gap()) {
          caught_up_after_end_ = ended_for_good();
          co_return Status::OK();
        }
      }
      continue;
    }
    if (failures > 0 || wait >= std::chrono::seconds(1))
      Say(run->id + ": event stream unavailable (" + why + "); retrying, next try in " + FormatElapsed(wait));
    co_await WaitAsync(wait);  // a Ctrl-C ends it; the loop then sees the cancel at the next stream
  }
}

Status ServerRunner::CatchUp(RunRecord* run) {
  EventFollower follower({.workflow_id = run->workflow_id, .cursor = std::max<int64_t>(run->cursor, 0)});
  for (int pages = 0; pages < 1000; ++pages) {
    Result<std::vector<Value>> records = client_->ListEvents(run->workflow_id, follower.cursor());
    if (!records.ok()) return records.status();
    FollowOutcome got = follower.Reconcile(std::move(*records));
    if (got.deliver.empty()) break;
    EventBatch batch;
    for (const FollowedEvent& e : got.deliver)
      batch.events.push_back(EventRecord{.sequence = e.sequence, .type = e.type, .status = e.status, .json = e.json});
    batch.cursor = follower.cursor();
    Result<AppendResult> r = store_->AppendEvents(run->id, batch);
    if (!r.ok()) return r.status();
    CrashPoint("catchup.committed");
    run->cursor = r->cursor;
    if (options_.reporter)
      for (const FollowedEvent& e : got.deliver)
        if (options_.reporter->WantsEvent(e.type))
          if (Result<Value> record = ParseJson(e.json); record.ok()) options_.reporter->Event(run->id, *record);
  }
  if (follower.gap()) {
    // The server's own log has a hole after the workflow ended: those events do not exist.
    Say(run->id + ": the server's event log has no events " + std::to_string(follower.gap()->first) + ".." +
        std::to_string(follower.gap()->last) + "; continuing without them");
  }
  return Status::OK();
}

Status ServerRunner::Confirm(RunRecord* run, RunOutcome* outcome) {
  Result<Value> got = client_->GetWorkflow(run->workflow_id);
  if (!got.ok()) return got.status();
  Result<RunUpdate> update = RecordUpdate(*got);
  if (!update.ok()) return Status::Internal("workflow " + run->workflow_id + ": " + update.status().message());
  CrashPoint("confirm.fetched");
  if (IsTerminal(*update->status) && !caught_up_after_end_) {
    // The record says it ended, but the events were last read before that was known.
    if (Status s = CatchUp(run); !s.ok()) return s;
    caught_up_after_end_ = true;
  }
  if (Status s = store_->UpdateRun(run->id, *update); !s.ok()) return s;
  CrashPoint("confirm.stored");
  run->status = *update->status;
  outcome->status = *update->status;
  outcome->waiting_reason = update->waiting_reason.value_or("");
  outcome->awaiting_cost_approval = AwaitsCostApproval(*got);
  const std::string wire = got->StringAt("status");
  if (wire != last_status_) Say(run->id + ": " + wire), last_status_ = wire;
  return Status::OK();
}

Result<RunOutcome> ServerRunner::WorkflowGone(RunRecord* run, const Status& why) {
  Value error = Value::Object();
  error.Set("code", Value::String("workflow_not_found"));
  error.Set("message", Value::String("the server no longer knows workflow " + run->workflow_id + " (" +
                                     client_->Redact(why.message()) + ")"));
  if (Status s = store_->UpdateRun(run->id, {.status = RunStatus::kFailed, .error = error}); !s.ok()) return s;
  RunOutcome outcome;
  outcome.status = RunStatus::kFailed;
  outcome.problem = "the server no longer knows workflow " + run->workflow_id +
                    " (it may have expired or been deleted); the run is marked failed. What was stored "
                    "locally stays: `sogni-flow events " + run->id + "`; `sogni-flow forget " + run->id +
                    "` removes it";
  if (Result<int64_t> n = store_->CountEvents(run->id); n.ok()) outcome.events_stored = *n;
  return outcome;
}

Result<RunOutcome> ServerRunner::Drive(const std::string& run_id) {
  InlineExecutor ex;
  return ex.Run(DriveAsync(run_id, ex));
}

Task<Result<RunOutcome>> ServerRunner::DriveAsync(const std::string& run_id_ref, Executor& ex) {
  const std::string run_id = run_id_ref;
  ex_ = &ex;
  co_await ex.Switch();  // off the launching thread: the start below is a network call
  // Stopped (Ctrl-C, --timeout) while it waited for a worker: nothing more is sent for it.
  if (options_.cancel && options_.cancel->cancelled())
    co_return Status::Error(Status::Code::kCancelled, "interrupted before it was driven");
  Result<RunRecord> loaded = store_->GetRun(run_id);
  if (!loaded.ok()) co_return loaded.status();
  RunRecord run = std::move(*loaded);
  RunOutcome outcome;
  caught_up_after_end_ = false;
  if (Status s = Start(&run); !s.ok()) {
    // A reseed refused because the server no longer knows the workflow reseeded: SendIntent
    // stored this run failed with that reason. It has ended; say what to do instead.
    const std::string source = run.params.is_object() ? run.params.StringAt("cloned_from_workflow") : "";
    if (s.reason() != "not_found" || source.empty()) co_return s;
    outcome.status = RunStatus::kFailed;
    outcome.problem = "the server no longer knows workflow " + source + " (of run " +
                      run.params.StringAt("cloned_from_run") +
                      "; it may have expired or been deleted), so it cannot be reseeded: start a new run of the "
                      "plan instead ('sogni-flow run " + run.plan_path + "'). This run is stored failed with that "
                      "reason; 'sogni-flow forget " + run.id + "' removes it";
    co_return outcome;
  }
  if (options_.start_only) {
    outcome.status = run.status;
    co_return outcome;
  }
  if (Status s = ResendOpenIntents(&run); !s.ok()) co_return s;
  // Follow, then confirm with a GET; a record that is not ended yet (the status moved on after a
  // wait for a person, or the stream said more than the record) means following again. A server
  // whose stream and record keep disagreeing is given up on after a while (resumable).
  for (int disagreements = 0;; ++disagreements) {
    if (disagreements > 50)
      co_return Status::Error(Status::Code::kUnavailable, "workflow " + run.workflow_id +
                                                           ": its event stream ends but its record does not");
    if (disagreements > 0 && !co_await WaitAsync(std::min(options_.backoff_max, options_.backoff_base * disagreements)))
      co_return Status::Error(Status::Code::kCancelled, "interrupted; the workflow keeps running on the server");
    if (!IsTerminal(run.status) || !caught_up_after_end_) {
      Status f = co_await Follow(&run);
      if (f.reason() == "not_found") {
        Result<Value> w = client_->GetWorkflow(run.workflow_id);
        if (!w.ok() && w.status().reason() == "not_found") {
          if (!IsTerminal(run.status)) co_return WorkflowGone(&run, w.status());
          // It ended (stored) and is forgotten since: its events are all here; the artifacts
          // still to fetch are tried at their stored URLs.
          outcome.status = run.status;
          break;
        }
        if (!w.ok()) co_return w.status();
        f = Status::Error(Status::Code::kUnavailable, f.message() + ", while a GET of the workflow answers");
      }
      if (!f.ok()) co_return f;
    }
    Status c = Confirm(&run, &outcome);
    if (c.reason() == "not_found") co_return WorkflowGone(&run, c);
    if (!c.ok()) co_return c;
    if (IsTerminal(run.status) || run.status == RunStatus::kWaitingForUser) break;
    caught_up_after_end_ = false;
  }
  if (options_.download) {
    DownloadTally tally;
    Status d = DownloadArtifacts(*store_, *transport_, run,
                                 {.reporter = options_.reporter, .cancel = options_.cancel, .clock = options_.clock},
                                 &tally);
    outcome.artifacts_done = tally.done;
    outcome.artifacts_failed = tally.failed;
    outcome.problem = tally.first_problem;
    if (!d.ok()) co_return d;
  }
  if (Result<int64_t> n = store_->CountEvents(run_id); n.ok()) outcome.events_stored = *n;
  co_return outcome;
}

Result<RunOutcome> ServerRunner::DownloadMissing(const std::string& run_id, const std::string& out_dir) {
  Result<RunRecord> loaded = store_->GetRun(run_id);
  if (!loaded.ok()) return loaded.status();
  RunRecord run = std::move(*loaded);
  if (!out_dir.empty()) run.out_dir = out_dir;
  RunOutcome outcome;
  outcome.status = run.status;
  DownloadTally tally;
  Status d = DownloadArtifacts(*store_, *transport_, run,
                               {.reporter = options_.reporter, .cancel = options_.cancel, .clock = options_.clock}, &tally);
  outcome.artifacts_done = tally.done;
  outcome.artifacts_failed = tally.failed;
  outcome.problem = tally.first_problem;
  if (!d.ok()) return d;
  return outcome;
}

Status ServerRunner::RequestCancel(const RunRecord& run) {
  Result<WorkflowReply> reply = sflow::RequestCancel(*store_, *client_, run);
  if (reply.ok()) return Status::OK();
  const Status& s = reply.status();
  return Status::Error(s.code(), client_->Redact(s.message())).WithHttp(s.http_status(), s.reason());
}

}  // namespace sflow
