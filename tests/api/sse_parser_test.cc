#include "api/sse_parser.h"

#include <gtest/gtest.h>

#include <ostream>
#include <random>
#include <string>
#include <vector>

namespace sflow {

// Readable failures: gtest finds this by ADL.
void PrintTo(const SseEvent& e, std::ostream* os) {
  *os << "{id=\"" << e.id << "\"" << (e.own_id ? " own" : "") << " type=\"" << e.type << "\" data=\"" << e.data
      << "\"";
  if (e.retry_ms) *os << " retry=" << *e.retry_ms;
  *os << "}";
}

namespace {

using namespace std::string_literals;

// Everything observable after parsing one body.
struct Trace {
  std::vector<SseEvent> events;
  int64_t comments = 0;
  std::string last_event_id;
  std::optional<int64_t> retry_ms;
  bool dropped = false;  // Finish() discarded something
  friend bool operator==(const Trace&, const Trace&) = default;
};

void PrintTo(const Trace& t, std::ostream* os) {
  *os << t.events.size() << " events, " << t.comments << " comments, last id \"" << t.last_event_id << "\"";
}

// Feeds the chunks in order, then finishes.
Trace ParseChunks(const std::vector<std::string_view>& chunks) {
  SseParser parser;
  Trace t;
  for (std::string_view c : chunks) EXPECT_TRUE(parser.Feed(c, &t.events).ok());
  t.dropped = parser.Finish();
  t.comments = parser.comments();
  t.last_event_id = parser.last_event_id();
  t.retry_ms = parser.retry_ms();
  return t;
}

Trace Parse(std::string_view body) { return ParseChunks({body}); }

SseEvent Event(std::string data, std::string id = "", std::string type = "message", bool own_id = false) {
  SseEvent e;
  e.data = std::move(data);
  e.id = std::move(id);
  e.type = std::move(type);
  e.own_id = own_id;
  return e;
}

std::vector<std::string> Data(const Trace& t) {
  std::vector<std::string> out;
  for (const SseEvent& e : t.events) out.push_back(e.data);
  return out;
}

using Strings = std::vector<std::string>;

TEST(SseParserTest, DispatchesOnlyOnABlankLine) {
  SseParser parser;
  std::vector<SseEvent> events;
  ASSERT_TRUE(parser.Feed("data: a\n", &events).ok());
  EXPECT_TRUE(events.empty());
  ASSERT_TRUE(parser.Feed("\n", &events).ok());
  ASSERT_EQ(events.size(), 1u);
  EXPECT_EQ(events[0], Event("a"));
}

TEST(SseParserTest, AcceptsLfCrlfAndLoneCrLineEndings) {
  EXPECT_EQ(Data(Parse("data: a\n\ndata: b\r\n\r\ndata: c\r\rdata: d\r\n\n")), (Strings{"a", "b", "c", "d"}));
  EXPECT_EQ(Data(Parse("data: a\rdata: b\n\r")), (Strings{"a\nb"}));
}

TEST(SseParserTest, CrEndingAChunkAndLfStartingTheNextAreOneBreak) {
  EXPECT_EQ(Data(ParseChunks({"data: a\r", "\ndata: b\r", "\n\r", "\n"})), (Strings{"a\nb"}));
  // A lone CR is a break at once: the event goes out without waiting for the next chunk.
  SseParser parser;
  std::vector<SseEvent> events;
  ASSERT_TRUE(parser.Feed("data: a\n\r", &events).ok());
  EXPECT_EQ(events.size(), 1u);
  ASSERT_TRUE(parser.Feed("\ndata: b\n\n", &events).ok());  // that LF belonged to the CR
  EXPECT_EQ(events.size(), 2u);
}

TEST(SseParserTest, SkipsOneByteOrderMarkAtTheVeryStart) {
  EXPECT_EQ(Data(Parse("\xEF\xBB\xBF" "data: a\n\n")), (Strings{"a"}));
  EXPECT_EQ(Data(ParseChunks({"\xEF", "\xBB", "\xBF" "data: a\n\n"})), (Strings{"a"}));
  // A second BOM, or one later in the body, is part of a field name, so the field is unknown.
  EXPECT_EQ(Data(Parse("\xEF\xBB\xBF\xEF\xBB\xBF" "data: a\n\n")), Strings{});
  EXPECT_EQ(Data(Parse("data: a\n\n\xEF\xBB\xBF" "data: b\n\n")), (Strings{"a"}));
  // Bytes that only start like a BOM are kept.
  EXPECT_EQ(Data(Parse("\xEF\xBB" "data: a\n\ndata: b\n\n")), (Strings{"b"}));
  EXPECT_EQ(Parse("\xEF\xBB").dropped, true);
}

TEST(SseParserTest, ResetAllowsABomForTheNextResponse) {
  SseParser parser;
  std::vector<SseEvent> events;
  ASSERT_TRUE(parser.Feed("\xEF\xBB\xBF" "data: a\n\n", &events).ok());
  EXPECT_FALSE(parser.Finish());
  ASSERT_TRUE(parser.Feed("\xEF\xBB\xBF" "data: b\n\n", &events).ok());
  EXPECT_EQ(events.size(), 2u);
}

TEST(SseParserTest, CountsCommentsAndOtherwiseIgnoresThem) {
  SseParser parser;
  std::vector<std::string> seen;
  parser.set_comment_handler([&](std::string_view text) { seen.emplace_back(text); });
  std::vector<SseEvent> events;
  ASSERT_TRUE(parser.Feed(": keepalive\n\ndata: a\n:inside\ndata: b\n\n:\n", &events).ok());
  EXPECT_EQ(parser.comments(), 3);
  EXPECT_EQ(seen, (Strings{" keepalive", "inside", ""}));
  ASSERT_EQ(events.size(), 1u);
  EXPECT_EQ(events[0].data, "a\nb");
  EXPECT_FALSE(parser.Finish());  // comments alone leave nothing to drop
}

TEST(SseParserTest, FieldWithoutColonHasAnEmptyValue) {
  EXPECT_EQ(Data(Parse("data\n\n")), (Strings{""}));
  EXPECT_EQ(Data(Parse("data\ndata\n\n")), (Strings{"\n"}));
  Trace t = Parse("id: 4\nevent: x\nevent\nid\ndata\n\n");
  ASSERT_EQ(t.events.size(), 1u);
  EXPECT_EQ(t.events[0], Event("", "", "message", true));
}

TEST(SseParserTest, RemovesExactlyOneLeadingSpace) {
  EXPECT_EQ(Data(Parse("data:a\n\ndata: a\n\ndata:  a\n\ndata: \n\ndata:a:b: c\n\n")),
            (Strings{"a", "a", " a", "", "a:b: c"}));
  EXPECT_EQ(Parse("event:  x\ndata\n\n").events[0].type, " x");
}

TEST(SseParserTest, JoinsDataLinesAndRemovesOnlyTheLastNewline) {
  EXPECT_EQ(Data(Parse("data: a\ndata: b\n\ndata: a\ndata:\n\ndata:\ndata: b\n\n")),
            (Strings{"a\nb", "a\n", "\nb"}));
}

TEST(SseParserTest, IgnoresUnknownFieldsAndMatchesNamesExactly) {
  Trace t = Parse("foo: bar\nDATA: x\nData: y\ndata : z\n data: w\nevents: e\nid2: 3\ndata: v\n\n");
  ASSERT_EQ(t.events.size(), 1u);
  EXPECT_EQ(t.events[0], Event("v"));
}

TEST(SseParserTest, EventTypeDefaultsToMessageForEachEvent) {
  Trace t = Parse("event: workflow_status\ndata: 1\n\ndata: 2\n\nevent: a\nevent: b\ndata: 3\n\nevent:\ndata: 4\n\n");
  ASSERT_EQ(t.events.size(), 4u);
  EXPECT_EQ(t.events[0].type, "workflow_status");
  EXPECT_EQ(t.events[1].type, "message");
  EXPECT_EQ(t.events[2].type, "b");
  EXPECT_EQ(t.events[3].type, "message");
}

TEST(SseParserTest, LastEventIdPersistsAcrossEvents) {
  Trace t = Parse("id: 7\ndata: a\n\ndata: b\n\nid\ndata: c\n\n");
  ASSERT_EQ(t.events.size(), 3u);
  EXPECT_EQ(t.events[0], Event("a", "7", "message", true));
  EXPECT_EQ(t.events[1], Event("b", "7"));  // inherited
  EXPECT_EQ(t.events[2], Event("c", "", "message", true));  // an empty id resets it
  EXPECT_EQ(t.last_event_id, "");
}

TEST(SseParserTest, IdContainingNulIsIgnored) {
  Trace t = Parse("id: 1\ndata: a\n\nid: 2\0x\ndata: b\n\n"s);
  ASSERT_EQ(t.events.size(), 2u);
  EXPECT_EQ(t.events[1], Event("b", "1"));
  EXPECT_EQ(t.last_event_id, "1");
  EXPECT_EQ(Parse("data: a\0b\n\n"s).events[0].data, "a\0b"s);  // NUL elsewhere is data
}

TEST(SseParserTest, AnIdWithoutDataMovesTheLastEventIdButDispatchesNothing) {
  Trace t = Parse("id: 9\n\n");
  EXPECT_TRUE(t.events.empty());
  EXPECT_EQ(t.last_event_id, "9");
  EXPECT_EQ(Parse("id: 9\nevent: x\n\ndata: a\n\n").events[0], Event("a", "9"));
}

TEST(SseParserTest, RetryOnlyWhenAllAsciiDigits) {
  EXPECT_EQ(Parse("retry: 5000\n\n").retry_ms, 5000);  // no event needed
  EXPECT_EQ(Parse("retry: 0\n\n").retry_ms, 0);
  for (std::string bad : {"abc", "12a", "", " 5", "-1", "+1", "1.5", "1e3", "5 ", "99999999999999999999"}) {
    EXPECT_EQ(Parse("retry: " + bad + "\n\n").retry_ms, std::nullopt) << bad;
    EXPECT_EQ(Parse("retry: 7\n\nretry: " + bad + "\n\n").retry_ms, 7) << bad;
  }
  Trace t = Parse("retry: 10\ndata: a\n\ndata: b\n\n");
  EXPECT_EQ(t.events[0].retry_ms, 10);
  EXPECT_EQ(t.events[1].retry_ms, std::nullopt);  // per block; the stream keeps 10
  EXPECT_EQ(t.retry_ms, 10);
}

TEST(SseParserTest, FinishDropsAnIncompleteEvent) {
  SseParser parser;
  std::vector<SseEvent> events;
  ASSERT_TRUE(parser.Feed("data: a\n\nid: 5\ndata: b\n", &events).ok());
  EXPECT_TRUE(parser.Finish());
  EXPECT_EQ(parser.last_event_id(), "");  // the id of the dropped block never took effect
  ASSERT_TRUE(parser.Feed("data: c\n\n", &events).ok());  // the next response starts clean
  ASSERT_EQ(events.size(), 2u);
  EXPECT_EQ(events[1], Event("c"));
  EXPECT_FALSE(parser.Finish());
  ASSERT_TRUE(parser.Feed("data: d\n\ndata: e", &events).ok());
  EXPECT_TRUE(parser.Finish());  // a partial line
  EXPECT_EQ(events.size(), 3u);
}

TEST(SseParserTest, LastEventIdAndRetrySurviveAReconnection) {
  SseParser parser;
  std::vector<SseEvent> events;
  ASSERT_TRUE(parser.Feed("retry: 300\nid: 4\ndata: a\n\n", &events).ok());
  parser.Finish();
  ASSERT_TRUE(parser.Feed("data: b\n\n", &events).ok());
  EXPECT_EQ(events.back(), Event("b", "4"));
  EXPECT_EQ(parser.retry_ms(), 300);
}

TEST(SseParserTest, RefusesAnEventLargerThanTheLimitUntilReset) {
  SseParser parser(SseParser::Limits{64});
  std::vector<SseEvent> events;
  Status s = parser.Feed(std::string(65, 'x'), &events);  // a line that never ends
  EXPECT_EQ(s.code(), Status::Code::kUnavailable);
  EXPECT_EQ(s.message(), "event stream: an event is larger than 64 bytes");
  EXPECT_FALSE(parser.Feed("\n\n", &events).ok());
  parser.Reset();
  ASSERT_TRUE(parser.Feed("data: " + std::string(50, 'y') + "\n\n", &events).ok());
  EXPECT_EQ(events.size(), 1u);
  std::string many;
  for (int i = 0; i < 10; ++i) many += "data: 0123456789\n";
  EXPECT_FALSE(parser.Feed(many, &events).ok());  // short lines, too much data
}

// The limit is inclusive: an event of exactly max_event_bytes (its pending line plus its data,
// "value\n" per data line) is accepted, one byte more is not.
TEST(SseParserTest, AnEventOfExactlyTheLimitIsAccepted) {
  const std::string line = "data: " + std::string(58, 'x');  // 64 bytes
  SseParser parser(SseParser::Limits{64});
  std::vector<SseEvent> events;
  ASSERT_TRUE(parser.Feed(line + "\n\n", &events).ok());
  ASSERT_EQ(events.size(), 1u);
  EXPECT_EQ(events[0].data, std::string(58, 'x'));
  SseParser split(SseParser::Limits{64});  // the same line cut across chunks
  ASSERT_TRUE(split.Feed(line.substr(0, 30), &events).ok());
  ASSERT_TRUE(split.Feed(line.substr(30) + "\n\n", &events).ok());
  EXPECT_EQ(events.size(), 2u);
  SseParser over(SseParser::Limits{64});
  EXPECT_FALSE(over.Feed(line + "x\n\n", &events).ok());
}

TEST(SseParserTest, HandlerSeesEachEventOnce) {
  SseParser parser;
  int n = 0;
  ASSERT_TRUE(parser.Feed("data: a\n\ndata: b\n\n", [&](const SseEvent& e) { n += e.data.size(); }).ok());
  EXPECT_EQ(n, 2);
}

// A body with every rule in it, in the shape the sandbox sends (sandbox/sse.cc Frame).
const std::string kRecorded =
    "\xEF\xBB\xBF: sogni-flow sandbox stream\n\n"
    "retry: 2500\n"
    "id: 1\nevent: workflow_started\ndata: {\"id\":\"1\",\"workflowId\":\"wf_1\",\"sequence\":1,\"status\":\"running\"}\n\n"
    "event: workflow_status\ndata: {\"workflowId\":\"wf_1\",\"status\":\"running\"}\n\n"
    "id: 2\r\nevent: workflow_progress\r\ndata: {\"message\":\"caf\xC3\xA9 \xF0\x9F\x8E\xAC\"}\r\n\r\n"
    ": keepalive\r\r"
    "id: 3\revent: step_started\rdata: line one\rdata:line two\r\r"
    "data\n\n"
    "id: 4\0x\ndata: nul id ignored\n\n"s
    "id\nfoo: bar\ndata:  two spaces\n\n"
    "id: 5\n\n"
    "retry: soon\nevent: workflow_completed\ndata: {\"status\":\"completed\"}\n\n"
    "id: 6\ndata: cut off\n";

TEST(SseParserTest, RecordedStreamParsesAsExpected) {
  Trace t = Parse(kRecorded);
  std::vector<SseEvent> want = {
      Event(R"({"id":"1","workflowId":"wf_1","sequence":1,"status":"running"})", "1", "workflow_started", true),
      Event(R"({"workflowId":"wf_1","status":"running"})", "1", "workflow_status"),
      Event("{\"message\":\"caf\xC3\xA9 \xF0\x9F\x8E\xAC\"}", "2", "workflow_progress", true),
      Event("line one\nline two", "3", "step_started", true),
      Event("", "3"),
      Event("nul id ignored", "3"),
      Event(" two spaces", "", "message", true),
      Event(R"({"status":"completed"})", "5", "workflow_completed"),
  };
  want[0].retry_ms = 2500;
  EXPECT_EQ(t.events, want);
  EXPECT_EQ(t.comments, 2);
  EXPECT_EQ(t.last_event_id, "5");
  EXPECT_EQ(t.retry_ms, 2500);
  EXPECT_TRUE(t.dropped);
}

TEST(SseParserTest, RecordedStreamSplitAtEveryOffsetParsesTheSame) {
  const Trace whole = Parse(kRecorded);
  std::string_view all = kRecorded;
  for (size_t cut = 0; cut <= all.size(); ++cut)
    ASSERT_EQ(ParseChunks({all.substr(0, cut), all.substr(cut)}), whole) << "cut at byte " << cut;
  std::vector<std::string_view> bytes;
  for (size_t i = 0; i < all.size(); ++i) bytes.push_back(all.substr(i, 1));
  EXPECT_EQ(ParseChunks(bytes), whole);
}

std::vector<std::string_view> RandomChunks(std::string_view all, std::mt19937& rng) {
  std::vector<std::string_view> chunks;
  std::uniform_int_distribution<size_t> len(0, 40);
  for (size_t i = 0; i < all.size();) {
    size_t n = std::min(len(rng), all.size() - i);
    chunks.push_back(all.substr(i, n));  // empty chunks too
    i += n;
  }
  return chunks;
}

TEST(SseParserTest, RecordedStreamInRandomChunksParsesTheSame) {
  const Trace whole = Parse(kRecorded);
  std::mt19937 rng(20240601);
  for (int round = 0; round < 2000; ++round) ASSERT_EQ(ParseChunks(RandomChunks(kRecorded, rng)), whole) << round;
}

// A deliberately naive reading of the spec, to compare against on random bodies.
Trace Reference(std::string s) {
  Trace t;
  if (s.rfind("\xEF\xBB\xBF", 0) == 0) s.erase(0, 3);
  std::string data, type, id_buffer;
  bool open = false;
  size_t i = 0;
  while (true) {
    size_t eol = s.find_first_of("\r\n", i);
    if (eol == std::string::npos) break;
    std::string line = s.substr(i, eol - i);
    i = eol + 1;
    if (s[eol] == '\r' && i < s.size() && s[i] == '\n') ++i;
    if (line.empty()) {
      t.last_event_id = id_buffer;
      if (!data.empty()) t.events.push_back(Event(data.substr(0, data.size() - 1), id_buffer, type.empty() ? "message" : type));
      data.clear(), type.clear(), open = false;
      continue;
    }
    if (line[0] == ':') { ++t.comments; continue; }
    open = true;
    size_t colon = line.find(':');
    std::string field = line.substr(0, colon), value = colon == std::string::npos ? "" : line.substr(colon + 1);
    if (!value.empty() && value[0] == ' ') value.erase(0, 1);
    if (field == "data") data += value + "\n";
    if (field == "event") type = value;
    if (field == "id" && value.find('\0') == std::string::npos) id_buffer = value;
    if (field == "retry" && !value.empty() && value.size() < 18 && value.find_first_not_of("0123456789") == std::string::npos)
      t.retry_ms = std::stoll(value);
  }
  t.dropped = open || i < s.size();
  return t;
}

// The parts that matter for comparing with the reference (which does not track own_id/retry per event).
Trace Comparable(Trace t) {
  for (SseEvent& e : t.events) e.own_id = false, e.retry_ms.reset();
  return t;
}

TEST(SseParserTest, MatchesANaiveReadingOfTheSpecOnRandomBodies) {
  const std::vector<std::string> tokens = {
      "data", "data:", "data: ", "data: x", "id: 7", "id:", "id: 1\0 2"s, "event: e", "event",
      "retry: 12", "retry: 1a", ":", ": c", "\r", "\n", "\r\n", "\n\n", "\r\r", " ", "x", "\xEF\xBB\xBF",
      "\xC3\xA9", ":", "foo"};
  std::mt19937 rng(7);
  std::uniform_int_distribution<size_t> pick(0, tokens.size() - 1), count(0, 60);
  for (int round = 0; round < 3000; ++round) {
    std::string body;
    for (size_t n = count(rng); n > 0; --n) body += tokens[pick(rng)];
    Trace want = Reference(body);
    ASSERT_EQ(Comparable(Parse(body)), want) << "round " << round;
    ASSERT_EQ(Comparable(ParseChunks(RandomChunks(body, rng))), want) << "round " << round;
  }
}

}  // namespace
}  // namespace sflow
