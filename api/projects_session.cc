#include "api/projects_session.h"

#include <algorithm>
#include <cmath>
#include <unordered_set>

#include "api/projects_frames.h"
#include "engine/random.h"

namespace sflow {

namespace {

using std::chrono::milliseconds;

std::string Upper(std::string s) {
  for (char& c : s)
    if (c >= 'a' && c <= 'z') c = static_cast<char>(c - 'a' + 'A');
  return s;
}

// The upper-cased `id` of each object in data.<key>.
std::vector<std::string> ListedIds(const Value& data, const char* key) {
  std::vector<std::string> ids;
  const Value* list = data.Find(key);
  if (!list || !list->is_array()) return ids;
  for (const Value& p : list->items()) {
    const Value* id = p.is_object() ? p.Find("id") : nullptr;
    if (id && id->is_string() && !id->as_string().empty()) ids.push_back(Upper(id->as_string()));
  }
  return ids;
}

// data.<key> reduced to the entries whose id is `id`.
Value Only(const Value& data, const char* key, const std::string& id) {
  Value out = Value::Array();
  const Value* list = data.Find(key);
  if (!list || !list->is_array()) return out;
  for (const Value& p : list->items()) {
    const Value* pid = p.is_object() ? p.Find("id") : nullptr;
    if (pid && pid->is_string() && Upper(pid->as_string()) == id) out.Append(p);
  }
  return out;
}

}  // namespace

// --- ProjectInbox ------------------------------------------------------------------------------

std::vector<SessionEvent> ProjectInbox::Wait(milliseconds wait) {
  std::unique_lock<std::mutex> lock(mu_);
  arrived_.wait_for(lock, wait, [&] { return !queue_.empty(); });
  std::vector<SessionEvent> out(std::make_move_iterator(queue_.begin()), std::make_move_iterator(queue_.end()));
  queue_.clear();
  return out;
}

void ProjectInbox::Push(SessionEvent event) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    queue_.push_back(std::move(event));
  }
  arrived_.notify_all();
}

size_t ProjectInbox::size() const {
  std::lock_guard<std::mutex> lock(mu_);
  return queue_.size();
}

// --- ProjectsSession ---------------------------------------------------------------------------

ProjectsSession::ProjectsSession(Connect connect, RetryClock* clock, ProjectsSessionOptions options)
    : connect_(std::move(connect)), clock_(clock ? clock : RetryClock::Real()), options_(options),
      rng_(options.seed ? *options.seed : RandomU64()) {
  reader_ = std::thread([this] { Run(); });
}

ProjectsSession::~ProjectsSession() { Shutdown(); }

void ProjectsSession::Shutdown() {
  std::shared_ptr<ProjectsConnection> conn;
  {
    std::lock_guard<std::mutex> lock(mu_);
    stopping_ = true;
    conn = conn_;
  }
  changed_.notify_all();
  if (conn) conn->Close();
  if (reader_.joinable()) reader_.join();
}

void ProjectsSession::Subscribe(const std::string& project_id, std::shared_ptr<ProjectInbox> inbox) {
  const std::string id = Upper(project_id);
  std::lock_guard<std::mutex> lock(mu_);
  unsubscribed_.erase(id);
  routes_[id] = inbox;
  auto it = pending_.find(id);
  if (it != pending_.end()) {
    buffered_ -= it->second.size();
    for (Kept& k : it->second) {
      buffered_bytes_ -= k.bytes;
      inbox->Push(SessionEvent{SessionEventKind::kFrame, std::move(k.frame), Status()});
    }
    pending_.erase(it);
  }
  if (!failed_.ok()) inbox->Push(SessionEvent{SessionEventKind::kSessionFailed, ProjectFrame(), failed_});
}

void ProjectsSession::Unsubscribe(const std::string& project_id) {
  const std::string id = Upper(project_id);
  std::lock_guard<std::mutex> lock(mu_);
  routes_.erase(id);
  auto it = pending_.find(id);
  if (it != pending_.end()) {
    buffered_ -= it->second.size();
    for (const Kept& k : it->second) buffered_bytes_ -= k.bytes;
    pending_.erase(it);
  }
  unsubscribed_.insert(id);
}

void ProjectsSession::SubscribeAccount(std::shared_ptr<ProjectInbox> inbox) {
  std::lock_guard<std::mutex> lock(mu_);
  account_.push_back(inbox);
  if (!failed_.ok()) inbox->Push(SessionEvent{SessionEventKind::kSessionFailed, ProjectFrame(), failed_});
}

