// SSE parsing speed, without sockets: a body of sandbox-shaped frames (~300 bytes each, as
// sandbox/sse.cc writes them) fed to SseParser in socket-sized chunks, repeated for about a second.
// Prints events per second for the parser alone (target: well over 1,000,000), then for parser +
// JSON + EventFollower, the whole pure path of following a stream.
//   sse_parse_bench [EVENTS] [CHUNK_BYTES]
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>

#include "api/event_follower.h"
#include "api/sse_parser.h"

namespace {

std::string Body(int events) {
  std::string body = ": sogni-flow sandbox stream\n\n";
  for (int s = 1; s <= events; ++s) {
    std::string seq = std::to_string(s);
    body += "id: " + seq + "\nevent: workflow_progress\ndata: {\"id\":\"" + seq +
            "\",\"workflowId\":\"wf_2b7c41d09e3f4a58\",\"sequence\":" + seq +
            ",\"timestamp\":\"2026-05-01T12:00:00.000Z\",\"type\":\"workflow_progress\",\"status\":\"running\","
            "\"message\":\"Step s1 is running\",\"data\":{\"stepId\":\"s1\",\"toolName\":\"generate_image\","
            "\"progress\":0.42,\"phase\":3}}\n\n";
    if (s % 1000 == 0) body += ": keepalive\n\n";
  }
  return body;
}

// Runs fn over the body until about a second has passed; returns events per second.
template <typename Fn>
double Measure(const std::string& body, size_t chunk, int events, Fn fn) {
  auto t0 = std::chrono::steady_clock::now();
  int64_t total = 0;
  double secs = 0;
  do {
    total += fn(body, chunk);
    secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  } while (secs < 1.0);
  if (total % events != 0) std::printf("  (event count mismatch: %lld)\n", static_cast<long long>(total));
  return total / secs;
}

}  // namespace

int main(int argc, char** argv) {
  const int events = argc > 1 ? std::atoi(argv[1]) : 20000;
  const size_t chunk = argc > 2 ? static_cast<size_t>(std::atoll(argv[2])) : 16384;
  const std::string body = Body(events);
  std::printf("%d events, %.0f bytes each on average, fed in %zu-byte chunks\n", events,
              static_cast<double>(body.size()) / events, chunk);

  auto parse_only = [](const std::string& b, size_t c) -> int64_t {
    sflow::SseParser parser;
    int64_t n = 0;
    for (size_t i = 0; i < b.size(); i += c)
      if (!parser.Feed(std::string_view(b).substr(i, c), [&](const sflow::SseEvent&) { ++n; }).ok()) std::abort();
    parser.Finish();
    return n;
  };
  double rate = Measure(body, chunk, events, parse_only);
  std::printf("SseParser: %.0f events/s (%.0f MB/s)\n", rate, rate * body.size() / events / 1e6);

  auto follow = [](const std::string& b, size_t c) -> int64_t {
    sflow::SseParser parser;
    sflow::EventFollower follower(sflow::EventFollower::Options{"wf_2b7c41d09e3f4a58"});
    int64_t n = 0;
    for (size_t i = 0; i < b.size(); i += c)
      if (!parser.Feed(std::string_view(b).substr(i, c),
                       [&](const sflow::SseEvent& e) { n += follower.Offer(e).deliver.size(); }).ok())
        std::abort();
    return n;
  };
  rate = Measure(body, chunk, events, follow);
  std::printf("SseParser + ParseJson + EventFollower: %.0f events/s\n", rate);
  return 0;
}
