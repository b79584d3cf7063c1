// GroupCommitter: one thread that commits the event batches of every run a process follows, in
// groups. Each run's follower hands its batch over and reads on; the thread takes every batch
// queued by then and commits them in one transaction (RunStore::AppendEventGroup: each batch
// whole or not at all), then tells each follower its batch's result, and takes the next group,
// which has gathered meanwhile: leveldb's group commit, with one thread for all runs instead of
// one per run. With `run -j 200` that is 200 threads fewer, and fewer, fuller transactions.
//
// Thread-safe. The batch (and the run id) given to Submit must stay alive and unchanged until
// its `done` has been called. `done` is called on the committer's thread, never under a lock of
// the committer, once per Submit, in the order the batches were submitted. The destructor
// commits what is queued first.
//
// Memory: a follower holds the events it has read and not yet had committed, at most two batches
// (one in flight, one filling). Followers account that text here (Hold, Release); while the
// process holds more than Budget::pending_bytes, each hands its batch over at min_batch_bytes and waits
// for its previous one: the streams are read no faster than the disk commits, and the rest waits
// in the sockets' buffers. One stream alone still gets large batches (few fsyncs).
#ifndef SFLOW_RUNNER_GROUP_COMMITTER_H_
#define SFLOW_RUNNER_GROUP_COMMITTER_H_

#include <atomic>
#include <condition_variable>
#include <cstddef>
#include <deque>
#include <functional>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "engine/run_store.h"
#include "engine/status.h"

namespace sflow {

// The memory rule's figures (see above); tests make them small.
struct CommitBudget {
  size_t pending_bytes = size_t{8} << 20;     // held by all followers together, beyond which...
  size_t min_batch_bytes = size_t{16} << 10;  // ...each hands its batch over at this size
};

class GroupCommitter {
 public:
  using Done = std::function<void(Result<AppendResult>)>;
  using CommitGroup = std::function<std::vector<Result<AppendResult>>(const std::vector<RunStore::RunBatch>&)>;

  // Commits through store->AppendEventGroup, or through `commit` (a caller that must not be
  // reached through its own virtual functions from this thread, e.g. while it is destroyed).
  using Budget = CommitBudget;

  explicit GroupCommitter(RunStore* store, Budget budget = Budget());
  explicit GroupCommitter(CommitGroup commit, Budget budget = Budget());
  ~GroupCommitter();
  GroupCommitter(const GroupCommitter&) = delete;
  GroupCommitter& operator=(const GroupCommitter&) = delete;

  void Submit(const std::string* run_id, const EventBatch* batch, Done done);

  // The uncommitted event text of every follower (see above).
  void Hold(size_t bytes) { pending_bytes_.fetch_add(bytes, std::memory_order_relaxed); }
  void Release(size_t bytes) { pending_bytes_.fetch_sub(bytes, std::memory_order_relaxed); }
  bool OverBudget() const { return pending_bytes() >= budget_.pending_bytes; }
  size_t pending_bytes() const { return pending_bytes_.load(std::memory_order_relaxed); }
  size_t min_batch_bytes() const { return budget_.min_batch_bytes; }

  static constexpr size_t kMaxGroup = 256;         // batches in one transaction, at most
  static constexpr size_t kMaxGroupEvents = 50000;  // and events (a group of one may hold more)

 private:
  struct Queued {
    const std::string* run_id;
    const EventBatch* batch;
    Done done;
  };
  void Loop();

  CommitGroup commit_;
  const Budget budget_;
  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<Queued> queue_;
  bool quit_ = false;
  std::atomic<size_t> pending_bytes_{0};
  std::thread thread_;  // last: starts once everything above exists
};

}  // namespace sflow

#endif  // SFLOW_RUNNER_GROUP_COMMITTER_H_
