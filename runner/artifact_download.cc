#include "runner/artifact_download.h"

#include <sys/stat.h>
#include <unistd.h>

#include <thread>

#include "engine/crash_point.h"
#include "engine/value.h"
#include "runner/artifact_files.h"

namespace sflow {

std::string ProvenanceJson(const RunRecord& run, const ArtifactRecord& a, const StepRecord* step) {
  Value v = Value::Object();
  v.Set("kind", Value::String("sogni-flow/provenance"));
  v.Set("run", Value::String(run.id));
  v.Set("plan", Value::String(run.plan_path));
  v.Set("planName", Value::String(run.plan_name));
  v.Set("planDigest", Value::String(run.plan_digest));
  v.Set("workflowId", Value::String(run.workflow_id));
  if (step && !step->remote_id.empty()) v.Set("projectId", Value::String(step->remote_id));  // local runs
  v.Set("step", Value::String(a.step_id));
  v.Set("tool", step && !step->tool.empty() ? Value::String(step->tool) : Value::Null());
  v.Set("seed", step && step->seed ? Value::Int(*step->seed) : Value::Null());
  v.Set("argumentsDigest", step && !step->arguments_digest.empty() ? Value::String(step->arguments_digest) : Value::Null());
  // A server step's capacity units; a local step's record holds the tokens its project was charged
  // there (runner/local), which are not units.
  const bool local = run.execution == Execution::kLocal;
  v.Set("units", !local && step && step->units ? Value::Double(*step->units) : Value::Null());
  if (local) v.Set("chargedTokens", step && step->units ? Value::Double(*step->units) : Value::Null());
  v.Set("artifactId", Value::String(a.remote_id));
  v.Set("index", Value::Int(a.index));
  v.Set("mediaKind", Value::String(MediaKindName(a.kind)));
  v.Set("file", Value::String(a.local_path.substr(a.local_path.rfind('/') + 1)));
  v.Set("size", Value::Int(a.size));
  v.Set("sha256", Value::String(a.sha256));
  return v.ToJson() + "\n";
}

namespace {

// Fetches the whole object at a.url into `part`, a few attempts for transient answers.
Status FetchWhole(HttpTransport& transport, const ArtifactRecord& a, const std::string& part,
                  const DownloadOptions& options, PartFetch* fetched) {
  RetryClock* clock = options.clock ? options.clock : RetryClock::Real();
  auto cancelled = [&] { return options.cancel && options.cancel->cancelled(); };
  Result<PartFetch> got = Status::Error(Status::Code::kUnavailable, "not tried");
  for (int attempt = 0; attempt < 5 && !cancelled(); ++attempt) {
    if (attempt) clock->SleepFor(std::chrono::milliseconds(100 << attempt));
    got = FetchPart(transport, a.url, part, options.cancel);
    if (got.ok() && got->complete) break;
    if (got.ok() && got->status < 500 && got->status != 429 && got->status != 408) break;
    if (!got.ok() && got.status().code() == Status::Code::kIOError) break;  // the local disk
  }
  if (!got.ok()) return got.status();
  *fetched = *got;
  if (!got->complete)
    return Status::Error(Status::Code::kUnavailable,
                         "download of artifact " + a.remote_id + ": HTTP " + std::to_string(got->status));
  return Status::OK();
}

std::string ConflictHelp(const RunRecord& run, const std::string& path) {
  return path + " exists with other content (another run wrote into the same --out, or it was edited); " +
         "not overwritten. Move it away, then `sogni-flow artifacts " + run.id + "` saves this run's file";
}

}  // namespace

Status DownloadArtifacts(RunStore& store, HttpTransport& transport, const RunRecord& run,
                         const DownloadOptions& options, DownloadTally* tally) {
  Result<std::vector<ArtifactRecord>> arts = store.ListArtifacts(run.id);
  if (!arts.ok()) return arts.status();
  Result<RunRecord> fresh = store.GetRun(run.id);  // the steps as the final record stored them
  if (!fresh.ok()) return fresh.status();
  fresh->out_dir = run.out_dir;  // the caller's choice (artifacts --out)
  return DownloadArtifactList(store, transport, *fresh, *arts, options, tally);
}

Status DownloadArtifactList(RunStore& store, HttpTransport& transport, const RunRecord& run,
                            const std::vector<ArtifactRecord>& artifacts, const DownloadOptions& options,
                            DownloadTally* tally, std::vector<ArtifactRecord>* marked) {
  const RunRecord* fresh = &run;
  const std::vector<ArtifactRecord>* arts = &artifacts;
  auto step_of = [&](const std::string& id) -> const StepRecord* {
    for (const StepRecord& st : fresh->steps)
      if (st.step_id == id) return &st;
    return nullptr;
  };
  auto say = [&](const std::string& line) {
    if (options.reporter) options.reporter->Line(line);
  };
  auto cancelled = [&] { return options.cancel && options.cancel->cancelled(); };
  const Status interrupted =
      Status::Error(Status::Code::kCancelled, "interrupted; the artifacts not downloaded yet follow on resume");
  Status transient;  // the first failure that a later attempt may get past
  for (ArtifactRecord a : *arts) {
    const std::string dir = run.out_dir + "/" + SafeFileName(a.step_id);
    // Streamed into a part file of a fixed name, so that a download cut short (even by SIGKILL)
    // is resumed with Range by the next attempt or process.
    const std::string part = PartPathFor(dir, run.id, a.index);
    if (a.state == ArtifactState::kDone) {
      ::unlink(part.c_str());  // a crash after the store knew, before the part was removed
      ++tally->done;
      continue;
    }
    if (cancelled()) return interrupted;  // the part file (if any) is resumed with Range later
    PartFetch fetched;
    Status s = PrepareStepDirectory(dir);
    if (s.ok()) {
      s = FetchWhole(transport, a, part, options, &fetched);
      // A fetch that got no byte (a refused URL, an error answer) leaves no empty part behind:
      // it holds nothing to resume, and would be a stray file in --out.
      struct stat st;
      if (!s.ok() && ::lstat(part.c_str(), &st) == 0 && S_ISREG(st.st_mode) && st.st_size == 0) ::unlink(part.c_str());
    }
    if (cancelled()) return interrupted;
    Result<FileDigest> body = FileDigest();
    if (s.ok()) body = DigestFile(part);  // read back a block at a time: a video never sits in memory
    if (s.ok() && !body.ok()) s = body.status();
    if (s.ok() && fetched.total >= 0 && body->size != fetched.total) {
      ::unlink(part.c_str());  // not the object the server announced: never publish it
      s = Status::Error(Status::Code::kUnavailable, "download of artifact " + a.remote_id + ": " +
                                                        std::to_string(body->size) + " bytes, not " +
                                                        std::to_string(fetched.total));
    }
    if (s.ok()) CrashPoint("download.fetched");
    const std::string path = dir + "/" + std::to_string(a.index) + "." + (s.ok() ? ExtensionFor(a.kind, body->head) : "bin");
    if (s.ok()) {
      // The directory is synced once, after the provenance's name: both names are durable
      // before the store calls the artifact done, and a crash before that publishes both again
      // (the same bytes under an existing name are success).
      s = PublishPart(dir, part, path, SyncDir::kByCaller);
      if (s.code() == Status::Code::kConflict) s = Status::Error(Status::Code::kConflict, ConflictHelp(run, path));
    }
    if (s.ok()) {
      CrashPoint("download.published");
      a.local_path = path;
      a.size = body->size;
      a.sha256 = body->sha256;
      // Beside the file, before the store calls it done: a crash in between writes it again, and
      // the same bytes are success. Other bytes were written by another run (its id is inside):
      // this run's provenance is then not saved, which fails the artifact.
      s = WriteNoReplace(dir, path + ".provenance.json", ProvenanceJson(*fresh, a, step_of(a.step_id)), SyncDir::kNow);
      if (s.code() == Status::Code::kConflict) s = Status::Error(Status::Code::kConflict, ConflictHelp(run, path + ".provenance.json"));
    }
    // A path refused here (a symlink in --out, ...) can be fixed, then the artifact saved; a URL
    // refused is the server's doing, which no retry from here changes.
    if (!s.ok() && s.code() == Status::Code::kSecurity && s.message().rfind("refused URL", 0) == 0)
      s = Status::Error(Status::Code::kSecurity, s.message() + " (the server announced a result sogni-flow does not fetch)");
    else if (!s.ok() && s.code() == Status::Code::kSecurity)
      s = Status::Error(Status::Code::kSecurity, s.message() + ", then `sogni-flow artifacts " + run.id + "` saves it");
    if (!s.ok() && s.code() == Status::Code::kIOError)
      // The local disk (full, read-only, a quota): the run's other state is intact, and the
      // artifact is tried again by the next attempt.
      s = Status::Error(Status::Code::kIOError, s.message() + "; free space (or fix " + run.out_dir +
                                                    "), then `sogni-flow artifacts " + run.id + "` saves it");
    if (!s.ok()) {
      say(run.id + ": artifact " + a.remote_id + " not saved: " + s.message());
      if (s.code() == Status::Code::kUnavailable) {
        if (transient.ok()) transient = s;  // left as it is: resume tries again
        continue;
      }
      a.state = ArtifactState::kFailed;
      a.local_path.clear();
      a.sha256.clear();
      a.size = 0;
      if (!options.defer_marks)
        if (Status m = store.MarkArtifact(run.id, a); !m.ok()) return m;
      if (marked) marked->push_back(a);
      ++tally->failed;
      if (tally->first_problem.empty()) tally->first_problem = "artifact " + a.remote_id + " not saved: " + s.message();
      continue;
    }
    CrashPoint("download.provenance");
    a.state = ArtifactState::kDone;
    if (!options.defer_marks) {
      if (Status m = store.MarkArtifact(run.id, a); !m.ok()) return m;
      CrashPoint("download.marked");
      ::unlink(part.c_str());  // only now: until the store knew, the part proved the bytes complete
    }
    if (marked) marked->push_back(a);
    ++tally->done;
    say(run.id + ": saved " + path + " (" + std::to_string(a.size) + " bytes)");
  }
  return transient;
}

void RemovePartFiles(const RunRecord& run, const std::vector<ArtifactRecord>& stored) {
  for (const ArtifactRecord& a : stored)
    if (a.state == ArtifactState::kDone)
      ::unlink(PartPathFor(run.out_dir + "/" + SafeFileName(a.step_id), run.id, a.index).c_str());
}

}  // namespace sflow
