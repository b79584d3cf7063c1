// DeadlineWatch: cancels StreamCancels whose deadline has passed, from one thread of its own.
//
// A socket's receive timeout bounds each read, not an exchange: a server that sends one byte every
// few seconds never trips it, and would hold a request for hours. The transport watches every
// Send() here with the deadline of the whole exchange; at the deadline the StreamCancel shuts the
// socket down, the blocked read returns, and Send() reports the deadline. One thread serves every
// request of a transport (started by the first Watch, joined by the destructor), so that a
// request costs no thread.
//
// Thread-safe. After Unwatch(c) returns, c is never cancelled by the watch, so `c` may go away.
#ifndef SFLOW_API_DEADLINE_WATCH_H_
#define SFLOW_API_DEADLINE_WATCH_H_

#include <chrono>
#include <condition_variable>
#include <map>
#include <mutex>
#include <thread>

#include "api/http_transport.h"

namespace sflow {

class DeadlineWatch {
 public:
  using Clock = std::chrono::steady_clock;

  DeadlineWatch() = default;
  ~DeadlineWatch();
  DeadlineWatch(const DeadlineWatch&) = delete;
  DeadlineWatch& operator=(const DeadlineWatch&) = delete;

  // Until Unwatch(cancel): cancel->Cancel() at `deadline`. One deadline per StreamCancel.
  void Watch(StreamCancel* cancel, Clock::time_point deadline);
  void Unwatch(StreamCancel* cancel);

 private:
  void Loop();

  std::mutex mu_;
  std::condition_variable changed_;
  std::multimap<Clock::time_point, StreamCancel*> by_time_;
  std::map<StreamCancel*, std::multimap<Clock::time_point, StreamCancel*>::iterator> by_cancel_;
  std::thread thread_;
  bool stopping_ = false;
};

}  // namespace sflow

#endif  // SFLOW_API_DEADLINE_WATCH_H_
