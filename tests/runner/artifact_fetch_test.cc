// FetchPart (runner/artifact_files.h) against a scripted transport: answers that break the rules
// of a download are never kept as the object.
#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "runner/artifact_files.h"

namespace sflow {
namespace {

// One scripted answer to Stream(): a status, headers, and the body pieces handed to on_chunk.
struct Scripted {
  int status = 200;
  HttpHeaders headers;
  std::vector<std::string> pieces;
};

class ScriptedTransport : public HttpTransport {
 public:
  explicit ScriptedTransport(std::vector<Scripted> answers) : answers_(std::move(answers)) {}
  Result<HttpResponse> Send(const HttpRequest&) override { return Status::Internal("not scripted"); }
  Result<HttpResponse> Stream(const HttpRequest& request, const StreamHandlers& handlers, StreamCancel*) override {
    requests_.push_back(request);
    if (next_ >= answers_.size()) return Status::Error(Status::Code::kUnavailable, "no more answers");
    const Scripted& a = answers_[next_++];
    HttpResponse head;
    head.status = a.status;
    head.headers = a.headers;
    if (a.status < 200 || a.status > 299) return head;
    if (handlers.on_head && !handlers.on_head(head)) return head;
    for (const std::string& p : a.pieces)
      if (handlers.on_chunk && !handlers.on_chunk(p)) break;
    return head;
  }
  const std::vector<HttpRequest>& requests() const { return requests_; }

 private:
  std::vector<Scripted> answers_;
  size_t next_ = 0;
  std::vector<HttpRequest> requests_;
};

std::string ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

class ArtifactFetchTest : public testing::Test {
 protected:
  void SetUp() override {
    std::string tmpl = std::filesystem::temp_directory_path().string() + "/sflow-fetch-XXXXXX";
    ASSERT_NE(mkdtemp(tmpl.data()), nullptr);
    dir_ = tmpl;
    part_ = dir_ + "/.0.part";
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }
  std::string dir_, part_;
};

// More bytes than the object's announced size: the part is thrown away and fetched once more from
// byte 0 in the same call, never kept (the contract's "more bytes than the total").
TEST_F(ArtifactFetchTest, MoreBytesThanTheTotalAreNeverKept) {
  ScriptedTransport t({{200, {{"Content-Length", "10"}}, {"0123456789", "EXTRA"}},
                       {200, {{"Content-Length", "10"}}, {"0123456789"}}});
  Result<PartFetch> got = FetchPart(t, "https://media.example/a.png", part_);
  ASSERT_TRUE(got.ok()) << got.status().ToString();
  EXPECT_TRUE(got->complete);
  EXPECT_EQ(got->size, 10);
  EXPECT_EQ(ReadFile(part_), "0123456789");
  EXPECT_EQ(t.requests().size(), 2u);
}

// The same when a resumed part's 206 goes past the total.
TEST_F(ArtifactFetchTest, ARangeAnswerPastTheTotalStartsOver) {
  std::ofstream(part_, std::ios::binary) << "01234";
  ScriptedTransport t({{206, {{"Content-Range", "bytes 5-9/10"}, {"Content-Length", "5"}}, {"56789", "+more"}},
                       {200, {{"Content-Length", "10"}}, {"0123456789"}}});
  Result<PartFetch> got = FetchPart(t, "https://media.example/a.png", part_);
  ASSERT_TRUE(got.ok()) << got.status().ToString();
  EXPECT_EQ(ReadFile(part_), "0123456789");
  ASSERT_EQ(t.requests().size(), 2u);
  EXPECT_EQ(t.requests()[1].headers.size(), 0u) << "the second request starts over without a Range";
}

}  // namespace
}  // namespace sflow
