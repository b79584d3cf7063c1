// Event-stream serving: one in-process sandbox (--step-ms 0) and N workflows, each followed by
// its own concurrent SSE client. Prints events per second across all streams, and checks that
// every stream got every event exactly once, in order (the target is 200 concurrent streams).
//   sse_bench [STREAMS] [EVENTS_PER_STEP]
#include <sys/resource.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <thread>
#include <vector>

#include <Poco/Net/HTTPClientSession.h>
#include <Poco/Net/HTTPRequest.h>
#include <Poco/Net/HTTPResponse.h>
#include <Poco/StreamCopier.h>

#include "engine/json.h"
#include "sandbox/sandbox.h"

namespace {

std::string Post(int port, const std::string& path, const std::string& body) {
  Poco::Net::HTTPClientSession s("127.0.0.1", static_cast<Poco::UInt16>(port));
  Poco::Net::HTTPRequest req("POST", path, Poco::Net::HTTPMessage::HTTP_1_1);
  req.set("api-key", "bench");
  req.setContentType("application/json");
  req.setContentLength(static_cast<std::streamsize>(body.size()));
  s.sendRequest(req) << body;
  Poco::Net::HTTPResponse resp;
  std::string out;
  Poco::StreamCopier::copyToString(s.receiveResponse(resp), out);
  return out;
}

// Reads one stream to its end; returns the number of events, or -1 if ids were not 1..N in order.
int64_t Follow(int port, const std::string& id) {
  Poco::Net::HTTPClientSession s("127.0.0.1", static_cast<Poco::UInt16>(port));
  s.setTimeout(Poco::Timespan(60, 0));
  Poco::Net::HTTPRequest req("GET", "/v1/creative-agent/workflows/" + id + "/events/stream", Poco::Net::HTTPMessage::HTTP_1_1);
  req.set("api-key", "bench");
  req.set("Accept", "text/event-stream");
  s.sendRequest(req);
  Poco::Net::HTTPResponse resp;
  std::istream& in = s.receiveResponse(resp);
  int64_t expect = 1;
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind("id: ", 0) != 0) continue;
    if (std::stoll(line.substr(4)) != expect) return -1;
    ++expect;
  }
  return expect - 1;
}

}  // namespace

int main(int argc, char** argv) {
  int streams = argc > 1 ? std::atoi(argv[1]) : 200;
  int per_step = argc > 2 ? std::atoi(argv[2]) : 50;
  sflow::SandboxOptions o;
  o.step_ms = 0;
  o.events_per_step = per_step;
  o.api_keys = {"bench"};
  o.max_active_workflows = streams + 10;
  o.max_threads = streams + 64;
  auto sandbox = std::move(sflow::Sandbox::Start(o)).value();
  int port = sandbox->port();

  // A 4-step plan: each step makes step_started, per_step progress events, one artifact, step_completed.
  std::string body = R"({"input":{"steps":[)";
  for (int i = 0; i < 4; ++i)
    body += std::string(i ? "," : "") + R"({"id":"s)" + std::to_string(i) + R"(","toolName":"generate_image","arguments":{"prompt":"p"}})";
  body += "]}}";
  // Created from 8 threads: each request pays a delayed-ACK round trip (the client writes the
  // header and the body separately), and this is set-up, not what is measured.
  std::vector<std::string> ids(streams);
  {
    std::vector<std::thread> makers;
    std::atomic<int> next{0};
    for (int t = 0; t < 8; ++t)
      makers.emplace_back([&] {
        for (int i = next++; i < streams; i = next++) {
          sflow::Result<sflow::Value> r = sflow::ParseJson(Post(port, "/v1/creative-agent/workflows", body));
          ids[i] = r->Find("data")->Find("workflow")->Find("workflowId")->as_string();
        }
      });
    for (auto& t : makers) t.join();
  }
  std::this_thread::sleep_for(std::chrono::milliseconds(200));  // let every run finish

  std::atomic<int64_t> total{0};
  std::atomic<int> bad{0};
  struct rusage before{};
  getrusage(RUSAGE_SELF, &before);
  auto t0 = std::chrono::steady_clock::now();
  std::vector<std::thread> threads;
  for (const std::string& id : ids)
    threads.emplace_back([&, id] {
      int64_t n = Follow(port, id);
      if (n < 0) ++bad;
      else total += n;
    });
  for (auto& t : threads) t.join();
  double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  struct rusage after{};
  getrusage(RUSAGE_SELF, &after);
  double cpu = (after.ru_utime.tv_sec - before.ru_utime.tv_sec) + (after.ru_stime.tv_sec - before.ru_stime.tv_sec) +
               (after.ru_utime.tv_usec - before.ru_utime.tv_usec) / 1e6 + (after.ru_stime.tv_usec - before.ru_stime.tv_usec) / 1e6;
  int64_t per_stream = total / std::max(1, streams - bad.load());
  std::printf("%d concurrent streams, %lld events each (%d progress events per step): %lld events in %.2f s = %.0f events/s\n",
              streams, static_cast<long long>(per_stream), per_step, static_cast<long long>(total.load()), secs, total / secs);
  std::printf("CPU %.2f s (server and clients in one process), peak RSS %.1f MiB, broken streams %d\n", cpu,
              after.ru_maxrss / 1024.0, bad.load());
  sandbox->Stop();
  return bad == 0 ? 0 : 1;
}
