// Shared by the store tests: sample records, a fixed clock, a canonical dump of the database.
#ifndef SFLOW_TESTS_STORE_STORE_TEST_UTIL_H_
#define SFLOW_TESTS_STORE_STORE_TEST_UTIL_H_

#include <memory>
#include <string>
#include <vector>

#include "engine/run_store.h"
#include "store/sqlite_db.h"
#include "store/sqlite_run_store.h"

namespace sflow {

constexpr int64_t kTestNow = 1700000000000;  // the fixed clock of most tests
inline SqliteRunStore::Clock FixedClock(int64_t now = kTestNow) {
  return [now] { return now; };
}

// A server run with two planned steps, as the engine would create it.
RunRecord SampleRun(const std::string& id);
// An event of `sequence` with a small JSON body.
EventRecord SampleEvent(int64_t sequence, const std::string& type = "step_progress");
// Events first..last and a cursor of `last`.
EventBatch SampleBatch(int64_t first, int64_t last);
IntentRecord SampleIntent(const std::string& id, const std::string& run_id);
std::string Sha(char c);  // 64 copies of c: a well-formed sha256 hex

// A copy of a Result's Status, for ASSERT_OK(StatusOf(store->Call())): the macros bind a
// reference, which must not point into a temporary Result.
template <typename T>
Status StatusOf(const Result<T>& r) {
  return r.status();
}

// Db::Open, aborting the test binary if it fails (for fixtures, where it cannot).
std::unique_ptr<Db> MustOpenDb(const std::string& path);
// A store over a private in-memory database.
std::unique_ptr<SqliteRunStore> MemoryStore(SqliteRunStore::Clock clock = FixedClock());

// Every row of every table, in a canonical order, as text: equal dumps mean equal states.
std::string Dump(Db& db);

// Octal permission bits of a path (lstat), or -1.
int ModeOf(const std::string& path);

}  // namespace sflow

#endif  // SFLOW_TESTS_STORE_STORE_TEST_UTIL_H_
