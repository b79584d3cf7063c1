// HttpAnswerReader: one HTTP/1.1 answer, read from its bytes as they arrive, the way the stream
// loop reads every answer (api/stream_loop.h). Pure, no socket: the loop feeds it what a socket
// gave, the fuzzer feeds it anything, cut anywhere, and the outcome does not depend on the cuts.
//  * The head: "HTTP/1.x NNN reason" and header fields, at most 64 KiB; obsolete line folding
//    and malformed lines are refused; interim answers (1xx) are skipped.
//  * The body: chunked (size lines with extensions ignored, trailers ignored; a size past 60
//    bits or a line over 4 KiB refused), Content-Length (digits only, at most 18), none (204,
//    304), or up to the end of the connection. Any other transfer coding, or another beside
//    chunked, and Content-Length fields that disagree are refused.
//  * End(): the connection ended. Whole when the framing allows it; a body framed by length or
//    chunks that ends early, or a head cut short, is not.
// Failures are kUnavailable, their message naming `where` (the host:port).
#ifndef SFLOW_API_HTTP_ANSWER_READER_H_
#define SFLOW_API_HTTP_ANSWER_READER_H_

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "api/http_transport.h"
#include "engine/status.h"

namespace sflow {

class HttpAnswerReader {
 public:
  enum class Action { kContinue, kPause, kStop };
  class Sink {
   public:
    virtual ~Sink() = default;
    // Once, with the head (its body empty). kStop ends the answer there (done, body unread).
    virtual Action OnHead(const HttpResponse& head) = 0;
    // Each piece of the body, framing removed. kPause: Feed returns at once, having taken the
    // bytes up to this piece's end; kStop: the answer ends (done).
    virtual Action OnBody(std::string_view bytes) = 0;
  };

  static constexpr size_t kMaxHeadBytes = 64 * 1024;
  static constexpr size_t kMaxLineBytes = 4096;

  explicit HttpAnswerReader(std::string where) : where_(std::move(where)) {}

  // Reads `bytes` and returns how many it took: all, unless the sink paused (the rest is the
  // caller's to feed again) or the answer ended (done() or failed(); the rest is ignored).
  size_t Feed(std::string_view bytes, Sink& sink);
  // The connection ended after everything was fed.
  void End();

  bool in_head() const { return phase_ == Phase::kHead; }
  bool done() const { return phase_ == Phase::kDone; }
  bool failed() const { return phase_ == Phase::kFailed; }
  const Status& error() const { return error_; }
  const HttpResponse& head() const { return head_; }

 private:
  enum class Phase { kHead, kBody, kDone, kFailed };
  enum class Framing { kNone, kLength, kChunked, kClose };
  enum class Chunk { kSize, kData, kDataEnd, kTrailer };

  void Fail(const std::string& why);
  // The head is whole in head_bytes_: parse it, choose the framing, tell the sink.
  void BeginBody(Sink& sink);
  // One step of the body from p; returns the bytes taken (0 only at a pause or an end).
  size_t BodyStep(const char* p, size_t n, Sink& sink, bool* paused);
  size_t ChunkStep(const char* p, size_t n, Sink& sink, bool* paused);
  // Hands a piece to the sink; false when the reader must stop (paused or ended).
  bool Deliver(const char* p, size_t n, Sink& sink, bool* paused);

  const std::string where_;
  Phase phase_ = Phase::kHead;
  Status error_;
  std::string head_bytes_;
  HttpResponse head_;
  Framing framing_ = Framing::kNone;
  Chunk chunk_ = Chunk::kSize;
  uint64_t left_ = 0;  // Content-Length or the current chunk: bytes still to come
  std::string line_;   // a chunk-size or trailer line being read
};

// The head of an answer ("HTTP/1.x NNN reason" and header lines, CRLF-separated, without the
// blank line): false when malformed.
bool ParseHttpHead(std::string_view text, HttpResponse* out);

}  // namespace sflow

#endif  // SFLOW_API_HTTP_ANSWER_READER_H_
