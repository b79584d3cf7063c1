// The run driver's decisions, each pinned by a test that scripts what the runner sees: the real
// sandbox on 127.0.0.1 behind a transport that answers chosen requests itself (a 503, a stale
// list, a record held back until the workflow ended). Each test names the rule it holds.
#include <fcntl.h>
#include <unistd.h>

#include <atomic>
#include <functional>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

#include "cli/exit_codes.h"
#include "engine/json.h"
#include "runner/artifact_files.h"
#include "runner/server/server_runner.h"
#include "runner/synchronized_run_store.h"
#include "tests/api/fake_retry_clock.h"
#include "tests/runner/run_test_base.h"

namespace sflow {
namespace {

constexpr const char* kFollowKey = "k-follow-contract-01";
constexpr const char* kFollowPlan = R"(version: 1
name: two-step
steps:
  - id: keyframe
    toolName: generate_image
    arguments: {prompt: "Product render of headphones", model: z-turbo, seed: 1234}
  - id: clip
    toolName: generate_video
    arguments: {prompt: slow orbit, videoModel: ltx23, duration: 3}
    dependsOn:
      - {sourceStepId: keyframe, sourceArtifactIndex: 0, targetArgument: referenceImageIndices,
         mediaType: image, transform: image_index}
)";

using Answer = std::optional<Result<HttpResponse>>;

HttpResponse Reply(int status, std::string body = "", HttpHeaders headers = {}) {
  HttpResponse r;
  r.status = status;
  r.headers = std::move(headers);
  r.body = std::move(body);
  return r;
}

// The path of a request URL without scheme, host and query.
std::string PathOf(const std::string& url) {
  size_t p = url.find('/', url.find("://") + 3);
  return p == std::string::npos ? "/" : url.substr(p, url.find('?', p) - p);
}
bool EndsWith(const std::string& s, const std::string& t) {
  return s.size() >= t.size() && s.compare(s.size() - t.size(), t.size(), t) == 0;
}
bool IsEventList(const HttpRequest& r) { return r.method == "GET" && EndsWith(PathOf(r.url), "/events"); }
bool IsWorkflowGet(const HttpRequest& r) {
  const std::string p = PathOf(r.url);
  return r.method == "GET" && p.rfind("/v1/creative-agent/workflows/", 0) == 0 &&
         p.find('/', std::string("/v1/creative-agent/workflows/").size()) == std::string::npos;
}
bool IsEventStream(const HttpRequest& r) { return EndsWith(PathOf(r.url), "/events/stream"); }
bool IsStart(const HttpRequest& r) { return r.method == "POST" && PathOf(r.url) == "/v1/creative-agent/workflows"; }
// The workflow id in a workflow path.
std::string WorkflowOf(const HttpRequest& r) {
  std::string p = PathOf(r.url).substr(std::string("/v1/creative-agent/workflows/").size());
  return p.substr(0, p.find('/'));
}

// The real transport, except where a script answers first. Scripts run on the caller's thread.
class ScriptedTransport : public HttpTransport {
 public:
  explicit ScriptedTransport(HttpTransport* inner) : inner_(inner) {}
  std::function<Answer(const HttpRequest&)> on_send;
  std::function<void(const HttpRequest&, HttpResponse*)> edit_send;  // a passed-through answer
  std::function<Answer(const HttpRequest&)> on_stream;
  // Wraps the body handler of a passed-through stream (to drop frames, say).
  std::function<std::function<bool(std::string_view)>(std::function<bool(std::string_view)>)> filter_stream;
  std::function<void(const HttpRequest&)> after_stream;

  Result<HttpResponse> Send(const HttpRequest& r) override {
    if (on_send)
      if (Answer a = on_send(r)) return *a;
    Result<HttpResponse> got = inner_->Send(r);
    if (got.ok() && edit_send) edit_send(r, &*got);
    return got;
  }
  Result<HttpResponse> Stream(const HttpRequest& r, const StreamHandlers& h, StreamCancel* cancel) override {
    {
      std::lock_guard<std::mutex> lock(mu_);
      streams_.push_back(r.url);
    }
    if (on_stream)
      if (Answer a = on_stream(r)) return *a;
    StreamHandlers handlers = h;
    if (filter_stream && IsEventStream(r)) handlers.on_chunk = filter_stream(h.on_chunk);
    Result<HttpResponse> got = inner_->Stream(r, handlers, cancel);
    if (after_stream) after_stream(r);
    return got;
  }
  std::vector<std::string> streams() {
    std::lock_guard<std::mutex> lock(mu_);
    return streams_;
  }