Status ProjectsSession::Send(const std::string& frame_text) {
  std::shared_ptr<ProjectsConnection> conn;
  {
    std::unique_lock<std::mutex> lock(mu_);
    bool ready = changed_.wait_for(lock, options_.send_wait,
                                   [&] { return stopping_ || !failed_.ok() || (conn_ && authenticated_); });
    if (!failed_.ok()) return failed_;
    if (stopping_) return Status::Error(Status::Code::kCancelled, "projects socket: the session is shutting down");
    if (!ready)
      return Status::Error(Status::Code::kUnavailable, "projects socket: no connection within " +
                                                           std::to_string(options_.send_wait.count() / 1000) + " s");
    conn = conn_;
  }
  Status s = conn->SendText(frame_text);
  if (s.ok()) return s;
  return Status::Error(Status::Code::kUnavailable, s.message() + " (the frame may not have reached the server)")
      .WithHttp(s.http_status(), s.reason());
}

ListedProjects ProjectsSession::LastListed() const {
  std::lock_guard<std::mutex> lock(mu_);
  return listed_;
}

Status ProjectsSession::failure() const {
  std::lock_guard<std::mutex> lock(mu_);
  return failed_;
}

int ProjectsSession::connections() const {
  std::lock_guard<std::mutex> lock(mu_);
  return connections_;
}

int64_t ProjectsSession::malformed_frames() const {
  std::lock_guard<std::mutex> lock(mu_);
  return malformed_;
}

int64_t ProjectsSession::dropped_frames() const {
  std::lock_guard<std::mutex> lock(mu_);
  return dropped_;
}

void ProjectsSession::Run() {
  int failed_opens = 0;  // opens in a row that never reached `authenticated`
  bool ever_authenticated = false;
  for (;;) {
    {
      std::lock_guard<std::mutex> lock(mu_);
      if (stopping_) return;
    }
    Result<std::unique_ptr<ProjectsConnection>> opened = connect_();
    Status end;
    bool authenticated = false;
    if (opened.ok()) {
      std::shared_ptr<ProjectsConnection> conn = std::move(opened).value();
      {
        std::lock_guard<std::mutex> lock(mu_);
        ++connections_;
        if (stopping_) {
          conn->Close();
          return;
        }
        conn_ = conn;
        authenticated_ = false;
      }
      changed_.notify_all();
      end = ReadUntilEnd(*conn, &authenticated);
      {
        std::lock_guard<std::mutex> lock(mu_);
        conn_.reset();
        authenticated_ = false;
      }
      conn->Close();
      if (end.ok()) return;  // shutting down
      const int code = CloseCodeOf(end);
      if (code >= 4000 && code < 5000) return Fail(end);  // the SDK's isNotRecoverable
    } else {
      end = opened.status();
      const Status::Code c = end.code();
      if (c == Status::Code::kSecurity || c == Status::Code::kPermission || c == Status::Code::kInvalidPlan)
        return Fail(end);
    }
    if (authenticated) {
      ever_authenticated = true;
      failed_opens = 0;
    } else if (++failed_opens >= options_.max_failed_connects) {
      return Fail(Status::Error(end.code() == Status::Code::kOk ? Status::Code::kUnavailable : end.code(),
                                end.message() + " (gave up after " + std::to_string(failed_opens) + " attempts" +
                                    (ever_authenticated ? " to reconnect)" : " to connect)"))
                      .WithHttp(end.http_status(), end.reason()));
    }
    if (!Backoff(failed_opens)) return;
  }
}

bool ProjectsSession::Backoff(int attempt) {
  // The SDK's _scheduleReconnect: min(base * 2^attempt, max), times 0.8..1.2.
  double base = std::min<double>(static_cast<double>(options_.reconnect_base.count()) * std::pow(2.0, std::min(attempt, 20)),
                                 static_cast<double>(options_.reconnect_max.count()));
  std::uniform_real_distribution<double> jitter(0.8, 1.2);
  milliseconds left(static_cast<int64_t>(std::llround(base * jitter(rng_))));
  // In slices, so that Shutdown never waits for a whole backoff.
  while (left.count() > 0) {
    {
      std::lock_guard<std::mutex> lock(mu_);
      if (stopping_) return false;
    }
    milliseconds slice = std::min(left, milliseconds(100));
    if (!clock_->SleepFor(slice)) return false;
    left -= slice;
  }
  std::lock_guard<std::mutex> lock(mu_);
  return !stopping_;
}

