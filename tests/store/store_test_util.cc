#include "tests/store/store_test_util.h"

#include <sqlite3.h>
#include <sys/stat.h>

#include <cstdlib>

namespace sflow {

RunRecord SampleRun(const std::string& id) {
  RunRecord r;
  r.id = id;
  r.plan_path = "plans/teaser.yaml";
  r.plan_name = "launch-teaser";
  r.plan_digest = "sha256:" + Sha('d');
  r.params = Value::Object();
  r.params.Set("subject", Value::String("translucent headphones"));
  r.params.Set("seconds", Value::Int(5));
  r.execution = Execution::kServer;
  r.account = "0123456789abcdef";
  r.out_dir = "out/" + id;
  StepRecord keyframe;
  keyframe.step_id = "keyframe";
  keyframe.tool = "generate_image";
  keyframe.seed = 1234;
  StepRecord clip;
  clip.step_id = "clip";
  clip.tool = "generate_video";
  r.steps = {keyframe, clip};
  return r;
}

EventRecord SampleEvent(int64_t sequence, const std::string& type) {
  EventRecord e;
  e.sequence = sequence;
  e.type = type;
  e.status = "running";
  e.json = "{\"id\":\"" + std::to_string(sequence) + "\",\"sequence\":" + std::to_string(sequence) +
           ",\"type\":\"" + type + "\"}";
  return e;
}

EventBatch SampleBatch(int64_t first, int64_t last) {
  EventBatch b;
  for (int64_t s = first; s <= last; ++s) b.events.push_back(SampleEvent(s));
  b.cursor = last;
  return b;
}

IntentRecord SampleIntent(const std::string& id, const std::string& run_id) {
  IntentRecord i;
  i.id = id;
  i.run_id = run_id;
  i.kind = IntentKind::kStart;
  i.idempotency_key = "key-" + id;
  i.request = R"({"input":{"steps":[{"id":"keyframe","toolName":"generate_image"}]}})";
  return i;
}

std::string Sha(char c) { return std::string(64, c); }

std::unique_ptr<Db> MustOpenDb(const std::string& path) {
  Result<std::unique_ptr<Db>> db = Db::Open(path);
  if (!db.ok()) std::abort();
  return std::move(*db);
}

std::unique_ptr<SqliteRunStore> MemoryStore(SqliteRunStore::Clock clock) {
  Result<std::unique_ptr<SqliteRunStore>> store =
      SqliteRunStore::Open(MustOpenDb(":memory:"), clock);
  if (!store.ok()) std::abort();
  return std::move(*store);
}

std::string Dump(Db& db) {
  static const char* const kQueries[] = {
      "SELECT 'version', * FROM pragma_user_version",
      "SELECT 'runs', * FROM runs ORDER BY id",
      "SELECT 'steps', * FROM steps ORDER BY run_id, position",
      "SELECT 'event_chunks', * FROM event_chunks ORDER BY run_id, first_sequence",
      "SELECT 'cursors', * FROM cursors ORDER BY run_id",
      "SELECT 'artifacts', * FROM artifacts ORDER BY run_id, remote_id",
      "SELECT 'approvals', * FROM approvals ORDER BY id",
      "SELECT 'intents', * FROM intents ORDER BY id",
  };
  std::string out;
  for (const char* sql : kQueries) {
    sqlite3_stmt* stmt = nullptr;
    if (sqlite3_prepare_v2(db.handle(), sql, -1, &stmt, nullptr) != SQLITE_OK) {
      out += std::string("<") + sqlite3_errmsg(db.handle()) + ">\n";
      continue;
    }
    while (sqlite3_step(stmt) == SQLITE_ROW) {
      for (int i = 0; i < sqlite3_column_count(stmt); ++i) {
        const unsigned char* t = sqlite3_column_text(stmt, i);
        out += t ? reinterpret_cast<const char*>(t) : "NULL";
        out += '|';
      }
      out += '\n';
    }
    sqlite3_finalize(stmt);
  }
  return out;
}

int ModeOf(const std::string& path) {
  struct stat st;
  if (::lstat(path.c_str(), &st) != 0) return -1;
  return static_cast<int>(st.st_mode & 07777);
}

}  // namespace sflow