 private:
  HttpTransport* inner_;
  std::mutex mu_;
  std::vector<std::string> streams_;
};

class FollowContractTest : public RunTestBase {
 protected:
  void Start(int step_ms = 20, const std::string& faults = "") {
    SandboxOptions so;
    so.step_ms = step_ms;
    so.api_keys = {kFollowKey};
    so.faults = faults;
    so.keepalive_ms = 200;
    StartBackend(so, kFollowKey);
    OpenStoreAt(tmp_.path() + "/state");
    run_ = NewRunOf(kFollowPlan, kFollowKey, false);
  }
  ServerRunner Runner(HttpTransport* t, ServerRunnerOptions o) {
    client_ = std::make_unique<ApiClient>(t, ClientOptions());
    return ServerRunner(&dir_->store(), client_.get(), t, std::move(o));
  }
  ApiClientOptions ClientOptions() {
    ApiClientOptions api;
    api.base_url = sandbox_->url();
    api.api_key = kFollowKey;
    api.retry.base_delay = std::chrono::milliseconds(5);
    api.retry.max_delay = std::chrono::milliseconds(20);
    api.retry.max_attempts = 4;
    return api;
  }
  // The sandbox's own view of a workflow: its status and its event log.
  Value Log(const std::string& workflow_id) { return admin_->Get("/_sandbox/events/" + workflow_id).json; }
  bool Ended(const std::string& workflow_id) {
    const Value log = Log(workflow_id);  // kept alive: Find returns a pointer into it
    const Value* s = log.Find("status");
    return s && s->is_string() && (s->as_string() == "completed" || s->as_string() == "failed" ||
                                   s->as_string() == "cancelled" || s->as_string() == "partial_failure");
  }
  void WaitUntilEnded(const std::string& workflow_id) {
    for (int i = 0; i < 3000 && !Ended(workflow_id); ++i) std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  std::string Workflow() { return dir_->store().GetRun(run_)->workflow_id; }
  // Stored events equal the sandbox's log: every one, once, in order.
  void ExpectAllEvents() {
    const std::string wid = Workflow();
    Value log = Log(wid);
    const Value* events = log.Find("events");
    ASSERT_TRUE(events && events->is_array());
    auto stored = dir_->store().ListEvents(run_, -1, 0);
    ASSERT_TRUE(stored.ok());
    ASSERT_EQ(stored->size(), events->items().size()) << "events stored vs the server's log";
    for (size_t i = 0; i < stored->size(); ++i) EXPECT_EQ(*ParseJson((*stored)[i].json), events->items()[i]);
  }
  RunStatus StoredStatus() { return dir_->store().GetRun(run_)->status; }

  std::string run_;
};

// THE RULE (defect "lost tail"): stream attempts answered 503, a list of events that finds
// nothing while the workflow runs, and a GET of the workflow answered only once it has ended. The
// run must not be stored terminal before the events produced meanwhile are fetched.
TEST_F(FollowContractTest, ATerminalStatusIsStoredOnlyAfterTheLogIsReadToItsEndAfterTheEnd) {
  Start(/*step_ms=*/30);
  ScriptedTransport t(transport_.get());
  t.on_stream = [&](const HttpRequest& r) -> Answer {
    if (!IsEventStream(r) || Ended(WorkflowOf(r))) return std::nullopt;
    return Reply(503, R"({"status":"error","message":"busy"})", {{"Retry-After", "0"}});
  };
  t.on_send = [&](const HttpRequest& r) -> Answer {
    if (IsEventList(r) && !Ended(WorkflowOf(r))) return Reply(200, R"({"status":"success","data":{"events":[]}})");
    if (IsWorkflowGet(r)) WaitUntilEnded(WorkflowOf(r));  // answered only after the end
    return std::nullopt;
  };
  ServerRunner runner = Runner(&t, FastOptions());
  Result<RunOutcome> out = runner.Drive(run_);
  ASSERT_TRUE(out.ok()) << out.status().ToString();
  EXPECT_EQ(out->status, RunStatus::kCompleted);
  ExpectAllEvents();
  EXPECT_EQ(out->events_stored, static_cast<int64_t>(Log(Workflow()).Find("events")->items().size()));
}

// The follower gives up after max_stream_failures consecutive attempts without progress, and
// not one attempt sooner.
TEST_F(FollowContractTest, TheStreamIsTriedExactlyMaxStreamFailuresPlusOneTimes) {
  Start(/*step_ms=*/60000);  // the workflow never gets anywhere during the test
  ScriptedTransport t(transport_.get());
  t.on_stream = [](const HttpRequest& r) -> Answer {
    if (!IsEventStream(r)) return std::nullopt;
    return Reply(503, "{}");
  };
  t.on_send = [](const HttpRequest& r) -> Answer {
    if (IsEventList(r)) return Reply(200, R"({"status":"success","data":{"events":[]}})");
    return std::nullopt;
  };
  FakeRetryClock clock;
  ServerRunnerOptions o = FastOptions();
  o.max_stream_failures = 3;
  o.clock = &clock;
  ServerRunner runner = Runner(&t, o);
  Result<RunOutcome> out = runner.Drive(run_);
  ASSERT_FALSE(out.ok());
  EXPECT_EQ(out.status().code(), Status::Code::kUnavailable);
  EXPECT_NE(out.status().message().find("no progress after 4 attempts"), std::string::npos) << out.status().message();
  int event_streams = 0;
  for (const std::string& u : t.streams()) event_streams += u.find("/events/stream") != std::string::npos;
  EXPECT_EQ(event_streams, 4);
  EXPECT_FALSE(IsTerminal(StoredStatus()));
  EXPECT_NE(progress_.str().find("event stream unavailable (HTTP 503); retrying, next try in"), std::string::npos)
      << progress_.str();
}

// A start intent is sent only once the store says it may have been: marked sent before the POST.
TEST_F(FollowContractTest, TheStartIntentIsMarkedSentBeforeItsPost) {
  Start();
  ScriptedTransport t(transport_.get());
  std::optional<IntentState> at_post;
  t.on_send = [&](const HttpRequest& r) -> Answer {
    if (IsStart(r) && !at_post) {
      auto open = dir_->store().PendingIntents(run_);
      if (open.ok() && !open->empty()) at_post = open->front().state;
    }
    return std::nullopt;
  };
  ServerRunner runner = Runner(&t, FastOptions());
  ASSERT_TRUE(runner.Drive(run_).ok());
  ASSERT_TRUE(at_post.has_value());
  EXPECT_EQ(*at_post, IntentState::kSent);
}

// A start the server refuses for good (401 before any workflow exists) ends the run failed with
// the refusal stored: it is never left "submitting" for every later resume to trip over.
TEST_F(FollowContractTest, AStartRefusedWithAuthEndsTheRunFailed) {
  Start();
  ScriptedTransport t(transport_.get());
  t.on_send = [](const HttpRequest& r) -> Answer {
    if (IsStart(r)) return Reply(401, R"({"status":"error","message":"Invalid API key","errorCode":401})");
    return std::nullopt;
  };
  ServerRunner runner = Runner(&t, FastOptions());
  Result<RunOutcome> out = runner.Drive(run_);
  ASSERT_FALSE(out.ok());
  EXPECT_EQ(out.status().code(), Status::Code::kPermission);
  RunRecord r = *dir_->store().GetRun(run_);
  EXPECT_EQ(r.status, RunStatus::kFailed);
  ASSERT_TRUE(r.error.is_object());
  EXPECT_EQ(r.error.Find("httpStatus")->as_int(), 401);
  EXPECT_TRUE(dir_->store().PendingIntents(run_)->empty()) << "the refused intent stays open";
}

// A terminal status seen on the stream is not stored until the final record (with its
// artifacts) is: a run whose record could not be read stays unfinished, so `resume --all` takes
// it up again.
TEST_F(FollowContractTest, ATerminalEventIsNotStoredBeforeTheFinalRecord) {
  Start();
  ScriptedTransport t(transport_.get());
  t.on_send = [&](const HttpRequest& r) -> Answer {
    if (IsWorkflowGet(r) && Ended(WorkflowOf(r))) return Reply(503, "{}");
    return std::nullopt;
  };
  ServerRunner runner = Runner(&t, FastOptions());
  Result<RunOutcome> out = runner.Drive(run_);
  ASSERT_FALSE(out.ok());
  EXPECT_EQ(out.status().code(), Status::Code::kUnavailable);
  EXPECT_FALSE(IsTerminal(StoredStatus())) << Name(StoredStatus());
  ApiClient clean(transport_.get(), ClientOptions());
  auto later = ServerRunner(&dir_->store(), &clean, transport_.get(), FastOptions()).Drive(run_);
  ASSERT_TRUE(later.ok()) << later.status().ToString();
  EXPECT_EQ(later->status, RunStatus::kCompleted);
  ExpectAllEvents();
}

// When the record and the stream disagree (the stream ended, the record still runs), the next
// round follows from the cursor the last one committed, not from where the run began.
TEST_F(FollowContractTest, AFollowRoundStartsFromTheCursorTheLastOneCommitted) {
  Start();
  ScriptedTransport t(transport_.get());
  std::atomic<int> gets{0};
  t.edit_send = [&](const HttpRequest& r, HttpResponse* a) {
    if (!IsWorkflowGet(r) || gets++ != 0) return;
    Result<Value> v = ParseJson(a->body);  // the first record says "running" once more
    if (!v.ok()) return;
    Value* data = v->Find("data");
    Value* wf = data ? data->Find("workflow") : nullptr;
    if (wf) wf->Set("status", Value::String("running"));
    a->body = v->ToJson();
  };
  std::vector<int64_t> stored_at_stream;
  t.on_stream = [&](const HttpRequest& r) -> Answer {
    if (IsEventStream(r)) stored_at_stream.push_back(*dir_->store().CountEvents(run_));
    return std::nullopt;
  };
  ServerRunner runner = Runner(&t, FastOptions());
  ASSERT_TRUE(runner.Drive(run_).ok());
  std::vector<std::string> streams;
  for (const std::string& u : t.streams())
    if (u.find("/events/stream") != std::string::npos) streams.push_back(u);
  ASSERT_GE(streams.size(), 2u);
  const std::string& second = streams[1];
  EXPECT_NE(second.find("after=" + std::to_string(stored_at_stream[1])), std::string::npos)
      << second << " with " << stored_at_stream[1] << " events stored";
  EXPECT_GT(stored_at_stream[1], 0);
  ExpectAllEvents();
}

// A Retry-After no double can hold (309 digits) is a long wait, capped; never an exception in
// the worker thread.
TEST_F(FollowContractTest, AHugeRetryAfterIsCappedNotThrown) {
  Start();
  ScriptedTransport t(transport_.get());
  std::atomic<bool> once{false};
  t.on_stream = [&](const HttpRequest& r) -> Answer {
    if (!IsEventStream(r) || once.exchange(true)) return std::nullopt;
    return Reply(503, "{}", {{"Retry-After", "1" + std::string(308, '0')}});
  };
  FakeRetryClock clock;
  ServerRunnerOptions o = FastOptions();
  o.clock = &clock;
  o.max_retry_after = std::chrono::milliseconds(70);
  ServerRunner runner = Runner(&t, o);
  Result<RunOutcome> out = runner.Drive(run_);
  ASSERT_TRUE(out.ok()) << out.status().ToString();
  EXPECT_EQ(out->status, RunStatus::kCompleted);
  int64_t slept = 0;
  for (auto d : clock.sleeps()) slept += d.count();
  EXPECT_GE(slept, 70);
  EXPECT_LT(slept, 5000);
}

// A long Retry-After on the stream is honoured for the stream, but the workflow and its log are
// read every log_poll_interval meanwhile: a run that ends during it ends then, with every event,
// without asking the stream again (it used to wait the whole Retry-After, silently).
TEST_F(FollowContractTest, ALongStreamRetryAfterReadsTheLogMeanwhile) {
  Start();
  ScriptedTransport t(transport_.get());
  t.on_stream = [&](const HttpRequest& r) -> Answer {
    if (!IsEventStream(r)) return std::nullopt;
    return Reply(503, "{}", {{"Retry-After", "3600"}});
  };
  std::atomic<int> workflow_gets{0};
  t.on_send = [&](const HttpRequest& r) -> Answer {
    // The second read of the workflow (the first poll during the wait) is answered once the
    // workflow has ended: it ends during the Retry-After.
    if (IsWorkflowGet(r) && workflow_gets.fetch_add(1) == 1) WaitUntilEnded(WorkflowOf(r));
    return std::nullopt;
  };
  FakeRetryClock clock;
  ServerRunnerOptions o = FastOptions();
  o.clock = &clock;
  o.max_retry_after = std::chrono::hours(1);
  o.log_poll_interval = std::chrono::seconds(5);
  ServerRunner runner = Runner(&t, o);
  Result<RunOutcome> out = runner.Drive(run_);
  ASSERT_TRUE(out.ok()) << out.status().ToString();
  EXPECT_EQ(out->status, RunStatus::kCompleted);
  ExpectAllEvents();
  size_t event_streams = 0;
  for (const std::string& u : t.streams()) event_streams += PathOf(u).find("/events/stream") != std::string::npos;
  EXPECT_EQ(event_streams, 1u) << "the stream was asked again before its Retry-After passed";
  int64_t slept = 0;
  for (auto d : clock.sleeps()) slept += d.count();
  EXPECT_LT(slept, 3600 * 1000) << "the whole Retry-After was waited";
  EXPECT_NE(progress_.str().find("reading the event log every 5.0s meanwhile"), std::string::npos) << progress_.str();
}

// A stream that stopped at a wait for a person is not "read to the end after the end": when the
// workflow's record then says it has ended (someone confirmed the cost elsewhere and it ran to
// the end between), the log is read again before the final status is stored.
TEST_F(FollowContractTest, AnEndAfterAWaitForAPersonIsReadToTheEndBeforeItIsStored) {
  SandboxOptions so;
  so.step_ms = 20;
  so.api_keys = {kFollowKey};
  so.keepalive_ms = 200;
  so.price_percent = 400;  // the server prices over the plan's ceiling: the start waits for a person
  StartBackend(so, kFollowKey);
  OpenStoreAt(tmp_.path() + "/state");
  run_ = NewRunOf(std::string(kFollowPlan) + "budget: {max_units: 5}\n", kFollowKey, /*send_max_units=*/true);
  ScriptedTransport t(transport_.get());
  std::atomic<bool> confirmed{false};
  t.on_send = [&](const HttpRequest& r) -> Answer {
    // The record read after the stream stopped at waiting_for_user: confirmed elsewhere, and
    // answered once the workflow has ended.
    if (IsWorkflowGet(r) && !confirmed.exchange(true)) {
      ApiClient other(transport_.get(), ClientOptions());
      Value decision = Value::Object();
      decision.Set("decision", Value::String("confirm"));
      EXPECT_TRUE(other.ConfirmCost(WorkflowOf(r), decision, "k-elsewhere-1").ok());
      WaitUntilEnded(WorkflowOf(r));
    }
    return std::nullopt;
  };
  ServerRunnerOptions o = FastOptions();
  ServerRunner runner = Runner(&t, o);
  Result<RunOutcome> out = runner.Drive(run_);
  ASSERT_TRUE(out.ok()) << out.status().ToString();
  ASSERT_TRUE(confirmed.load()) << "the run never waited for a person";
  EXPECT_EQ(out->status, RunStatus::kCompleted);
  ExpectAllEvents();
}

// A hole the stream left and the first lists of events (stale) still show: not a reason to end
// without those events; a later, complete list fills it.
TEST_F(FollowContractTest, AHoleIsFilledBeforeTheRunEndsEvenWhenTheFirstListsAreStale) {
  Start();
  ScriptedTransport t(transport_.get());
  constexpr int64_t kMissing = 3;
  // Drops the frame of sequence 3 from every stream (frames may span chunks: buffer whole ones).
  t.filter_stream = [&](std::function<bool(std::string_view)> inner) {
    auto buffer = std::make_shared<std::string>();
    return [inner, buffer](std::string_view bytes) {
      buffer->append(bytes);
      std::string out;
      for (size_t end; (end = buffer->find("\n\n")) != std::string::npos;) {
        std::string frame = buffer->substr(0, end + 2);
        buffer->erase(0, end + 2);
        if (frame.find("\"sequence\":" + std::to_string(kMissing) + ",") == std::string::npos) out += frame;
      }
      return out.empty() ? true : inner(out);
    };
  };
  std::atomic<int> stale{2};
  t.edit_send = [&](const HttpRequest& r, HttpResponse* a) {
    if (!IsEventList(r) || stale <= 0) return;
    Result<Value> v = ParseJson(a->body);
    if (!v.ok() || !v->Find("data")) return;
    const Value* events = v->Find("data")->Find("events");
    Value kept = Value::Array();
    for (const Value& e : events->items())
      if (e.Find("sequence")->as_int() != kMissing) kept.Append(e);
    v->Find("data")->Set("events", kept);
    a->body = v->ToJson();
    --stale;
  };
  ServerRunner runner = Runner(&t, FastOptions());
  Result<RunOutcome> out = runner.Drive(run_);
  ASSERT_TRUE(out.ok()) << out.status().ToString();
  EXPECT_EQ(out->status, RunStatus::kCompleted);
  ExpectAllEvents();
}

// A run whose step fails ends failed, with the step's error stored and the exit code 1; one that
// partly fails ends partial_failure with the artifacts of the steps that worked downloaded.
TEST_F(FollowContractTest, AFailedRunEndsFailedWithTheStepErrorStored) {
  Start(20, "step_fail=1");
  ServerRunner runner = Runner(transport_.get(), FastOptions());
  Result<RunOutcome> out = runner.Drive(run_);
  ASSERT_TRUE(out.ok()) << out.status().ToString();
  EXPECT_EQ(out->status, RunStatus::kFailed);
  EXPECT_EQ(ExitCodeForOutcome(*out), kExitRunFailed);
  RunRecord r = *dir_->store().GetRun(run_);
  EXPECT_EQ(r.status, RunStatus::kFailed);
  bool step_error = false;
  for (const StepRecord& s : r.steps)
    step_error = step_error || (s.status == RunStatus::kFailed && s.error.is_object() && s.error.Find("message"));
  EXPECT_TRUE(step_error) << "no failed step with its error stored";
  ExpectAllEvents();
}

TEST_F(FollowContractTest, APartialFailureDownloadsWhatWorked) {
  SandboxOptions so;
  so.step_ms = 20;
  so.api_keys = {kFollowKey};
  so.faults = "partial_failure=1";
  StartBackend(so, kFollowKey);
  OpenStoreAt(tmp_.path() + "/state");
  // Two independent steps: the first fails, the second works.
  run_ = NewRunOf(R"(version: 1
name: two-apart
steps:
  - {id: a, toolName: generate_image, arguments: {prompt: a lamp, seed: 1}}
  - {id: b, toolName: generate_image, arguments: {prompt: a chair, seed: 2}}
)", kFollowKey, false);
  ServerRunner runner = Runner(transport_.get(), FastOptions());
  Result<RunOutcome> out = runner.Drive(run_);
  ASSERT_TRUE(out.ok()) << out.status().ToString();
  EXPECT_EQ(out->status, RunStatus::kPartialFailure);
  EXPECT_EQ(ExitCodeForOutcome(*out), kExitRunFailed);
  EXPECT_GE(out->artifacts_done, 1);
  EXPECT_EQ(out->artifacts_failed, 0);
  ExpectAllEvents();
}

// A store that fails its second commit of event batches (one batch, or a group of them, as the
// group committer sends them): Drive stops with that error, nothing after it is stored, and a
// later Drive stores the rest, none twice.
class FailingStore : public SynchronizedRunStore {
 public:
  FailingStore(RunStore* inner, int fail_at) : SynchronizedRunStore(inner), fail_at_(fail_at) {}
  Result<AppendResult> AppendEvents(const std::string& id, const EventBatch& b) override {
    if (++calls_ == fail_at_) return Status::IOError("disk full (test)");
    return SynchronizedRunStore::AppendEvents(id, b);
  }
  std::vector<Result<AppendResult>> AppendEventGroup(const std::vector<RunBatch>& group) override {
    if (++calls_ == fail_at_) return std::vector<Result<AppendResult>>(group.size(), Status::IOError("disk full (test)"));
    return SynchronizedRunStore::AppendEventGroup(group);
  }

