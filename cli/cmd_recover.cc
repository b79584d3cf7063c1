// sogni-flow recover [WORKFLOW...|--all] : gets back runs that exist on the server but not in
// the state directory (a damaged or truncated log rolled them back, the directory was lost).
//
// It lists the account's workflows (GET /v1/creative-agent/workflows, newest first) and keeps
// those no stored run is bound to. The workflow record carries neither the app that started a
// workflow nor its Idempotency-Key, so sogni-flow's workflows cannot be told from others: every
// unknown workflow is listed, and only those named (or all, with --all) are re-created as runs.
// A re-created run has the workflow id, its steps, this key's fingerprint and no events yet; its
// status is queued or running (never final: its events have not been followed), so `resume`
// follows it from the start, stores its end and downloads its artifacts.
#include <ctime>
#include <random>
#include <set>
#include <string>
#include <vector>

#include "cli/backend.h"
#include "cli/command_line.h"
#include "cli/context.h"
#include "cli/exit_codes.h"
#include "cli/settings.h"
#include "cli/state_access.h"
#include "engine/run_id.h"
#include "runner/sha256.h"

namespace sflow {

namespace {

constexpr int kMaxListed = 2000;  // workflows read from the server at most (newest first)

// A new run for the remote workflow `w`, bound to it, not final.
RunRecord RunFor(const Value& w, const std::string& id, const std::string& account, const std::string& api_url,
                 const std::string& out_root) {
  RunRecord run;
  run.id = id;
  run.plan_name = w.StringAt("title").empty() ? "recovered" : w.StringAt("title");
  run.params = Value::Object();
  run.params.Set("recovered_from_workflow", Value::String(w.StringAt("workflowId")));
  run.execution = Execution::kServer;
  run.status = w.StringAt("status") == "queued" ? RunStatus::kQueued : RunStatus::kRunning;
  run.workflow_id = w.StringAt("workflowId");
  run.account = account;
  run.out_dir = out_root + "/" + id;
  run.api_url = api_url;
  if (const Value* steps = w.Find("steps"); steps && steps->is_array()) {
    for (const Value& s : steps->items()) {
      if (!s.StringAt("id").empty()) run.steps.push_back(StepRecord{.step_id = s.StringAt("id"), .tool = s.StringAt("toolName")});
    }
  }
  return run;
}

}  // namespace

int RunRecover(const std::vector<std::string>& args, Context& ctx) {
  bool all = false, json = false;
  BackendOptions backend_options;
  std::string state_dir;
  CommandLine cl("recover [WORKFLOW...|--all] [--state-dir DIR] [--api-url URL] [--api-key-file FILE] [--json]",
                 "Gets back runs that exist on the server but not in the state directory (after a damaged or\n"
                 "truncated database log, or a lost directory). Without arguments it lists the account's\n"
                 "workflows that no stored run knows, newest first; with workflow ids (or --all) it stores a\n"
                 "new run for each, bound to its workflow, which 'sogni-flow resume RUN' then follows from its\n"
                 "first event and downloads. The API does not say which app started a workflow, so every\n"
                 "unknown workflow of the account is listed: pick yours.");
  cl.Flag("all", "", "re-create a run for every workflow listed", &all);
  cl.Flag("json", "", "one JSON object per workflow on stdout", &json);
  cl.Value("state-dir", "", "DIR", "the state directory (default: the state_dir setting, see config; ./.sogni-flow)", &state_dir);
  cl.Value("api-url", "", "URL", "the API (default: the api_url setting, see config; https://api.sogni.ai)", &backend_options.api_url);
  cl.Value("api-key-file", "", "FILE", "read the API key from FILE (mode 0600)", &backend_options.api_key_file);
  cl.Epilog("exit codes: 0 listed or recovered, 2 usage or a workflow that is not listed, 3 auth,\n"
            "4 unavailable, 6 local state, 7 security (TLS, a refused URL or state directory)\n\n"
            "examples:\n"
            "  sogni-flow recover\n"
            "  sogni-flow recover --all && sogni-flow resume --all   # every lost run back, then followed\n");
  std::vector<std::string> wanted;
  Status s = cl.Parse(args, &wanted);
  if (cl.help_requested()) return ctx.out << cl.Help(), kExitOk;
  if (!s.ok()) return ctx.err << "sogni-flow recover: " << s.message() << "\n", kExitInvalid;
  if (all && !wanted.empty()) return ctx.err << "sogni-flow recover: give workflow ids or --all, not both\n", kExitInvalid;
  auto fail = [&](const Status& st) { return ctx.err << "sogni-flow recover: " << st.message() << "\n", ExitCodeFor(st); };

  Result<std::unique_ptr<StateDir>> dir = OpenState("recover", state_dir, StateAccess::kWrite, ctx);
  if (!dir.ok()) return fail(dir.status());
  Result<std::unique_ptr<Backend>> backend = OpenBackend(backend_options, ctx, &ctx.err);
  if (!backend.ok()) return fail(backend.status());
  ApiClient& client = *(*backend)->client;
  const std::string api_url = (*backend)->api_url;  // the endpoint the recovered runs belong to

  Result<std::vector<RunRecord>> stored = (*dir)->store().ListRuns({});
  if (!stored.ok()) return fail(stored.status());
  std::set<std::string> known;
  for (const RunRecord& r : *stored) known.insert(r.workflow_id);
  std::vector<Value> unknown;
  std::set<std::string> seen;  // a workflow started while paging shifts the pages: once each
  std::optional<int64_t> offset = 0;
  for (int listed = 0; offset && listed < kMaxListed;) {
    Result<WorkflowPage> page = client.ListWorkflows(200, *offset);
    if (!page.ok()) return ctx.err << "sogni-flow recover: " << client.Redact(page.status().message()) << "\n", ExitCodeFor(page.status());
    for (const Value& w : page->workflows) {
      ++listed;
      const std::string wid = w.StringAt("workflowId");
      if (!wid.empty() && !known.count(wid) && seen.insert(wid).second) unknown.push_back(w);
    }
    offset = page->workflows.empty() ? std::nullopt : page->next;
  }
  std::set<std::string> take(wanted.begin(), wanted.end());
  for (const std::string& id : wanted) {
    bool listed = false;
    for (const Value& w : unknown) listed = listed || w.StringAt("workflowId") == id;
    if (!listed) {
      return ctx.err << "sogni-flow recover: workflow " << id << " is not among the account's workflows that no "
                     << "stored run knows (" << (known.count(id) ? "a stored run is bound to it" : "the server did not list it")
                     << ")\n", kExitInvalid;
    }
  }
  const std::string account = AccountFingerprint((*backend)->api_key);
  int recovered = 0;
  for (const Value& w : unknown) {
    const std::string wid = w.StringAt("workflowId");
    Value line = Value::Object();
    line.Set("workflowId", Value::String(wid));
    line.Set("status", Value::String(w.StringAt("status")));
    line.Set("title", Value::String(w.StringAt("title")));
    line.Set("createdAt", Value::String(w.StringAt("createdAt")));
    if (all || take.count(wid)) {
      Result<StateDir::NewRun> lease = (*dir)->LeaseNewRun();  // held while it is stored
      if (!lease.ok()) return fail(lease.status());
      const std::string run_id = lease->run_id;
      if (Status c = (*dir)->store().CreateRun(RunFor(w, run_id, account, api_url, Configured(ctx, SettingKey::kOutDir).value)); !c.ok()) return fail(c);
      line.Set("run", Value::String(run_id));
      ++recovered;
      if (!json)
        ctx.err << "recovered workflow " << wid << " (" << w.StringAt("status") << ") as run " << run_id
                << "; follow it with: sogni-flow resume " << run_id << "\n";
    } else if (!json) {
      ctx.out << wid << "  " << w.StringAt("status") << "  " << w.StringAt("createdAt") << "  " << w.StringAt("title") << "\n";
    }
    if (json) ctx.out << line.ToJson() << "\n";
  }
  if (unknown.empty()) ctx.err << "sogni-flow recover: every workflow the server lists is known to a stored run\n";
  else if (recovered == 0 && !json)
    ctx.err << unknown.size() << " workflows no stored run knows; 'sogni-flow recover WORKFLOW...' (or --all) stores "
            << "runs for them\n";
  return kExitOk;
}

}  // namespace sflow
