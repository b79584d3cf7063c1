// sogni-flow report RUN|BATCH [-o FILE] : an HTML page of a run or of a batch (cli/html_report.h)
// from the state directory and the downloaded files. Reads only, but for the page it writes;
// sends nothing.
#include <fcntl.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <ctime>
#include <filesystem>
#include <map>
#include <string>
#include <vector>

#include "cli/batch_runs.h"
#include "cli/command_line.h"
#include "cli/context.h"
#include "cli/exit_codes.h"
#include "cli/html_report.h"
#include "cli/report_media.h"
#include "cli/settings.h"
#include "cli/state_access.h"
#include "engine/json.h"
#include "engine/params.h"
#include "engine/run_store.h"
#include "plans/batch_loader.h"
#include "runner/artifact_download.h"
#include "runner/sha256.h"
#include "store/state_dir.h"

#ifndef SFLOW_VERSION
#define SFLOW_VERSION "0.0.0"
#endif

namespace sflow {

namespace {

constexpr const char* kMarker = "<!-- sogni-flow report -->";
constexpr int64_t kInlineMax = 2 << 20;        // images up to 2 MiB go inside the page,
constexpr int64_t kInlineTotal = 32 << 20;     // and up to 32 MiB of them in all (then linked)
constexpr int64_t kPosterScanMax = 64 << 20;   // a video is kept for its first frame up to 64 MiB

bool IsRunId(const std::string& s) {
  return s.size() == 22 && s.rfind("r-", 0) == 0 && s[10] == '-' && s[17] == '-';
}

// The message of an error object, or its JSON; "" for none.
std::string ErrorText(const Value& e) {
  if (e.is_null()) return "";
  if (e.is_object()) {
    std::string m = e.StringAt("message");
    if (!m.empty()) return m;
  }
  return e.Brief();
}

// The first and last event time of each step (a server event names it in data.stepId, a local
// run's in stepId).
std::map<std::string, std::pair<int64_t, int64_t>> StepTimes(RunStore& store, const std::string& run_id) {
  std::map<std::string, std::pair<int64_t, int64_t>> times;
  Result<std::vector<EventRecord>> events = store.ListEvents(run_id, -1, 0);
  if (!events.ok()) return times;
  for (const EventRecord& e : *events) {
    Result<Value> v = ParseJson(e.json);
    if (!v.ok() || !v->is_object()) continue;
    std::string step = v->StringAt("stepId");
    if (const Value* d = v->Find("data"); step.empty() && d) step = d->StringAt("stepId");
    if (step.empty()) continue;
    auto [it, fresh] = times.emplace(step, std::make_pair(e.received_at, e.received_at));
    if (!fresh) {
      it->second.first = std::min(it->second.first, e.received_at);
      it->second.second = std::max(it->second.second, e.received_at);
    }
  }
  return times;
}

// A downloaded file read whole, once: its size and sha256, and its bytes when they are at most
// `keep` long (else `bytes` is empty).
struct FileRead {
  int64_t size = 0;
  std::string sha256, bytes;
};

// A descriptor of the regular file at `path`, -1 for anything else. Never blocks on what is not
// one: it is opened O_NONBLOCK (a fifo or a device put there since the last look opens at once)
// and refused by fstat unless regular.
int OpenRegular(const std::string& path) {
  int fd = ::open(path.c_str(), O_RDONLY | O_NONBLOCK | O_CLOEXEC);
  struct stat st;
  if (fd >= 0 && (::fstat(fd, &st) != 0 || !S_ISREG(st.st_mode))) ::close(fd), fd = -1;
  return fd;
}

// Reads the regular file at `path` whole (OpenRegular). nullopt: absent, not a regular file, or
// unreadable.
std::optional<FileRead> ReadArtifact(const std::string& path, int64_t keep) {
  int fd = OpenRegular(path);
  if (fd < 0) return std::nullopt;
  FileRead out;
  Sha256 hash;
  char buf[1 << 16];
  for (;;) {
    ssize_t n = ::read(fd, buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return ::close(fd), std::nullopt;
    if (n == 0) break;
    hash.Update(std::string_view(buf, static_cast<size_t>(n)));
    out.size += n;
    if (out.size <= keep) out.bytes.append(buf, static_cast<size_t>(n));
  }
  ::close(fd);
  if (out.size > keep) out.bytes.clear();
  out.sha256 = hash.HexDigest();
  return out;
}

// The first bytes of a regular file (for the marker of an earlier report); "" otherwise.
std::string HeadOf(const std::string& path, size_t n) {
  int fd = OpenRegular(path);
  if (fd < 0) return "";
  std::string head(n, '\0');
  ssize_t got = ::read(fd, head.data(), n);
  ::close(fd);
  head.resize(got > 0 ? static_cast<size_t>(got) : 0);
  return head;
}

struct Gathered {
  int artifacts = 0, inlined = 0, missing = 0;
  int64_t inline_left = kInlineTotal;  // bytes of images the page may still hold
};

// Everything the page shows of one run. Files are found from the current directory, as the run
// stored them; `report_dir` (absolute) is where the page goes, for relative links.
Result<ReportRun> GatherRun(RunStore& store, const RunRecord& run, const std::string& report_dir, bool inline_images,
                            Gathered* g) {
  ReportRun r{.id = run.id, .plan_name = run.plan_name, .plan_path = run.plan_path, .plan_digest = run.plan_digest,
              .status = Name(run.status), .execution = run.execution == Execution::kLocal ? "local" : "server",
              .workflow_id = run.workflow_id, .api_url = run.api_url, .waiting_reason = run.waiting_reason,
              .error = ErrorText(run.error)};
  r.created_ms = run.created_at;
  r.updated_ms = run.updated_at;
  if (run.params.is_object())
    for (const auto& m : run.params.members())
      r.params.emplace_back(m.key, NameSaysSecret(m.key) ? "(secret)" : m.value.is_string() ? m.value.as_string() : m.value.ToJson());
  Result<std::vector<LedgerRow>> ledger = store.ListLedger({.run_id = run.id});
  std::map<std::string, LedgerAmount> step_estimates;
  if (ledger.ok() && !ledger->empty()) {
    const LedgerRow& row = ledger->front();
    r.batch = row.batch;
    r.entry = row.entry;
    r.estimate = row.estimate.Total();
    r.charged = row.actual;
    step_estimates = row.estimate.steps;
  }
  std::map<std::string, std::vector<ProjectRecord>> projects;
  if (run.execution == Execution::kLocal) {
    Result<std::vector<ProjectRecord>> p = store.ListProjects(run.id);
    if (p.ok())
      for (ProjectRecord& pr : *p) projects[pr.step_id].push_back(std::move(pr));
  }
  const auto times = StepTimes(store, run.id);
  for (const StepRecord& s : run.steps) {
    ReportStep st{.id = s.step_id, .tool = s.tool, .status = Name(s.status), .seed = s.seed, .remote_id = s.remote_id,
                  .error = ErrorText(s.error)};
    if (auto e = step_estimates.find(s.step_id); e != step_estimates.end()) {
      if (run.execution == Execution::kLocal) st.estimate_usd = e->second.usd;
      else st.estimate_units = e->second.units;
    }
    if (run.execution == Execution::kLocal) {
      double charge = 0;
      bool charged = false;
      for (const ProjectRecord& p : projects[s.step_id]) {
        if (p.quote) st.quote_tokens = p.quote;
        if (!p.token_type.empty()) st.token_type = p.token_type;
        if (p.charge) charge += *p.charge, charged = true;
      }
      if (charged) st.charge_tokens = charge;
    } else {
      st.units = s.units;
    }
    if (auto t = times.find(s.step_id); t != times.end()) st.started_ms = t->second.first, st.ended_ms = t->second.second;
    r.steps.push_back(std::move(st));
  }
  Result<std::vector<ArtifactRecord>> artifacts = store.ListArtifacts(run.id);
  if (!artifacts.ok()) return artifacts.status();
  for (const ArtifactRecord& a : *artifacts) {
    ++g->artifacts;
    ReportArtifact ra{.step_id = a.step_id, .index = a.index, .kind = a.kind, .state = Name(a.state), .size = a.size,
                      .sha256 = a.sha256};
    ra.file = a.local_path.empty() ? a.remote_id : a.local_path;
    const StepRecord* step = nullptr;
    for (const StepRecord& s : run.steps)
      if (s.step_id == a.step_id) step = &s;
    if (a.state == ArtifactState::kDone) {
      ra.provenance = ProvenanceJson(run, a, step);
      std::error_code ec;
      const std::filesystem::path abs = std::filesystem::weakly_canonical(std::filesystem::absolute(a.local_path, ec), ec);
      // Every file is read whole and checked against what was downloaded (size and sha256): one
      // changed since is never shown as what the run made, inside the page or linked beside it.
      const bool inline_it = a.kind == MediaKind::kImage && inline_images && g->inline_left > 0;
      const int64_t keep = inline_it ? std::min(kInlineMax, g->inline_left) : a.kind == MediaKind::kVideo ? kPosterScanMax : 0;
      std::optional<FileRead> file = ec ? std::nullopt : ReadArtifact(abs.string(), keep);
      if (!file) {
        ++g->missing;
      } else if (file->size != a.size || file->sha256 != a.sha256) {
        ra.state = "changed since its download";
        ++g->missing;
      } else {
        ra.href = RelativeUrl(report_dir, abs.string());
        const std::string mime = inline_it ? ImageMime(file->bytes) : "";
        if (!file->bytes.empty() && !mime.empty()) {
          ra.href = DataUri(mime, file->bytes);
          g->inline_left -= file->size;
          ++g->inlined;
        } else if (a.kind == MediaKind::kVideo && !file->bytes.empty()) {
          if (std::optional<std::string> frame = Mp4JpegFrame(file->bytes)) ra.poster = DataUri("image/jpeg", *frame);
        }
      }
    }
    r.artifacts.push_back(std::move(ra));
  }
  return r;
}

// The temporaries of earlier writes of `path` whose process is gone (killed while it wrote):
// PATH.tmp-PID, a regular file, PID not alive.
void RemoveStaleTemporaries(const std::string& path) {
  const std::filesystem::path p(path);
  const std::string prefix = p.filename().string() + ".tmp-";
  std::error_code ec;
  for (const auto& e : std::filesystem::directory_iterator(p.parent_path().empty() ? "." : p.parent_path(), ec)) {
    const std::string name = e.path().filename().string();
    if (name.rfind(prefix, 0) != 0 || name.size() == prefix.size() || name.size() > prefix.size() + 10) continue;
    const std::string pid = name.substr(prefix.size());
    if (pid.find_first_not_of("0123456789") != std::string::npos) continue;
    struct stat st;
    if (::lstat(e.path().c_str(), &st) != 0 || !S_ISREG(st.st_mode) || st.st_uid != ::getuid()) continue;
    if (::kill(static_cast<pid_t>(std::stol(pid)), 0) != 0 && errno == ESRCH) ::unlink(e.path().c_str());
  }
}

// Writes `html` to `path` whole or not at all (a temporary file, fsync, rename). A file there that
// is not a report of sogni-flow is kept unless `force`.
Status WritePage(const std::string& path, const std::string& html, bool force) {
  struct stat st;
  mode_t mode = 0644;
  if (::lstat(path.c_str(), &st) == 0) {
    if (!S_ISREG(st.st_mode)) return Status::Error(Status::Code::kSecurity, path + " exists and is not a regular file");
    // A report begins with its doctype line and the marker, as this writes it; a file that only
    // mentions the marker somewhere is not one.
    if (!force && HeadOf(path, 64).rfind(std::string("<!DOCTYPE html>\n") + kMarker + "\n", 0) != 0)
      return Status::Error(Status::Code::kInvalidPlan, path + " exists and is not a report of sogni-flow; give another -o, or --force");
    mode = st.st_mode & 0777;  // a report made private stays private
  }
  RemoveStaleTemporaries(path);
  const std::string tmp = path + ".tmp-" + std::to_string(::getpid());
  int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
  if (fd >= 0 && ::fchmod(fd, mode) != 0) {
    ::close(fd);
    ::unlink(tmp.c_str());
    return Status::IOError("cannot write " + tmp + ": " + std::strerror(errno));
  }
  if (fd < 0) return Status::IOError("cannot write " + tmp + ": " + std::strerror(errno));
  size_t done = 0;
  while (done < html.size()) {
    ssize_t n = ::write(fd, html.data() + done, html.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    done += static_cast<size_t>(n);
  }
  const bool ok = done == html.size() && ::fsync(fd) == 0;
  const int err = errno;
  ::close(fd);
  if (!ok || ::rename(tmp.c_str(), path.c_str()) != 0) {
    const int e = ok ? errno : err;
    ::unlink(tmp.c_str());
    return Status::IOError("cannot write " + path + ": " + std::strerror(e));
  }
  return Status::OK();
}

}  // namespace

int RunReport(const std::vector<std::string>& args, Context& ctx) {
  std::string out, state_dir;
  bool no_inline = false, force = false, json = false;
  CommandLine cl("report RUN|BATCH [-o FILE] [--no-inline] [--force] [--state-dir DIR] [--json]",
                 "Writes an HTML page of a run, or of a batch (a batch file, or a batch's name): a contact\n"
                 "sheet of every artifact (images, a video's player with its first frame, an audio player),\n"
                 "per step its status, start, duration, seed, estimate and what it was charged, and each\n"
                 "file's provenance; for a batch, each plan's runs as a grid of its matrix, then each run. The\n"
                 "page is one file that needs no network and runs no script: images up to 2 MiB are inside\n"
                 "it, videos and audio are linked beside it (relative links: keep the page with the files).\n"
                 "Files are found as the runs stored them, from the current directory. A file changed since\n"
                 "its download (another size or sha256) is not shown. Sends nothing.");
  cl.Value("output", "o", "FILE",
           "where the page goes (default: a run's out dir/report.html; a batch's NAME.report.html in\n"
           "the out_dir setting); a file there is replaced only if it is a report", &out);
  cl.Flag("no-inline", "", "link images beside the page instead of putting them in it", &no_inline);
  cl.Flag("force", "", "replace FILE even if it is not a report of sogni-flow", &force);
  cl.Value("state-dir", "", "DIR", "the state directory (default: the state_dir setting, see config; ./.sogni-flow)", &state_dir);
  cl.Flag("json", "", "one JSON object on stdout: {report, runs, artifacts, inlined, missing}", &json);
  cl.Epilog("exit codes: 0 written, 2 no such run or batch, or a file at -o that is not a report, 6 local\n"
            "state (or the page could not be written), 7 -o names something that is not a regular file\n\n"
            "examples:\n"
            "  sogni-flow report r-20251123-154800-a1b2\n"
            "  sogni-flow report samples/nightly.batch.yaml -o nightly.html\n"
            "  sogni-flow batch report samples/nightly.batch.yaml\n");
  std::vector<std::string> rest;
  Status s = cl.Parse(args, &rest);
  if (cl.help_requested()) return ctx.out << cl.Help(), kExitOk;
  if (!s.ok()) return ctx.err << "sogni-flow report: " << s.message() << "\n", kExitInvalid;
  if (rest.size() != 1) return ctx.err << "sogni-flow report: give one run id or batch (see --help)\n", kExitInvalid;
  const std::string& what = rest[0];

  // A batch file names its batch; anything else that is not a run id is a batch's name.
  std::string batch_name;
  if (!IsRunId(what)) {
    if (LooksLikeBatchFile(what)) {
      DiagnosticList diags;
      Result<Batch> b = LoadBatch(what, &diags);
      PrintDiagnostics(diags, ctx.err);
      if (!b.ok()) return ctx.err << "sogni-flow report: " << what << " is invalid\n", kExitInvalid;
      batch_name = b->name;
    } else {
      batch_name = what;
    }
  }
  Result<std::unique_ptr<StateDir>> dir = OpenState("report", state_dir, StateAccess::kRead, ctx);
  if (!dir.ok()) {
    const bool none = dir.status().code() == Status::Code::kNotFound;
    return ctx.err << "sogni-flow report: " << (none ? "no run is stored: " : "") << dir.status().message() << "\n",
           none ? kExitInvalid : ExitCodeFor(dir.status());
  }
  RunStore& store = (*dir)->store();
  std::vector<RunRecord> runs;
  if (batch_name.empty()) {
    Result<RunRecord> run = store.GetRun(what);
    if (!run.ok() && run.status().code() == Status::Code::kNotFound)
      return ctx.err << "sogni-flow report: no run " << what << " in the state directory (see sogni-flow status)\n", kExitInvalid;
    if (!run.ok()) return ctx.err << "sogni-flow report: " << run.status().message() << "\n", ExitCodeFor(run.status());
    runs.push_back(std::move(*run));
  } else {
    Result<std::vector<std::pair<std::string, RunRecord>>> newest = NewestBatchRuns(store, batch_name);
    if (!newest.ok()) return ctx.err << "sogni-flow report: " << newest.status().message() << "\n", ExitCodeFor(newest.status());
    if (newest->empty())
      return ctx.err << "sogni-flow report: no run id and no batch named '" << TerminalText(batch_name)
                     << "' in the state directory (a run id looks like r-20251123-154800-a1b2)\n", kExitInvalid;
    for (auto& [entry, run] : *newest) runs.push_back(std::move(run));
  }

  if (out.empty()) {
    out = batch_name.empty() ? (runs[0].out_dir.empty() ? Configured(ctx, SettingKey::kOutDir).value + "/" + runs[0].id : runs[0].out_dir) +
                                   "/report.html"
                             : Configured(ctx, SettingKey::kOutDir).value + "/" + batch_name + ".report.html";
  }
  std::error_code ec;
  const std::filesystem::path page_path = std::filesystem::absolute(out, ec);
  std::filesystem::path page_dir = page_path.parent_path();
  if (!ec) std::filesystem::create_directories(page_dir, ec);
  if (ec) return ctx.err << "sogni-flow report: cannot make the folder of " << out << ": " << ec.message() << "\n", kExitLocalState;
  page_dir = std::filesystem::weakly_canonical(page_dir, ec);
  Gathered g;
  std::vector<ReportRun> gathered;
  for (const RunRecord& run : runs) {
    Result<ReportRun> r = GatherRun(store, run, page_dir.string(), !no_inline, &g);
    if (!r.ok()) return ctx.err << "sogni-flow report: " << r.status().message() << "\n", ExitCodeFor(r.status());
    gathered.push_back(std::move(*r));
  }
  const ReportPage page{.title = batch_name.empty() ? "run " + runs[0].id : "batch " + batch_name,
                        .generated_by = "sogni-flow " SFLOW_VERSION,
                        .generated_ms = static_cast<int64_t>(std::time(nullptr)) * 1000,
                        .state_dir = StateDirPath(state_dir, ctx)};
  std::string html = batch_name.empty() ? RenderRunReport(page, gathered[0]) : RenderBatchReport(page, batch_name, gathered);
  html.insert(html.find('\n') + 1, std::string(kMarker) + "\n");
  if (Status w = WritePage(page_path.string(), html, force); !w.ok())
    return ctx.err << "sogni-flow report: " << w.message() << "\n", ExitCodeFor(w);
  if (json) {
    Value o = Value::Object();
    o.Set("report", Value::String(out));
    o.Set("runs", Value::Int(static_cast<int64_t>(runs.size())));
    o.Set("artifacts", Value::Int(g.artifacts));
    o.Set("inlined", Value::Int(g.inlined));
    o.Set("missing", Value::Int(g.missing));
    ctx.out << o.ToJson() << "\n";
  } else {
    ctx.out << out << "\n";
    ctx.err << "report of " << (batch_name.empty() ? "run " + runs[0].id : std::to_string(runs.size()) + " runs of batch " + TerminalText(batch_name))
            << ": " << g.artifacts << " artifacts (" << g.inlined << " images inside the page"
            << (g.missing ? ", " + std::to_string(g.missing) + " not found or changed since their download" : "") << ")\n";
  }
  return kExitOk;
}

}  // namespace sflow
