// The projects WebSocket: the upgrade, the handshake frames, and the loop that drains a socket's
// frame queue and reads the client's frames. Only the socket's handler thread writes to it.
#include <poll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>

#include <cerrno>
#include <optional>
#include <string>

#include <Poco/Buffer.h>
#include <Poco/Net/NetException.h>

#include "sandbox/projects_impl.h"

namespace sflow {

using namespace hub;
using Poco::Net::WebSocket;

namespace {

constexpr int kAuthErrorClose = 4021;         // the SDK's ErrorCode.AUTH_ERROR
constexpr int kSwitchConnectionClose = 4015;  // ErrorCode.SWITCH_CONNECTION
constexpr int kGoingAwayClose = 1001;
constexpr int kFin = WebSocket::FRAME_FLAG_FIN;
constexpr int kMaxFrameBytes = 16 << 20;
constexpr int kPollMs = 50;  // how often an idle socket looks at ctx.stopping

}  // namespace

void ProjectsHub::Impl::CloseWith(WebSocket& ws, int code, const std::string& reason) {
  try {
    ws.shutdown(static_cast<Poco::UInt16>(code), reason);
    // Give the peer a moment to answer the close, so it sees a clean close with our code.
    Poco::Buffer<char> buf(0);
    auto until = Clock::now() + std::chrono::milliseconds(500);
    while (Clock::now() < until && ws.poll(Poco::Timespan(0, 100 * 1000), Poco::Net::Socket::SELECT_READ)) {
      buf.resize(0);
      int flags = 0;
      int n = ws.receiveFrame(buf, flags);
      if ((n == 0 && flags == 0) || (flags & WebSocket::FRAME_OP_BITMASK) == WebSocket::FRAME_OP_CLOSE) break;
    }
  } catch (const Poco::Exception&) {
  }
}

void ProjectsHub::Impl::Run(RouteContext& ctx, WebSocket& ws, Conn& c) {
  Faults& faults = world->faults();
  const int64_t drop_after = static_cast<int64_t>(faults.Value("socket_drop_after", 0));
  int64_t sent = 0;
  const int fd = ws.impl()->sockfd();
  Poco::Buffer<char> buf(0);
  // socket_reorder: a frame held back, sent right after the next one (or once the socket has
  // nothing else to send, so that it is late but never lost).
  std::optional<std::string> held;
  auto send_held = [&] {
    if (held) ws.sendFrame(held->data(), static_cast<int>(held->size()), WebSocket::FRAME_TEXT);
    held.reset();
  };
  for (;;) {
    if (ctx.stopping) return send_held(), CloseWith(ws, kGoingAwayClose, "Server shutting down");
    std::deque<std::string> batch;
    bool switched, restarting;
    {
      std::lock_guard<std::mutex> lock(c.mu);
      batch.swap(c.out);
      switched = c.switched;
      restarting = c.restarting;
    }
    if (batch.empty()) send_held();
    for (const std::string& frame : batch) {
      if (!held && faults.Roll("socket_reorder")) {
        held = frame;
        continue;
      }
      ws.sendFrame(frame.data(), static_cast<int>(frame.size()), WebSocket::FRAME_TEXT);
      if (faults.Roll("socket_duplicate"))  // the same frame again, as a client must tolerate
        ws.sendFrame(frame.data(), static_cast<int>(frame.size()), WebSocket::FRAME_TEXT);
      send_held();
      if (drop_after > 0 && ++sent >= drop_after) {
        faults.Count("socket_drop_after");
        ::shutdown(fd, SHUT_RDWR);  // no close frame: the peer sees an abnormal close (1006)
        return;
      }
    }
    if (switched || restarting) send_held();
    if (switched) return CloseWith(ws, kSwitchConnectionClose, "Another connection with this appId took over");
    if (restarting) return CloseWith(ws, kServerRestarting, "Server restarting");

    bool readable = ws.available() > 0;
    if (!readable) {
      pollfd fds[2] = {{fd, POLLIN, 0}, {c.wake_fd, POLLIN, 0}};
      int n = ::poll(fds, 2, kPollMs);
      if (n < 0 && errno != EINTR) return;
      if (n > 0 && (fds[1].revents & POLLIN)) {
        uint64_t v;
        ssize_t r = ::read(c.wake_fd, &v, sizeof v);
        (void)r;
      }
      readable = n > 0 && (fds[0].revents & (POLLIN | POLLHUP | POLLERR));
    }
    if (!readable) continue;
    buf.resize(0);
    int flags = 0;
    int n = ws.receiveFrame(buf, flags);
    if (n == 0 && flags == 0) return;  // the peer went away
    switch (flags & WebSocket::FRAME_OP_BITMASK) {
      case WebSocket::FRAME_OP_CLOSE:
        ws.sendFrame(buf.begin(), n, kFin | WebSocket::FRAME_OP_CLOSE);  // echo the close
        return;
      case WebSocket::FRAME_OP_PING:
        ws.sendFrame(buf.begin(), n, kFin | WebSocket::FRAME_OP_PONG);
        break;
      case WebSocket::FRAME_OP_TEXT:
      case WebSocket::FRAME_OP_BINARY:
        HandleClientFrame(c, std::string(buf.begin(), static_cast<size_t>(n)));
        break;
      default:  // pongs and continuation frames (the SDK sends whole frames)
        break;
    }
  }
}

void ProjectsHub::Impl::ServeSocket(RouteContext& ctx) {
  ctx.route = "/ (websocket)";
  std::unique_ptr<WebSocket> ws;
  try {
    ws = std::make_unique<WebSocket>(ctx.req, ctx.resp);
  } catch (const Poco::Net::WebSocketException& e) {
    return SendJson(ctx, 400, ErrorBody(400, "Bad WebSocket upgrade: " + e.message()));
  }
  ctx.status = 101;
  ws->setMaxPayloadSize(kMaxFrameBytes);
  ws->setReceiveTimeout(Poco::Timespan(10, 0));  // a frame half sent is given up after this
  ws->setSendTimeout(Poco::Timespan(10, 0));
  if (ctx.caller.owner.empty()) {
    ctx.status = 401;  // counted as refused; the peer sees close code 4021
    return CloseWith(*ws, kAuthErrorClose, "Authentication error: missing or invalid api-key");
  }
  auto c = std::make_shared<Conn>();
  c->owner = ctx.caller.owner;
  c->app_id = Q(ctx, "appId");
  c->username = Username(c->owner);
  c->address = WalletAddress(c->owner);
  c->wake_fd = ::eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
  if (c->wake_fd < 0) return CloseWith(*ws, 1011, "Server error");
  if (std::string f = Q(ctx, "forceWorkerId"); f == "fast" || f == "relaxed") c->network = f;
  {
    std::lock_guard<std::mutex> lock(mu);
    // Sockets without an appId are on their own; one with the appId of an open socket takes over.
    c->key = c->owner + "\n" + (c->app_id.empty() ? "#" + std::to_string(++conn_counter) : c->app_id);
    if (auto it = conns.find(c->key); it != conns.end()) {
      {
        std::lock_guard<std::mutex> old_lock(it->second->mu);
        it->second->switched = true;
      }
      it->second->Wake();
    }
    conns[c->key] = c;
    Send(*c, "authenticated", AuthenticatedLocked(*c));
    Send(*c, "swarmModels", SwarmModels());
  }
  try {
    Run(ctx, *ws, *c);
  } catch (const Poco::Exception&) {
    // The peer went away mid-frame or a send timed out.
  }
  {
    std::lock_guard<std::mutex> lock(mu);
    if (auto it = conns.find(c->key); it != conns.end() && it->second == c) conns.erase(it);
  }
  ::close(c->wake_fd);
}

}  // namespace sflow