 private:
  int fail_at_;
  std::atomic<int> calls_{0};
};

TEST_F(FollowContractTest, AStoreFailureMidFollowStopsAndAResumeCompletesWithoutDuplicates) {
  Start(/*step_ms=*/25);
  FailingStore failing(&dir_->store(), 2);
  ServerRunnerOptions o = FastOptions();
  o.flush_interval = std::chrono::milliseconds(1);  // a batch per frame or two
  auto client = std::make_unique<ApiClient>(transport_.get(), ClientOptions());
  Result<RunOutcome> out = ServerRunner(&failing, client.get(), transport_.get(), o).Drive(run_);
  ASSERT_FALSE(out.ok());
  EXPECT_EQ(out.status().code(), Status::Code::kIOError);
  EXPECT_FALSE(IsTerminal(StoredStatus()));
  int64_t cursor = dir_->store().GetRun(run_)->cursor;
  EXPECT_EQ(*dir_->store().CountEvents(run_), std::max<int64_t>(cursor, 0)) << "events past the cursor were stored";
  Result<RunOutcome> later = ServerRunner(&dir_->store(), client.get(), transport_.get(), FastOptions()).Drive(run_);
  ASSERT_TRUE(later.ok()) << later.status().ToString();
  EXPECT_EQ(later->status, RunStatus::kCompleted);
  ExpectAllEvents();
}

// THE RULE (memory of runs at once): while the followers of a process hold more uncommitted event
// text than the committer's budget, a follower hands its batch over at min_batch_bytes and waits
// for its previous batch, so it reads no further ahead of the disk than that. A slow disk (each
// group takes 15 ms) and a stream that arrives at once: what is held never passes the budget by
// more than what one read hands over (16 KiB), and every event is stored once.
TEST_F(FollowContractTest, UncommittedEventTextStaysWithinTheCommittersBudget) {
  SandboxOptions so;
  so.step_ms = 0;
  so.events_per_step = 400;  // about 200 KB of events, all there at once
  so.api_keys = {kFollowKey};
  StartBackend(so, kFollowKey);
  OpenStoreAt(tmp_.path() + "/state");
  run_ = NewRunOf(kFollowPlan, kFollowKey, false);
  GroupCommitter::Budget budget;
  budget.pending_bytes = 32 << 10;
  budget.min_batch_bytes = 4 << 10;
  std::atomic<size_t> most{0};
  std::atomic<int> groups{0};
  GroupCommitter* self = nullptr;
  GroupCommitter committer(
      [&](const std::vector<RunStore::RunBatch>& g) {
        size_t held = self ? self->pending_bytes() : 0;
        for (size_t m = most.load(); held > m && !most.compare_exchange_weak(m, held);) {
        }
        ++groups;
        std::this_thread::sleep_for(std::chrono::milliseconds(15));
        return dir_->store().AppendEventGroup(g);
      },
      budget);
  self = &committer;
  ServerRunnerOptions o = FastOptions();
  o.committer = &committer;
  o.flush_interval = std::chrono::seconds(60);  // only the memory rule and the stream's end submit
  o.flush_events = 1000000;
  o.download = false;
  Result<RunOutcome> out = Runner(transport_.get(), o).Drive(run_);
  ASSERT_TRUE(out.ok()) << out.status().ToString();
  EXPECT_EQ(out->status, RunStatus::kCompleted);
  ExpectAllEvents();
  EXPECT_GT(groups.load(), 4) << "the stream was not committed in pieces";
  EXPECT_LE(most.load(), budget.pending_bytes + (16 << 10)) << "uncommitted event text past the budget";
  EXPECT_EQ(committer.pending_bytes(), 0u) << "held text not released";
}

// A batch due while the one before it commits goes on growing, up to max_batch_events, instead
// of pausing the stream at flush_events: a stream faster than the disk is committed in batches
// as large as the disk's pace allows (one stream of 100,000 events: 80 fsyncs -> 16).
TEST_F(FollowContractTest, ABatchDueWhileTheOneBeforeCommitsGrowsUpToItsCap) {
  SandboxOptions so;
  so.step_ms = 0;
  so.events_per_step = 2000;  // about 6,000 events, all there at once
  so.api_keys = {kFollowKey};
  StartBackend(so, kFollowKey);
  OpenStoreAt(tmp_.path() + "/state");
  run_ = NewRunOf(kFollowPlan, kFollowKey, false);
  std::mutex mu;
  std::vector<size_t> sizes;
  GroupCommitter committer([&](const std::vector<RunStore::RunBatch>& g) {
    {
      std::lock_guard<std::mutex> lock(mu);
      for (const RunStore::RunBatch& b : g) sizes.push_back(b.batch->events.size());
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(30));  // a slow disk
    return dir_->store().AppendEventGroup(g);
  });
  ServerRunnerOptions o = FastOptions();
  o.committer = &committer;
  o.flush_interval = std::chrono::seconds(60);
  o.flush_events = 20;
  o.max_batch_events = 1500;
  o.download = false;
  Result<RunOutcome> out = Runner(transport_.get(), o).Drive(run_);
  ASSERT_TRUE(out.ok()) << out.status().ToString();
  EXPECT_EQ(out->status, RunStatus::kCompleted);
  ExpectAllEvents();
  std::lock_guard<std::mutex> lock(mu);
  size_t total = 0, most = 0;
  for (size_t n : sizes) total += n, most = std::max(most, n);
  std::string all;
  for (size_t n : sizes) all += std::to_string(n) + " ";
  EXPECT_GE(most, 1000u) << "no batch grew while the one before committed: " << all;
  EXPECT_LE(most, 1500u + 400u) << "a batch went past its cap by more than one read: " << all;
  EXPECT_LE(sizes.size(), total / 300) << "batches stayed small: " << all;
}

// A part file changed under the downloader after its bytes arrived (a second writer) is never
// published: its size is checked against what the server announced.
TEST_F(FollowContractTest, APartFileThatGrewAfterTheDownloadIsNotPublished) {
  Start();
  ScriptedTransport t(transport_.get());
  std::atomic<bool> tried{false}, tampered{false};
  t.after_stream = [&](const HttpRequest& r) {
    if (r.url.find("/_sandbox/media/") == std::string::npos || tried.exchange(true)) return;
    const std::string part = PartPathFor(dir_->store().GetRun(run_)->out_dir + "/keyframe", run_, 0);
    int fd = ::open(part.c_str(), O_WRONLY | O_APPEND);
    if (fd >= 0) {
      tampered = ::write(fd, "XX", 2) == 2;
      ::close(fd);
    }
  };
  ServerRunner runner = Runner(&t, FastOptions());
  Result<RunOutcome> out = runner.Drive(run_);
  ASSERT_TRUE(tampered) << "the part file was not where PartPathFor says";
  ASSERT_FALSE(out.ok());
  EXPECT_EQ(out.status().code(), Status::Code::kUnavailable);
  std::vector<ArtifactRecord> first = *dir_->store().ListArtifacts(run_);
  for (const ArtifactRecord& a : first) {
    if (a.step_id == "keyframe") {
      EXPECT_NE(a.state, ArtifactState::kDone);
    }
  }
  ApiClient clean(transport_.get(), ClientOptions());
  Result<RunOutcome> later = ServerRunner(&dir_->store(), &clean, transport_.get(), FastOptions()).Drive(run_);
  ASSERT_TRUE(later.ok()) << later.status().ToString();
  EXPECT_EQ(later->artifacts_done, 2);
  std::vector<ArtifactRecord> saved = *dir_->store().ListArtifacts(run_);
  for (const ArtifactRecord& a : saved) {
    HttpResult served = admin_->GetUrl(a.url);
    std::string bytes;
    int fd = ::open(a.local_path.c_str(), O_RDONLY);
    char buf[65536];
    for (ssize_t n; fd >= 0 && (n = ::read(fd, buf, sizeof buf)) > 0;) bytes.append(buf, static_cast<size_t>(n));
    if (fd >= 0) ::close(fd);
    EXPECT_EQ(bytes, served.body) << a.local_path;
  }
}

}  // namespace
}  // namespace sflow
