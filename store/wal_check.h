// InspectWal: reads a SQLite write-ahead log (state.db-wal) the way SQLite's recovery does
// (sqlite.org/fileformat2.html#walformat), before SQLite opens it, to find damage that SQLite
// would silently paper over.
//
// On opening, SQLite replays the frames of the log while their salts match the header and their
// cumulative checksums hold, and stops at the first frame that fails: everything after it is
// dropped without a word. After a crash that is right (the last transaction was being written);
// after damage it silently rolls committed transactions back. The two can be told apart: with
// synchronous=FULL each transaction is fsynced before the next one is written, so a crash can only
// tear the LAST transaction. When frames of this log's generation after the first failing one
// still verify against their predecessors' checksums and hold two or more commits, a transaction
// that was durable is being dropped: that is damage (lost_commits > 0).
// Not detectable here, and left to `sogni-flow recover`: a truncated log, and a damaged log
// header (SQLite then ignores the whole log), which a crash while the log restarts also leaves.
#ifndef SFLOW_STORE_WAL_CHECK_H_
#define SFLOW_STORE_WAL_CHECK_H_

#include <cstdint>
#include <string>

#include "engine/status.h"

namespace sflow {

struct WalReport {
  bool present = false;       // the log exists with a valid header
  int64_t frames = 0;         // frames SQLite replays (up to the last valid commit)
  int64_t commits = 0;        // transactions SQLite replays
  int64_t damaged_at = -1;    // byte offset of the first frame that fails, or -1
  int64_t lost_commits = 0;   // verifiable commits after it (>= 2 means damage, see above)
  bool damaged() const { return lost_commits >= 2; }
};

// kIOError when the file cannot be read; a missing or empty log is a report with !present.
Result<WalReport> InspectWal(const std::string& wal_path);

// The kIOError to return for a damaged log of the database at `db_path`, saying what to do.
Status DamagedWal(const std::string& db_path, const WalReport& report);

}  // namespace sflow

#endif  // SFLOW_STORE_WAL_CHECK_H_
