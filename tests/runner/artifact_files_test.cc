#include "runner/artifact_files.h"

#include <sys/stat.h>
#include <unistd.h>

#include <fstream>
#include <vector>

#include <gtest/gtest.h>

#include "runner/sha256.h"
#include "tests/support/test_util.h"

namespace sflow {
namespace {

TEST(ArtifactFilesTest, SafeFileNameKeepsOnlyPlainCharacters) {
  EXPECT_EQ(SafeFileName("keyframe_1-a"), "keyframe_1-a");
  EXPECT_EQ(SafeFileName("../etc/passwd"), "___etc_passwd");
  EXPECT_EQ(SafeFileName(""), "_");
}

TEST(ArtifactFilesTest, ExtensionComesFromTheBytes) {
  EXPECT_EQ(ExtensionFor(MediaKind::kImage, "\x89PNG\r\n"), "png");
  EXPECT_EQ(ExtensionFor(MediaKind::kImage, "\xFF\xD8\xFF\xE0"), "jpg");
  EXPECT_EQ(ExtensionFor(MediaKind::kAudio, "RIFF....WAVE"), "wav");
  EXPECT_EQ(ExtensionFor(MediaKind::kImage, "RIFF....WEBPVP8 "), "webp");
  // LAME's frame headers at 44.1 kHz (MPEG-1), 22.05 kHz (MPEG-2) and 11.025 kHz (MPEG-2.5).
  EXPECT_EQ(ExtensionFor(MediaKind::kAudio, "\xFF\xFB\x90\x64"), "mp3");
  EXPECT_EQ(ExtensionFor(MediaKind::kAudio, "\xFF\xF3\x48\xC4"), "mp3");
  EXPECT_EQ(ExtensionFor(MediaKind::kAudio, "\xFF\xE3\x48\xC4"), "mp3");
  EXPECT_EQ(ExtensionFor(MediaKind::kAudio, "\xFF\xF1\x50\x80"), "audio");  // AAC ADTS is no MP3
  EXPECT_EQ(ExtensionFor(MediaKind::kAudio, "\xFF\xFB\x90\x00"), "mp3");  // MPEG 1 layer III
  EXPECT_EQ(ExtensionFor(MediaKind::kAudio, "\xFF\xF3\x48\xC4"), "mp3");  // MPEG 2
  EXPECT_EQ(ExtensionFor(MediaKind::kAudio, "\xFF\xE3\x18\xC4"), "mp3");  // MPEG 2.5 (LAME at 8 kHz)
  EXPECT_EQ(ExtensionFor(MediaKind::kAudio, "\xFF\xEB\x18\xC4"), "audio");  // reserved version bits
  EXPECT_EQ(ExtensionFor(MediaKind::kAudio, "\xFF\xFD\x18\xC4"), "audio");  // layer II
  EXPECT_EQ(ExtensionFor(MediaKind::kVideo, std::string("\0\0\0\x18" "ftypisom", 12)), "mp4");
  EXPECT_EQ(ExtensionFor(MediaKind::kUnknown, "??"), "bin");
  // A real RIFF size (NUL bytes), and the other formats a plan's media may have (engine/media.h).
  EXPECT_EQ(ExtensionFor(MediaKind::kImage, std::string("RIFF\x10\0\0\0WEBPVP8 ", 16)), "webp");
  EXPECT_EQ(ExtensionFor(MediaKind::kImage, "GIF89a"), "gif");
  EXPECT_EQ(ExtensionFor(MediaKind::kAudio, "fLaC"), "flac");
  EXPECT_EQ(ExtensionFor(MediaKind::kVideo, "\x1A\x45\xDF\xA3"), "webm");
}

TEST(ArtifactFilesTest, WriteNoReplaceNeverOverwrites) {
  TempDir tmp;
  std::string dir = tmp.path() + "/a/b";
  ASSERT_OK(MakeDirectories(dir));
  std::string path = dir + "/0.png";
  ASSERT_OK(WriteNoReplace(dir, path, "first"));
  EXPECT_OK(WriteNoReplace(dir, path, "first"));  // same bytes: a finished earlier attempt
  Status other = WriteNoReplace(dir, path, "second");
  EXPECT_EQ(other.code(), Status::Code::kConflict) << other.ToString();
  auto bytes = ReadWholeFile(path);
  ASSERT_TRUE(bytes.ok());
  EXPECT_EQ(*bytes, "first");
  struct stat st{};
  EXPECT_NE(stat((path + ".part-" + std::to_string(getpid())).c_str(), &st), 0);  // no temp left
}

// A cached file is copied a block at a time and named only when the bytes copied have the digest
// it was stored with: a file that changed is not copied (the step runs instead), an existing
// name is kept whatever it holds, and a file larger than one block comes through whole.
TEST(ArtifactFilesTest, CopyNoReplaceNamesOnlyTheVerifiedBytes) {
  TempDir tmp;
  const std::string dir = tmp.path() + "/out";
  ASSERT_OK(MakeDirectories(dir));
  std::string big(200000, '\0');
  for (size_t i = 0; i < big.size(); ++i) big[i] = static_cast<char>(i * 7 + i / 251);
  const std::string src = tmp.path() + "/src.bin";
  ASSERT_OK(WriteNoReplace(tmp.path(), src, big));
  const std::string sha = Sha256Hex(big);
  ASSERT_OK(CopyNoReplace(dir, src, dir + "/0.bin", sha));
  EXPECT_EQ(*ReadWholeFile(dir + "/0.bin"), big);
  EXPECT_OK(CopyNoReplace(dir, src, dir + "/0.bin", sha));  // the same bytes under the name: done before
  Status changed = CopyNoReplace(dir, src, dir + "/1.bin", Sha256Hex("other bytes"));
  EXPECT_EQ(changed.code(), Status::Code::kNotFound) << changed.ToString();
  struct stat st{};
  EXPECT_NE(stat((dir + "/1.bin").c_str(), &st), 0) << "nothing named for bytes that do not match";
  ASSERT_OK(WriteNoReplace(dir, dir + "/2.bin", "someone else's"));
  EXPECT_EQ(CopyNoReplace(dir, src, dir + "/2.bin", sha).code(), Status::Code::kConflict);
  EXPECT_EQ(*ReadWholeFile(dir + "/2.bin"), "someone else's");
  EXPECT_EQ(CopyNoReplace(dir, tmp.path() + "/gone.bin", dir + "/3.bin", sha).code(), Status::Code::kNotFound);
}

// A media server in memory: serves `object`, honouring Range (206/416) unless ignore_range, and
// cutting the body after cut_after bytes when that is >= 0 (once). Records each Range sent.
class FakeMediaTransport : public HttpTransport {
 public:
  explicit FakeMediaTransport(std::string object) : object_(std::move(object)) {}
  Result<HttpResponse> Send(const HttpRequest&) override { return Status::Internal("Send is not used"); }
  Result<HttpResponse> Stream(const HttpRequest& request, const StreamHandlers& handlers, StreamCancel*) override {
    const std::string* range = FindHeader(request.headers, "Range");
    ranges.push_back(range ? *range : "");
    EXPECT_EQ(FindHeader(request.headers, "api-key"), nullptr);  // a presigned URL: no key
    HttpResponse head;
    size_t begin = 0;
    if (range && !ignore_range) {
      unsigned long long a = 0;
      EXPECT_EQ(std::sscanf(range->c_str(), "bytes=%llu-", &a), 1) << *range;
      if (a >= object_.size()) {
        head.status = 416;
        head.headers = {{"Content-Range", "bytes */" + std::to_string(object_.size())}};
        return head;
      }
      begin = static_cast<size_t>(a);
      head.status = 206;
      head.headers = {{"Content-Range", "bytes " + std::to_string(begin + shift) + "-" + std::to_string(object_.size() - 1) +
                                            "/" + std::to_string(object_.size())}};
    } else {
      head.status = 200;
    }
    head.headers.emplace_back("Content-Length", std::to_string(object_.size() - begin));
    if (handlers.on_head && !handlers.on_head(head)) return head;
    std::string_view body(object_);
    body = body.substr(begin);
    if (cut_after >= 0) body = body.substr(0, static_cast<size_t>(cut_after)), cut_after = -1;
    for (size_t off = 0; off < body.size(); off += 7)  // small chunks, as a socket gives them
      if (handlers.on_chunk && !handlers.on_chunk(body.substr(off, 7))) break;
    return head;
  }
  std::vector<std::string> ranges;
  bool ignore_range = false;
  int64_t cut_after = -1;
  size_t shift = 0;  // a 206 that starts this many bytes after what was asked

