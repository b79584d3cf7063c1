#include "engine/media.h"

#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <map>

#include <gtest/gtest.h>

#include "tests/support/test_util.h"

namespace sflow {
namespace {

const std::string kPng = std::string("\x89PNG\r\n\x1a\n\0\0\0\rIHDR", 16);

TEST(SniffMediaTest, RecognisesFormatsByTheirFirstBytes) {
  EXPECT_EQ(SniffMedia(kPng).format, "png");
  EXPECT_EQ(SniffMedia("\xFF\xD8\xFF\xE0").kind, MediaKind::kImage);
  EXPECT_EQ(SniffMedia("GIF89a......").format, "gif");
  EXPECT_EQ(SniffMedia(std::string("RIFF\x10\0\0\0WEBPVP8 ", 16)).format, "webp");
  EXPECT_EQ(SniffMedia(std::string("RIFF\x10\0\0\0WAVEfmt ", 16)).kind, MediaKind::kAudio);
  EXPECT_EQ(SniffMedia("ID3\x04").format, "mp3");
  EXPECT_EQ(SniffMedia("\xFF\xFB\x90\x00").format, "mp3");
  EXPECT_EQ(SniffMedia("fLaC").kind, MediaKind::kAudio);
  EXPECT_EQ(SniffMedia(std::string("\0\0\0\x18" "ftypisom", 12)).kind, MediaKind::kVideo);
  EXPECT_EQ(SniffMedia(std::string("\0\0\0\x18" "ftypqt  ", 12)).format, "mov");
  EXPECT_EQ(SniffMedia(std::string("\0\0\0\x18" "ftypM4A ", 12)).kind, MediaKind::kAudio);
  EXPECT_EQ(SniffMedia("\x1A\x45\xDF\xA3").format, "webm");
  EXPECT_EQ(SniffMedia(std::string("\0\0\0\x18" "ftypheic", 12)).kind, MediaKind::kUnknown);  // a still, not video
  EXPECT_EQ(SniffMedia(std::string("\0\0\0\x18" "ftypavif", 12)).kind, MediaKind::kUnknown);
  EXPECT_EQ(SniffMedia("hello world").kind, MediaKind::kUnknown);
  EXPECT_EQ(SniffMedia("").kind, MediaKind::kUnknown);
  EXPECT_EQ(SniffMedia("RIFF").kind, MediaKind::kUnknown);  // too short to tell
}

TEST(CheckLocalMediaTest, AcceptsARecognisedFileInsideThePlanDirectory) {
  TempDir dir;
  dir.Write("media/logo.png", kPng);
  LocalMediaCheck c = CheckLocalMedia(dir.path(), "media/logo.png");
  EXPECT_EQ(c.error, "");
  EXPECT_EQ(c.sniff.kind, MediaKind::kImage);
  EXPECT_EQ(c.size, kPng.size());
}

TEST(CheckLocalMediaTest, RefusesEscapesAndOddFiles) {
  TempDir outer;
  outer.Write("secret.png", kPng);
  std::string plan_dir = outer.path() + "/plan";
  std::filesystem::create_directories(plan_dir + "/dir");
  ASSERT_EQ(::symlink("../secret.png", (plan_dir + "/link.png").c_str()), 0);
  ASSERT_EQ(::mkfifo((plan_dir + "/fifo.png").c_str(), 0600), 0);
  outer.Write("plan/notes.png", "just text");
  outer.Write("plan/big.png", kPng + std::string(100, 'x'));

  EXPECT_EQ(CheckLocalMedia(plan_dir, "../secret.png").error, "media file '../secret.png' is outside the plan's directory");
  EXPECT_EQ(CheckLocalMedia(plan_dir, outer.path() + "/secret.png").error,
            "media file '" + outer.path() + "/secret.png' is outside the plan's directory");
  EXPECT_EQ(CheckLocalMedia(plan_dir, "link.png").error, "media file 'link.png' is outside the plan's directory");
  EXPECT_EQ(CheckLocalMedia(plan_dir, "missing.png").error, "media file 'missing.png' not found");
  EXPECT_EQ(CheckLocalMedia(plan_dir, "dir").error, "media path 'dir' is a directory, not a file");
  EXPECT_EQ(CheckLocalMedia(plan_dir, ".").error, "media path '.' is the plan's directory, not a file");
  EXPECT_EQ(CheckLocalMedia(plan_dir, "dir/..").error, "media path 'dir/..' is the plan's directory, not a file");
  EXPECT_EQ(CheckLocalMedia(plan_dir, "fifo.png").error, "media file 'fifo.png' is not a regular file");
  EXPECT_EQ(CheckLocalMedia(plan_dir, "notes.png").error,
            "media file 'notes.png' is not a recognised image, video or audio file");
  EXPECT_EQ(CheckLocalMedia(plan_dir, "big.png", 50).error,
            "media file 'big.png' is 116 bytes, over the 50-byte upload limit");
}

// A file system in memory: CheckLocalMedia's decisions, without a disk.
class FakeFiles : public FileProbe {
 public:
  std::map<std::string, std::string> links;  // path -> real path ("" = does not resolve)
  std::map<std::string, FileFacts> files;    // real path -> facts
  std::string RealPath(const std::string& path) const override {
    auto it = links.find(path);
    return it == links.end() ? "" : it->second;
  }
  FileFacts Probe(const std::string& path, uint64_t max_size, size_t head_bytes) const override {
    auto it = files.find(path);
    if (it == files.end()) return FileFacts();
    FileFacts f = it->second;
    if (f.size > max_size) f.head.clear();
    if (f.head.size() > head_bytes) f.head.resize(head_bytes);
    return f;
  }
};

TEST(CheckLocalMediaTest, DecidesThroughTheProbe) {
  FakeFiles fs;
  fs.links = {{"/p", "/p"}, {"/p/a.png", "/p/a.png"}, {"/p/.", "/p"}, {"/p/sub", "/p/sub"},
              {"/p/up", "/etc/passwd"}, {"/p/sock", "/p/sock"}, {"/p/gone", "/p/gone"}, {"/p/big.png", "/p/big.png"}};
  fs.files["/p/a.png"] = {FileFacts::Type::kRegular, 8, std::string("\x89PNG\r\n\x1a\n", 8), ""};
  fs.files["/p/big.png"] = {FileFacts::Type::kRegular, 1000, std::string("\x89PNG\r\n\x1a\n", 8), ""};
  fs.files["/p/sub"] = {FileFacts::Type::kDirectory, 0, "", ""};
  fs.files["/p/sock"] = {FileFacts::Type::kOther, 0, "", "Permission denied"};
  LocalMediaCheck ok = CheckLocalMedia(fs, "/p", "a.png");
  EXPECT_EQ(ok.error, "");
  EXPECT_EQ(ok.sniff.format, "png");
  EXPECT_EQ(ok.resolved, "/p/a.png");
  EXPECT_EQ(CheckLocalMedia(fs, "/p", ".").error, "media path '.' is the plan's directory, not a file");
  EXPECT_EQ(CheckLocalMedia(fs, "/p", "sub").error, "media path 'sub' is a directory, not a file");
  EXPECT_EQ(CheckLocalMedia(fs, "/p", "up").error, "media file 'up' is outside the plan's directory");
  EXPECT_EQ(CheckLocalMedia(fs, "/p", "sock").error, "media file 'sock' cannot be opened: Permission denied");
  EXPECT_EQ(CheckLocalMedia(fs, "/p", "gone").error, "media file 'gone' not found");
  EXPECT_EQ(CheckLocalMedia(fs, "/p", "nope").error, "media file 'nope' not found");
  EXPECT_EQ(CheckLocalMedia(fs, "/p", "big.png", 100).error,
            "media file 'big.png' is 1000 bytes, over the 100-byte upload limit");
}

TEST(CheckMediaUrlTest, AcceptsPublicHttps) {
  EXPECT_EQ(CheckMediaUrl("https://cdn.example.com/a.png"), "");
  EXPECT_EQ(CheckMediaUrl("HTTPS://cdn.example.com:8443/a.png?x=1"), "");
  EXPECT_EQ(CheckMediaUrl("https://8.8.8.8/a.png"), "");
  EXPECT_EQ(CheckMediaUrl("https://[2606:4700::1111]/a.png"), "");
}

TEST(CheckMediaUrlTest, RefusesOtherSchemesCredentialsAndInternalHosts) {
  EXPECT_EQ(CheckMediaUrl("http://example.com/a.png"), "'http:' URLs are refused; only https is allowed");
  EXPECT_EQ(CheckMediaUrl("file:///etc/passwd"), "'file:' URLs are refused; only https is allowed");
  EXPECT_EQ(CheckMediaUrl("data:image/png;base64,AAAA"), "'data:' URLs are refused; only https is allowed");
  EXPECT_EQ(CheckMediaUrl("example.com/a.png"), "not a URL");
  EXPECT_EQ(CheckMediaUrl("https://user:pw@example.com/a.png"), "URLs with credentials (user@host) are refused");
  EXPECT_EQ(CheckMediaUrl("https://127.1/x.png"), "the host 127.0.0.1 is a loopback address");
  EXPECT_EQ(CheckMediaUrl("https://%31%32%37.0.0.1/a.png"), "the host 127.0.0.1 is a loopback address");
  EXPECT_EQ(CheckMediaUrl("https://[::127.0.0.1]/a.png"), "the host [::7f00:1] is an IPv4-compatible address");
  EXPECT_EQ(CheckMediaUrl("https://exa mple.com/a.png"), "the URL contains a space or control character");
  EXPECT_EQ(CheckMediaUrl("https://localhost/x.png"), "the host localhost names this machine");
  EXPECT_EQ(CheckMediaUrl("https://api.localhost./x.png"), "the host api.localhost. names this machine");
}

TEST(MediaKindFromUrlTest, UsesThePathExtensionOnly) {
  EXPECT_EQ(MediaKindFromUrl("https://x/a.PNG?sig=abc.mp3"), MediaKind::kImage);
  EXPECT_EQ(MediaKindFromUrl("https://x/a.mp4#t=1"), MediaKind::kVideo);
  EXPECT_EQ(MediaKindFromUrl("https://x/a.wav"), MediaKind::kAudio);
  EXPECT_EQ(MediaKindFromUrl("https://x.png/file"), MediaKind::kUnknown);
  EXPECT_EQ(MediaKindFromUrl("https://x/file"), MediaKind::kUnknown);
}

}  // namespace
}  // namespace sflow
