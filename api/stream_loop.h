// StreamLoop: one thread that reads many HTTP answers at once (epoll), for followers of hundreds
// of event streams without a thread each. It does what HttpTransport::Stream does
// (http_transport.h), with the same rules and failure codes:
//  * the URL and headers are checked as the transport checks them; plain http:// only to the
//    sandbox's loopback names, and only when the name resolves to loopback; an https name that
//    resolves to an internal address is refused (kSecurity) before connecting;
//  * https uses the transport's strict TLS context (OpenSSL under Poco's SSL_CTX: peer and
//    host-name verification, TLS >= 1.2, the given CA file); certificate and protocol problems are
//    kSecurity, network ones kUnavailable;
//  * for a 2xx, the head goes to on_head and the body, piece by piece as it arrives, to on_chunk
//    (chunked and Content-Length framing removed); on_done gets the head (its body empty). Any
//    other status: its body (at most 64 KiB) and no handler call. While a 2xx body is handed
//    over the connection is set to reset should the process die (SO_LINGER 0), then closes in
//    order;
//  * a body the server ends before its framing says it is complete (a chunked body without its
//    last chunk, fewer bytes than Content-Length) is kUnavailable: unlike Poco's reading, an end
//    here is an end. A close-delimited body ends at the close;
//  * connect_timeout for the connection, stream_idle_timeout for the handshake and for every
//    silence after the request, send_timeout for sending it.
//
// Threads: Open, Cancel, Pause, Resume, Post and After may be called from any thread. Every
// handler runs on the loop thread, one at a time, and must not block: a consumer that cannot
// keep up calls Pause (the stream is not read meanwhile; its bytes wait in the socket) and Resume
// later. on_done is called exactly once per Open, after which nothing more is called for it.
// A stream cancelled, or still open when the loop is destroyed, ends kCancelled.
#ifndef SFLOW_API_STREAM_LOOP_H_
#define SFLOW_API_STREAM_LOOP_H_

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string_view>

#include "api/http_transport.h"  // AsyncStreamHandlers
#include "engine/status.h"

namespace sflow {

class StreamLoop {
 public:
  using Id = uint64_t;

  // Starts the loop's thread with the transport's options (timeouts, CA file, user agent).
  // kSecurity when the CA file cannot be loaded.
  static Result<std::unique_ptr<StreamLoop>> Start(const HttpTransportOptions& options);
  virtual ~StreamLoop() = default;

  // A new stream's id; nothing happens until Open(id, ...). Ids are never reused.
  virtual Id NewId() = 0;
  // Starts the stream `id` (from NewId), once. on_done is called exactly once (AsyncStreamHandlers).
  virtual void Open(Id id, const HttpRequest& request, AsyncStreamHandlers handlers) = 0;
  virtual void Cancel(Id id) = 0;  // ends it kCancelled, unless it has ended already
  // Called on the loop thread (inside on_chunk, say), Pause takes effect at once: no further
  // on_chunk until Resume, even for bytes already read.
  virtual void Pause(Id id) = 0;
  virtual void Resume(Id id) = 0;
  // An on_chunk with no bytes for `id`, `after` from now, unless it has ended, is paused or is
  // not in its 2xx body by then (AsyncStream::Poke).
  virtual void Poke(Id id, std::chrono::milliseconds after) = 0;
  virtual void Post(std::function<void()> fn) = 0;  // runs fn on the loop thread, in order
  virtual void After(std::chrono::milliseconds delay, std::function<void()> fn) = 0;
  virtual bool InLoopThread() const = 0;
};

// An HttpTransport whose Send and Stream are `rest`'s and whose NewStream reads on `loop`: the
// event followers of many runs share the loop's thread, while downloads (which write and sync
// files in their handlers) keep to their callers' threads. `loop` must outlive it.
std::unique_ptr<HttpTransport> NewLoopStreamTransport(std::unique_ptr<HttpTransport> rest, StreamLoop* loop);

}  // namespace sflow

#endif  // SFLOW_API_STREAM_LOOP_H_
