// Event chunks: how a run's events are stored. Each committed batch of a run is one row of
// `event_chunks` (store/migrations.cc, version 7) rather than a row per event: an event then
// costs its bytes and no B-tree insert of its own, and a stream of 100,000 events is about a
// hundred rows. Chunks of a run never overlap: a batch stores only events above the stored
// cursor, and the cursor then covers them all.
//
// A chunk's body is its events in ascending sequence order, each as a header line of five
// decimal numbers, then three texts of the lengths (in bytes) the header gives:
//   "<sequence> <type bytes> <status bytes> <json bytes> <received_at>\n" <type><status><json>
// The JSON is the event exactly as received. The format is plain text (sqlite3 shows it), can
// be written by SQL alone (migration 7 converts each old event row so), and is read strictly:
// anything that does not match it is damage, never a guess.
#ifndef SFLOW_STORE_EVENT_CHUNKS_H_
#define SFLOW_STORE_EVENT_CHUNKS_H_

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "engine/run_store.h"
#include "engine/status.h"

namespace sflow {

// Appends one event to a chunk body. The caller keeps the body's sequences ascending.
void AppendToChunk(const EventRecord& event, int64_t received_at, std::string* body);

// The events of a chunk row whose columns say first_sequence, last_sequence and count, in order;
// only those with sequence > after go to *out. Damage (kIOError is the caller's to build): the
// returned Status is kInvalidPlan with what is wrong ("event 3: json is not JSON", "the body
// ends inside an event", "sequences do not ascend", "2 events, the row says 3", ...).
Status DecodeChunk(std::string_view body, int64_t first, int64_t last, int64_t count, int64_t after,
                   std::vector<EventRecord>* out);

}  // namespace sflow

#endif  // SFLOW_STORE_EVENT_CHUNKS_H_
