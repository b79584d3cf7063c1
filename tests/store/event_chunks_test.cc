// The chunk format of stored events (store/event_chunks.h): what is written reads back byte for
// byte, and any body that is not exactly a written one is damage, never a partial answer.
#include "store/event_chunks.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace sflow {
namespace {

std::vector<EventRecord> Sample() {
  return {EventRecord{.sequence = 4, .type = "step_started", .status = "running",
                      .json = "{\"sequence\":4,\"note\":\"caf\xc3\xa9\\n\",\"x\":[1,2]}", .received_at = 1700000000000},
          EventRecord{.sequence = 5, .type = "", .status = "", .json = "{}", .received_at = 0},
          EventRecord{.sequence = 9, .type = "t\xe2\x98\x83", .status = "s", .json = "{\"a\":\n 1}", .received_at = 7}};
}

std::string Body(const std::vector<EventRecord>& events) {
  std::string body;
  for (const EventRecord& e : events) AppendToChunk(e, e.received_at, &body);
  return body;
}

TEST(EventChunksTest, WhatIsWrittenReadsBackByteForByte) {
  const std::vector<EventRecord> in = Sample();
  const std::string body = Body(in);
  EXPECT_EQ(body.substr(0, 32), "4 12 7 41 1700000000000\nstep_sta");
  std::vector<EventRecord> out;
  ASSERT_TRUE(DecodeChunk(body, 4, 9, 3, -1, &out).ok());
  ASSERT_EQ(out.size(), 3u);
  for (size_t i = 0; i < 3; ++i) {
    EXPECT_EQ(out[i].sequence, in[i].sequence);
    EXPECT_EQ(out[i].type, in[i].type);
    EXPECT_EQ(out[i].status, in[i].status);
    EXPECT_EQ(out[i].json, in[i].json);
    EXPECT_EQ(out[i].received_at, in[i].received_at);
  }
  out.clear();
  ASSERT_TRUE(DecodeChunk(body, 4, 9, 3, 4, &out).ok());  // only those after the cursor given
  ASSERT_EQ(out.size(), 2u);
  EXPECT_EQ(out[0].sequence, 5);
  EventRecord big{.sequence = INT64_MAX, .type = "x", .json = "{}"};
  out.clear();
  ASSERT_TRUE(DecodeChunk(Body({big}), INT64_MAX, INT64_MAX, 1, -1, &out).ok());
  EXPECT_EQ(out[0].sequence, INT64_MAX);
}

// Every prefix of a body, every single byte changed, and the row's numbers off by one: each is
// either the very events written (a change that keeps every promise, e.g. inside a JSON string)
// or damage with a reason, and a failed decode leaves *out as it was.
TEST(EventChunksTest, AnythingElseIsDamageNeverAPartialAnswer) {
  const std::string body = Body(Sample());
  std::vector<EventRecord> out;
  const EventRecord sentinel{.sequence = -7};
  for (size_t cut = 0; cut < body.size(); ++cut) {
    out = {sentinel};
    Status s = DecodeChunk(body.substr(0, cut), 4, 9, 3, -1, &out);
    EXPECT_FALSE(s.ok()) << "a body cut at " << cut << " decoded";
    EXPECT_FALSE(s.message().empty());
  }
  int decoded = 0;
  for (size_t at = 0; at < body.size(); ++at) {
    for (unsigned char flip : {0x01, 0x20, 0x80}) {
      std::string bad = body;
      bad[at] = static_cast<char>(bad[at] ^ flip);
      out.clear();
      Status s = DecodeChunk(bad, 4, 9, 3, -1, &out);
      if (!s.ok()) continue;
      ++decoded;
      ASSERT_EQ(out.size(), 3u) << "byte " << at;  // the same framing: only a text changed
      EXPECT_EQ(out[2].sequence, 9);
    }
  }
  EXPECT_LT(decoded, static_cast<int>(body.size()));  // most changes are caught
  for (auto [first, last, count] : {std::tuple<int64_t, int64_t, int64_t>{5, 9, 3}, {4, 8, 3}, {4, 9, 2}, {4, 9, 4}, {3, 9, 3}}) {
    out.clear();
    EXPECT_FALSE(DecodeChunk(body, first, last, count, -1, &out).ok()) << first << ".." << last << " x" << count;
  }
  EXPECT_FALSE(DecodeChunk("", 0, 0, 1, -1, &out).ok()) << "an empty chunk";
}

TEST(EventChunksTest, DamageIsNamed) {
  std::vector<EventRecord> out;
  EXPECT_EQ(DecodeChunk("4 1 0 2 0\nx{}junk", 4, 4, 1, -1, &out).message(), "event 2: its header is not five numbers");
  EXPECT_EQ(DecodeChunk("4 1 0 9 0\nx{}", 4, 4, 1, -1, &out).message(), "event 1: the body ends inside it");
  EXPECT_EQ(DecodeChunk("4 1 0 2 0\nx[]", 4, 4, 1, -1, &out).message(),
            "event 1 (sequence 4): json is not a JSON object (JSON: not an object at byte 0)");
  EXPECT_EQ(DecodeChunk("4 1 0 2 0\n\xff{}", 4, 4, 1, -1, &out).message(),
            "event 1 (sequence 4): its type or status is not valid UTF-8");
  EXPECT_EQ(DecodeChunk("-4 1 0 2 0\nx{}", 4, 4, 1, -1, &out).message(), "event 1: its header is not five numbers");
  EXPECT_EQ(DecodeChunk("4 1 0 2 99999999999999999999\nx{}", 4, 4, 1, -1, &out).message(),
            "event 1: its header is not five numbers");
}

}  // namespace
}  // namespace sflow
