// cli/html_report.h and cli/report_media.h: the page escapes everything it did not make, links
// only what it was given, lays a batch out as its matrix; the media helpers refuse what they
// cannot vouch for.
#include "cli/html_report.h"

#include <gtest/gtest.h>

#include "cli/report_media.h"

namespace sflow {
namespace {

std::string Box(const std::string& type, const std::string& payload) {
  const uint32_t n = static_cast<uint32_t>(8 + payload.size());
  std::string b = {static_cast<char>(n >> 24), static_cast<char>(n >> 16), static_cast<char>(n >> 8), static_cast<char>(n)};
  return b + type + payload;
}
std::string U32(uint32_t v) {
  return {static_cast<char>(v >> 24), static_cast<char>(v >> 16), static_cast<char>(v >> 8), static_cast<char>(v)};
}
// An MP4 whose one track has `entry` as its sample entry and `sample` as its first sample
// (placed at `offset` when given, else where it is).
std::string Mp4(const std::string& entry, const std::string& sample, std::optional<uint32_t> offset = {}) {
  const std::string ftyp = Box("ftyp", "isom" + U32(0x200) + "isomiso2mp41");
  const uint32_t at = static_cast<uint32_t>(ftyp.size() + 8);
  const std::string stbl = Box("stbl", Box("stsd", U32(0) + U32(1) + Box(entry, std::string(8, '\0'))) +
                                           Box("stsz", U32(0) + U32(0) + U32(1) + U32(static_cast<uint32_t>(sample.size()))) +
                                           Box("stco", U32(0) + U32(1) + U32(offset.value_or(at))));
  return ftyp + Box("mdat", sample) + Box("moov", Box("trak", Box("mdia", Box("minf", stbl))));
}
const std::string kJpeg = std::string("\xff\xd8\xff\xe0", 4) + "frame" + std::string("\xff\xd9", 2);

TEST(ReportMediaTest, TheFirstFrameOfAMotionJpegMp4AndNothingElse) {
  EXPECT_EQ(Mp4JpegFrame(Mp4("mp4v", kJpeg)), kJpeg);
  EXPECT_EQ(Mp4JpegFrame(Mp4("jpeg", kJpeg)), kJpeg);
  EXPECT_FALSE(Mp4JpegFrame(Mp4("avc1", kJpeg)).has_value()) << "H.264: the browser shows its own frame";
  EXPECT_FALSE(Mp4JpegFrame(Mp4("mp4v", "\x00\x00\x01\xb0 mpeg-4 part 2")).has_value());
  EXPECT_FALSE(Mp4JpegFrame(Mp4("mp4v", kJpeg, 1u << 30)).has_value()) << "a sample past the end of the file";
  const std::string whole = Mp4("mp4v", kJpeg);
  for (size_t cut = 0; cut < whole.size(); ++cut) EXPECT_FALSE(Mp4JpegFrame(whole.substr(0, cut)).has_value()) << cut;
  std::string huge = whole;
  huge.replace(whole.find("moov") - 4, 4, U32(0xfffffff0));  // a box larger than the file
  EXPECT_FALSE(Mp4JpegFrame(huge).has_value());
  EXPECT_FALSE(Mp4JpegFrame("").has_value());
}

TEST(ReportMediaTest, ImagesAreKnownByTheirSignature) {
  EXPECT_EQ(ImageMime("\x89PNG\r\n\x1a\nrest"), "image/png");
  EXPECT_EQ(ImageMime(kJpeg), "image/jpeg");
  EXPECT_EQ(ImageMime(std::string("RIFF\x10\x00\x00\x00WEBPVP8 ", 16)), "image/webp");
  EXPECT_EQ(ImageMime("<svg onload=alert(1)>"), "") << "never inlined: an SVG runs script";
  EXPECT_EQ(DataUri("image/png", "ab"), "data:image/png;base64,YWI=");
}

TEST(ReportMediaTest, RelativeUrlsEncodeEveryNameSoNoneEndsTheAttribute) {
  EXPECT_EQ(RelativeUrl("/srv/out", "/srv/out/r-1/still/0.png"), "r-1/still/0.png");
  EXPECT_EQ(RelativeUrl("/srv/out/r-1", "/srv/out/r-2/a.png"), "../r-2/a.png");
  EXPECT_EQ(RelativeUrl("/srv", "/srv/odd dir #1 %41/\"><x/?q=1.png"), "odd%20dir%20%231%20%2541/%22%3E%3Cx/%3Fq%3D1.png");
  EXPECT_EQ(RelativeUrl("/srv", "/srv/javascript:alert(1)"), "javascript%3Aalert%281%29") << "no scheme can start it";
}

TEST(HtmlReportTest, TextIsEscapedAndHiddenCharactersReplaced) {
  EXPECT_EQ(HtmlText("<a href=\"x\">'&'</a>"), "&lt;a href=&quot;x&quot;&gt;&#39;&amp;&#39;&lt;/a&gt;");
  EXPECT_EQ(HtmlText("caf\xc3\xa9\tok\n"), "caf\xc3\xa9\tok\n");
  EXPECT_EQ(HtmlText("a\x01" "b\x7f"), "a\xef\xbf\xbd" "b\xef\xbf\xbd");
  EXPECT_EQ(HtmlText("\xe2\x80\xaegnp.exe"), "\xef\xbf\xbdgnp.exe") << "U+202E reads a name backwards";
  EXPECT_EQ(HtmlText("\xc0\xaf" "x\xff"), "\xef\xbf\xbd\xef\xbf\xbdx\xef\xbf\xbd") << "overlong and stray bytes";
  EXPECT_EQ(HtmlText("\xed\xa0\x80"), "\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd") << "a surrogate";
}

ReportRun HostileRun(const std::string& id, const std::string& size, const std::string& product) {
  ReportRun r{.id = id, .plan_name = "<script>alert(1)</script>", .plan_path = "p.yaml", .status = "completed\"><b>",
              .execution = "server", .batch = "b", .entry = "shot[product=" + product + ",size=" + size + "]"};
  r.params = {{"product", product}, {"size", size}, {"api_key", "(secret)"}};
  r.steps.push_back(ReportStep{.id = "still", .tool = "generate_image", .status = "completed", .error = "<img src=x onerror=alert(2)>"});
  r.artifacts.push_back(ReportArtifact{.step_id = "still", .kind = MediaKind::kImage, .state = "done",
                                       .href = "data:image/png;base64,AAAA", .file = "\"><script>x</script>.png"});
  return r;
}

TEST(HtmlReportTest, APageHasNoScriptAndNoHandlerWhateverItShows) {
  const ReportPage page{.title = "run <i>", .generated_by = "sogni-flow test"};
  const std::string html = RenderRunReport(page, HostileRun("r-1", "square", "<svg onload=alert(3)>"));
  EXPECT_EQ(html.find("<script"), std::string::npos);
  EXPECT_EQ(html.find("<img src=x"), std::string::npos);
  EXPECT_EQ(html.find("<svg"), std::string::npos);
  EXPECT_EQ(html.find("<b>"), std::string::npos);
  EXPECT_NE(html.find("Content-Security-Policy\" content=\"default-src 'none';"), std::string::npos);
  EXPECT_NE(html.find("class=\"badge s-other\""), std::string::npos) << "an unknown status gets no class of its own";
  EXPECT_NE(html.find("<img src=\"data:image/png;base64,AAAA\""), std::string::npos);
}

TEST(HtmlReportTest, ABatchIsAGridOfItsMatrix) {
  std::vector<ReportRun> runs;
  for (const char* product : {"kettle", "toaster", "lamp"})
    for (const char* size : {"square", "wide"}) runs.push_back(HostileRun(std::string("r-") + product + size, size, product));
  runs.pop_back();  // lamp x wide has no run yet
  const std::string html = RenderBatchReport({.title = "batch b"}, "b", runs);
  auto count = [&](const std::string& what) {
    size_t n = 0;
    for (size_t at = html.find(what); at != std::string::npos; at = html.find(what, at + 1)) ++n;
    return n;
  };
  EXPECT_EQ(count("<td class=\"cell\">"), 5u);
  EXPECT_EQ(count("<td class=\"empty\">"), 1u);
  EXPECT_EQ(count("<th class=\"key\">product="), 3u) << "one row per product";
  EXPECT_EQ(count("<th class=\"key\">size="), 2u) << "one column per size";
  EXPECT_EQ(count("api_key="), 5u) << "a secret shows its name only";
  EXPECT_EQ(html.find("<script"), std::string::npos);
}

}  // namespace
}  // namespace sflow