 private:
  std::string object_;
};

class FetchPartTest : public testing::Test {
 protected:
  void SetUp() override { part_ = tmp_.path() + "/.0.part"; }
  void WritePart(const std::string& bytes) {
    std::ofstream(part_, std::ios::binary) << bytes;
  }
  std::string Part() {
    auto b = ReadWholeFile(part_);
    return b.ok() ? *b : "<missing>";
  }
  TempDir tmp_;
  std::string part_;
  const std::string object_ = "\x89PNG\r\n" + std::string(100, 'x') + "the end";
};

TEST_F(FetchPartTest, FreshDownloadIsStreamedWithoutRange) {
  FakeMediaTransport t(object_);
  auto got = FetchPart(t, "http://127.0.0.1/m", part_);
  ASSERT_OK(got.status());
  EXPECT_TRUE(got->complete);
  EXPECT_EQ(got->status, 200);
  EXPECT_EQ(got->size, static_cast<int64_t>(object_.size()));
  EXPECT_EQ(t.ranges, std::vector<std::string>{""});
  EXPECT_EQ(Part(), object_);
}

TEST_F(FetchPartTest, ShortBodyIsKeptAndResumedWithRange206) {
  FakeMediaTransport t(object_);
  t.cut_after = 40;
  auto first = FetchPart(t, "http://127.0.0.1/m", part_);
  EXPECT_EQ(first.status().code(), Status::Code::kUnavailable) << first.status().ToString();
  EXPECT_EQ(Part(), object_.substr(0, 40));
  auto second = FetchPart(t, "http://127.0.0.1/m", part_);
  ASSERT_OK(second.status());
  EXPECT_TRUE(second->complete);
  EXPECT_EQ(second->status, 206);
  EXPECT_EQ(t.ranges, (std::vector<std::string>{"", "bytes=40-"}));
  EXPECT_EQ(Part(), object_);
}

TEST_F(FetchPartTest, CompletePartIsDoneOn416) {
  WritePart(object_);
  FakeMediaTransport t(object_);
  auto got = FetchPart(t, "http://127.0.0.1/m", part_);
  ASSERT_OK(got.status());
  EXPECT_TRUE(got->complete);
  EXPECT_EQ(got->status, 416);
  EXPECT_EQ(got->total, static_cast<int64_t>(object_.size()));
  EXPECT_EQ(t.ranges, std::vector<std::string>{"bytes=" + std::to_string(object_.size()) + "-"});
  EXPECT_EQ(Part(), object_);
}

TEST_F(FetchPartTest, ServerIgnoringRangeReplacesThePartWith200) {
  WritePart(object_.substr(0, 30) + "garbage");
  FakeMediaTransport t(object_);
  t.ignore_range = true;
  auto got = FetchPart(t, "http://127.0.0.1/m", part_);
  ASSERT_OK(got.status());
  EXPECT_TRUE(got->complete);
  EXPECT_EQ(got->status, 200);
  EXPECT_EQ(t.ranges, std::vector<std::string>{"bytes=37-"});
  EXPECT_EQ(Part(), object_);
}

TEST_F(FetchPartTest, OversizedPartIsTruncatedAndFetchedAgain) {
  WritePart(object_ + "extra bytes");  // longer than the object: 416 names another total
  FakeMediaTransport t(object_);
  auto got = FetchPart(t, "http://127.0.0.1/m", part_);
  ASSERT_OK(got.status());
  EXPECT_TRUE(got->complete);
  EXPECT_EQ(t.ranges, (std::vector<std::string>{"bytes=" + std::to_string(object_.size() + 11) + "-", ""}));
  EXPECT_EQ(Part(), object_);
}

TEST_F(FetchPartTest, RangeStartingElsewhereRestartsFromZero) {
  WritePart(object_.substr(0, 20));
  FakeMediaTransport t(object_);
  t.shift = 5;  // the 206 does not continue our bytes
  auto got = FetchPart(t, "http://127.0.0.1/m", part_);
  ASSERT_OK(got.status());
  EXPECT_TRUE(got->complete);
  EXPECT_EQ(t.ranges, (std::vector<std::string>{"bytes=20-", ""}));
  EXPECT_EQ(Part(), object_);
}

TEST_F(FetchPartTest, ErrorStatusLeavesThePartAlone) {
  WritePart("abc");
  class NotFound : public HttpTransport {
   public:
    Result<HttpResponse> Send(const HttpRequest&) override { return Status::Internal("unused"); }
    Result<HttpResponse> Stream(const HttpRequest&, const StreamHandlers&, StreamCancel*) override {
      HttpResponse r;
      r.status = 404;
      return r;
    }
  } t;
  auto got = FetchPart(t, "http://127.0.0.1/m", part_);
  ASSERT_OK(got.status());
  EXPECT_FALSE(got->complete);
  EXPECT_EQ(got->status, 404);
  EXPECT_EQ(Part(), "abc");
}

TEST_F(FetchPartTest, PublishedPartIsCompleteWithoutARequest) {
  WritePart(object_);
  ASSERT_OK(PublishPart(tmp_.path(), part_, tmp_.path() + "/0.png"));
  FakeMediaTransport t(object_);
  t.ignore_range = true;  // a 200 would truncate the part, and so the final file
  auto got = FetchPart(t, "http://127.0.0.1/m", part_);
  ASSERT_OK(got.status());
  EXPECT_TRUE(got->complete);
  EXPECT_TRUE(t.ranges.empty());
  EXPECT_EQ(*ReadWholeFile(tmp_.path() + "/0.png"), object_);
}

TEST_F(FetchPartTest, PublishPartLinksWithoutReplacing) {
  WritePart(object_);
  std::string final_path = tmp_.path() + "/0.png";
  ASSERT_OK(PublishPart(tmp_.path(), part_, final_path));
  EXPECT_OK(PublishPart(tmp_.path(), part_, final_path));  // same bytes: a crash after the link
  auto bytes = ReadWholeFile(final_path);
  ASSERT_TRUE(bytes.ok());
  EXPECT_EQ(*bytes, object_);
  ::unlink(part_.c_str());
  WritePart("other bytes");
  EXPECT_EQ(PublishPart(tmp_.path(), part_, final_path).code(), Status::Code::kConflict);
  bytes = ReadWholeFile(final_path);
  ASSERT_TRUE(bytes.ok());
  EXPECT_EQ(*bytes, object_);
}

// A part file put in place by someone else is never written through: a symbolic link (to a file
// the runner could write) and a FIFO (which would hang an open) are refused, kSecurity, with the
// target untouched and no request sent.
TEST_F(FetchPartTest, PlantedLinkOrFifoIsRefusedAndItsTargetUntouched) {
  std::string target = tmp_.path() + "/precious";
  std::ofstream(target, std::ios::binary) << "keep me";
  ASSERT_EQ(::symlink(target.c_str(), part_.c_str()), 0);
  FakeMediaTransport t(object_);
  auto got = FetchPart(t, "http://127.0.0.1/m", part_);
  ASSERT_FALSE(got.ok());
  EXPECT_EQ(got.status().code(), Status::Code::kSecurity) << got.status().ToString();
  EXPECT_TRUE(t.ranges.empty());
  auto kept = ReadWholeFile(target);
  ASSERT_TRUE(kept.ok());
  EXPECT_EQ(*kept, "keep me");
  ::unlink(part_.c_str());
  ASSERT_EQ(::mkfifo(part_.c_str(), 0600), 0);
  got = FetchPart(t, "http://127.0.0.1/m", part_);
  ASSERT_FALSE(got.ok());
  EXPECT_EQ(got.status().code(), Status::Code::kSecurity) << got.status().ToString();
}

// Two runs into one --out never share a part file; a part's name is only this run's.
TEST(ArtifactFilesTest, PartFilesAreNamedByRunAndIndex) {
  EXPECT_EQ(PartPathFor("out/still", "r-20261205-010203-ab12", 3), "out/still/.3.r-20261205-010203-ab12.part");
  EXPECT_NE(PartPathFor("o", "r-a", 0), PartPathFor("o", "r-b", 0));
  EXPECT_EQ(PartPathFor("o", "../x", 0), "o/.0.___x.part");
}

// A step folder is written into only when it is a real directory of this user that others cannot
// write: a link to elsewhere, a file, or a world-writable folder is refused.
TEST(ArtifactFilesTest, StepDirectoryMustBeOursAlone) {
  TempDir tmp;
  EXPECT_OK(PrepareStepDirectory(tmp.path() + "/out/still"));
  EXPECT_OK(PrepareStepDirectory(tmp.path() + "/out/still"));  // again: it exists, it is ours
  ASSERT_OK(MakeDirectories(tmp.path() + "/elsewhere"));
  ASSERT_EQ(::symlink((tmp.path() + "/elsewhere").c_str(), (tmp.path() + "/out/linked").c_str()), 0);
  Status s = PrepareStepDirectory(tmp.path() + "/out/linked");
  EXPECT_EQ(s.code(), Status::Code::kSecurity) << s.ToString();
  EXPECT_NE(s.message().find("symbolic link"), std::string::npos) << s.message();
  std::ofstream(tmp.path() + "/out/file") << "x";
  s = PrepareStepDirectory(tmp.path() + "/out/file");
  EXPECT_EQ(s.code(), Status::Code::kSecurity) << s.ToString();
  EXPECT_NE(s.message().find("is not a directory"), std::string::npos) << s.message();
  ASSERT_OK(MakeDirectories(tmp.path() + "/out/open"));
  ASSERT_EQ(::chmod((tmp.path() + "/out/open").c_str(), 0777), 0);
  s = PrepareStepDirectory(tmp.path() + "/out/open");
  EXPECT_EQ(s.code(), Status::Code::kSecurity) << s.ToString();
  EXPECT_NE(s.message().find("writable by every user"), std::string::npos) << s.message();
}

}  // namespace
}  // namespace sflow
