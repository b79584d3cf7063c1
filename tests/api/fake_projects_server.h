// A scripted projects socket for the session tests: each Connect() makes a FakeConnection the
// test drives from its side (frames to deliver, a close with a code, what was sent), so routing,
// reconnects and shutdown are tested without a network and without sleeps.
#ifndef SFLOW_TESTS_API_FAKE_PROJECTS_SERVER_H_
#define SFLOW_TESTS_API_FAKE_PROJECTS_SERVER_H_

#include <chrono>
#include <cstdlib>
#include <condition_variable>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "api/projects_frames.h"
#include "api/projects_socket.h"
#include "engine/json.h"

namespace sflow {

class FakeProjectsServer {
 public:
  // One connection's state, shared by the connection and the server.
  struct Line {
    std::deque<std::string> incoming;  // frames for the client
    std::optional<Status> closed;      // set: ReceiveText returns it once incoming is empty
    std::vector<std::string> sent;     // what the client sent
    int pings = 0;
  };

  // Up to `deadline`, waits for `done` (checked under the server's lock, which is recursive so
  // that `done` may call the accessors below, after every change).
  bool WaitUntil(const std::function<bool()>& done, std::chrono::seconds deadline = std::chrono::seconds(20)) {
    std::unique_lock<std::recursive_mutex> lock(mu_);
    return changed_.wait_for(lock, deadline, done);
  }

  // The session's connect function.
  std::function<Result<std::unique_ptr<ProjectsConnection>>()> Connector() {
    return [this]() -> Result<std::unique_ptr<ProjectsConnection>> {
      std::unique_lock<std::recursive_mutex> lock(mu_);
      ++connect_calls_;
      changed_.notify_all();
      changed_.wait(lock, [&] { return gate_open_; });
      if (!refusals_.empty()) {
        Status s = refusals_.front();
        if (refusals_.size() > 1 || !refuse_forever_) refusals_.pop_front();
        return s;
      }
      auto line = std::make_shared<Line>();
      if (auto_authenticate_) line->incoming.push_back(EncodeProjectFrame("authenticated", auth_data_));
      lines_.push_back(line);
      ++live_;
      changed_.notify_all();
      lock.unlock();
      return std::unique_ptr<ProjectsConnection>(std::make_unique<Conn>(this, line));
    };
  }

  // The next connects fail with these (the last one forever when `forever`).
  void Refuse(std::vector<Status> s, bool forever = false) {
    std::lock_guard<std::recursive_mutex> lock(mu_);
    refusals_.assign(s.begin(), s.end());
    refuse_forever_ = forever;
  }
  void SetGate(bool open) {
    {
      std::lock_guard<std::recursive_mutex> lock(mu_);
      gate_open_ = open;
    }
    changed_.notify_all();
  }
  void SetAuthData(Value data) {
    std::lock_guard<std::recursive_mutex> lock(mu_);
    auth_data_ = std::move(data);
  }
  void SetAutoAuthenticate(bool on) {
    std::lock_guard<std::recursive_mutex> lock(mu_);
    auto_authenticate_ = on;
  }

  // A frame (or any text) on the newest connection (there must be one).
  void Deliver(const std::string& text) {
    {
      std::lock_guard<std::recursive_mutex> lock(mu_);
      if (lines_.empty()) std::abort();
      lines_.back()->incoming.push_back(text);
    }
    changed_.notify_all();
  }
  void DeliverFrame(const std::string& type, const std::string& json) {
    Result<Value> v = ParseJson(json);
    Deliver(EncodeProjectFrame(type, v.ok() ? *v : Value()));
  }
  // The newest connection ends with `code` after what was delivered.
  void CloseWith(int code) {
    {
      std::lock_guard<std::recursive_mutex> lock(mu_);
      if (lines_.empty()) std::abort();
      lines_.back()->closed = ClosedStatus(code, "");
    }
    changed_.notify_all();
  }

  int connect_calls() {
    std::lock_guard<std::recursive_mutex> lock(mu_);
    return connect_calls_;
  }
  int connections() {
    std::lock_guard<std::recursive_mutex> lock(mu_);
    return static_cast<int>(lines_.size());
  }
  std::vector<std::string> Sent(size_t connection) {
    std::lock_guard<std::recursive_mutex> lock(mu_);
    return lines_.at(connection)->sent;
  }
  int Pings() {
    std::lock_guard<std::recursive_mutex> lock(mu_);
    int n = 0;
    for (const auto& l : lines_) n += l->pings;
    return n;
  }
  // Connections whose client called Close().
  int ClientCloses() {
    std::lock_guard<std::recursive_mutex> lock(mu_);
    return client_closes_;
  }
  int live_connections() {
    std::lock_guard<std::recursive_mutex> lock(mu_);
    return live_;
  }

 private:
  class Conn : public ProjectsConnection {
   public:
    Conn(FakeProjectsServer* s, std::shared_ptr<Line> line) : s_(s), line_(std::move(line)) {}
    ~Conn() override {
      std::lock_guard<std::recursive_mutex> lock(s_->mu_);
      --s_->live_;
      s_->changed_.notify_all();
    }
    Status SendText(const std::string& text) override {
      std::lock_guard<std::recursive_mutex> lock(s_->mu_);
      if (line_->closed) return *line_->closed;
      line_->sent.push_back(text);
      s_->changed_.notify_all();
      return Status::OK();
    }
    Status Ping() override {
      std::lock_guard<std::recursive_mutex> lock(s_->mu_);
      if (line_->closed) return *line_->closed;
      ++line_->pings;
      s_->changed_.notify_all();
      return Status::OK();
    }
    Result<std::optional<std::string>> ReceiveText(std::chrono::milliseconds wait) override {
      std::unique_lock<std::recursive_mutex> lock(s_->mu_);
      s_->changed_.wait_for(lock, wait, [&] { return !line_->incoming.empty() || line_->closed; });
      if (!line_->incoming.empty()) {
        std::string t = std::move(line_->incoming.front());
        line_->incoming.pop_front();
        return std::optional<std::string>(std::move(t));
      }
      if (line_->closed) return *line_->closed;
      return std::optional<std::string>();
    }
    void Close() override {
      std::lock_guard<std::recursive_mutex> lock(s_->mu_);
      if (!closed_by_client_) ++s_->client_closes_;
      closed_by_client_ = true;
      if (!line_->closed) line_->closed = ClosedStatus(1000, "");
      s_->changed_.notify_all();
    }

   private:
    FakeProjectsServer* s_;
    std::shared_ptr<Line> line_;
    bool closed_by_client_ = false;
  };

  std::recursive_mutex mu_;
  std::condition_variable_any changed_;
  std::vector<std::shared_ptr<Line>> lines_;
  std::deque<Status> refusals_;
  bool refuse_forever_ = false;
  bool gate_open_ = true;
  bool auto_authenticate_ = true;
  Value auth_data_ = Value::Object();
  int connect_calls_ = 0;
  int client_closes_ = 0;
  int live_ = 0;
};

}  // namespace sflow

#endif  // SFLOW_TESTS_API_FAKE_PROJECTS_SERVER_H_
