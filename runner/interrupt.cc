// Implementation details: the signal handler only counts and writes one byte to a pipe, both
// async-signal-safe; a second signal calls _exit(130). The watcher thread blocks on the pipe and
// runs on_first; the destructor wakes it with a different byte.
#include "runner/interrupt.h"

#include <signal.h>
#include <unistd.h>

#include <atomic>

namespace sflow {

namespace {

std::atomic<int> g_signals{0};
std::atomic<int> g_write_fd{-1};
struct sigaction g_old_int, g_old_term;

void OnSignal(int) {
  if (g_signals.fetch_add(1) >= 1) _exit(130);
  int fd = g_write_fd.load();
  if (fd >= 0) {
    char c = 's';
    ssize_t ignored = write(fd, &c, 1);
    (void)ignored;
  }
}

}  // namespace

InterruptGuard::InterruptGuard(std::function<void()> on_first) : on_first_(std::move(on_first)) {
  g_signals = 0;
  if (pipe(pipe_) != 0) return;  // no pipe: signals keep their previous meaning
  g_write_fd = pipe_[1];
  watcher_ = std::thread([this] {
    char c = 0;
    while (read(pipe_[0], &c, 1) == 1) {
      if (c == 'q') return;
      if (on_first_) on_first_();
    }
  });
  struct sigaction sa {};
  sa.sa_handler = OnSignal;
  sigemptyset(&sa.sa_mask);
  sigaction(SIGINT, &sa, &g_old_int);
  sigaction(SIGTERM, &sa, &g_old_term);
}

InterruptGuard::~InterruptGuard() {
  if (pipe_[0] < 0) return;
  sigaction(SIGINT, &g_old_int, nullptr);
  sigaction(SIGTERM, &g_old_term, nullptr);
  g_write_fd = -1;
  char q = 'q';
  ssize_t ignored = write(pipe_[1], &q, 1);
  (void)ignored;
  watcher_.join();
  close(pipe_[0]);
  close(pipe_[1]);
}

bool InterruptGuard::interrupted() const { return g_signals.load() > 0; }

}  // namespace sflow