Status ProjectsSession::ReadUntilEnd(ProjectsConnection& conn, bool* authenticated) {
  auto next_ping = clock_->Now() + options_.ping_interval;
  const bool reconnection = connections() > 1;
  for (;;) {
    {
      std::lock_guard<std::mutex> lock(mu_);
      if (stopping_) return Status::OK();
    }
    if (clock_->Now() >= next_ping) {
      next_ping = clock_->Now() + options_.ping_interval;
      (void)conn.Ping();  // a failure shows in the next ReceiveText
    }
    Result<std::optional<std::string>> text = conn.ReceiveText(options_.receive_slice);
    if (!text.ok()) {
      std::lock_guard<std::mutex> lock(mu_);
      return stopping_ ? Status::OK() : text.status();
    }
    if (!text->has_value()) continue;
    Result<ProjectFrame> frame = DecodeProjectFrame(**text);
    if (!frame.ok()) {
      std::lock_guard<std::mutex> lock(mu_);
      ++malformed_;
      continue;
    }
    if (frame->type == "authenticated" && !*authenticated) {
      *authenticated = true;
      {
        std::lock_guard<std::mutex> lock(mu_);
        authenticated_ = true;
        if (reconnection) NotifyAll(SessionEvent{SessionEventKind::kReconnected, ProjectFrame(), Status()});
      }
      changed_.notify_all();
    }
    Route(std::move(frame).value(), (**text).size());
  }
}

void ProjectsSession::Route(ProjectFrame frame, size_t wire_bytes) {
  std::lock_guard<std::mutex> lock(mu_);
  if (frame.type == "authenticated" && frame.data.is_object()) {
    ListedProjects listed;
    listed.known = true;
    listed.active = ListedIds(frame.data, "activeProjects");
    listed.unclaimed = ListedIds(frame.data, "unclaimedCompletedProjects");
    std::unordered_set<std::string> seen;
    for (const auto* ids : {&listed.active, &listed.unclaimed}) {
      for (const std::string& id : *ids) {
        if (!seen.insert(id).second) continue;
        Value data = Value::Object();
        data.Set("activeProjects", Only(frame.data, "activeProjects", id));
        data.Set("unclaimedCompletedProjects", Only(frame.data, "unclaimedCompletedProjects", id));
        const size_t bytes = data.ToJson().size();
        RouteToProject(id, ProjectFrame{frame.type, std::move(data)}, bytes);
      }
    }
    listed_ = std::move(listed);
  } else if (const Value* job = frame.data.is_object() ? frame.data.Find("jobID") : nullptr;
             job && job->is_string() && !job->as_string().empty()) {
    return RouteToProject(job->as_string(), std::move(frame), wire_bytes);  // upper-cased by the decoder
  }
  for (const auto& inbox : account_) inbox->Push(SessionEvent{SessionEventKind::kFrame, frame, Status()});
}

void ProjectsSession::RouteToProject(const std::string& id, ProjectFrame frame, size_t wire_bytes) {
  auto route = routes_.find(id);
  if (route != routes_.end()) {
    route->second->Push(SessionEvent{SessionEventKind::kFrame, std::move(frame), Status()});
    return;
  }
  std::deque<Kept>* kept = nullptr;
  if (!unsubscribed_.count(id) && buffered_ < options_.max_buffered_frames &&
      wire_bytes <= options_.max_buffered_bytes - std::min(buffered_bytes_, options_.max_buffered_bytes)) {
    kept = &pending_[id];
    if (kept->size() >= options_.max_buffered_per_project) kept = nullptr;
  }
  if (!kept) {
    ++dropped_;
    return;
  }
  kept->push_back(Kept{std::move(frame), wire_bytes});
  ++buffered_;
  buffered_bytes_ += wire_bytes;
}

void ProjectsSession::NotifyAll(const SessionEvent& event) {
  std::unordered_set<const ProjectInbox*> seen;
  for (const auto& [id, inbox] : routes_)
    if (seen.insert(inbox.get()).second) inbox->Push(event);
  for (const auto& inbox : account_)
    if (seen.insert(inbox.get()).second) inbox->Push(event);
}

void ProjectsSession::Fail(Status why) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    failed_ = why;
    NotifyAll(SessionEvent{SessionEventKind::kSessionFailed, ProjectFrame(), why});
  }
  changed_.notify_all();
}

}  // namespace sflow
