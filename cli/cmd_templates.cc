// sogni-flow templates list|show|push|pull|fork|delete : saved workflow templates on the API.
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <string>
#include <vector>

#include "cli/backend.h"
#include "cli/command_line.h"
#include "cli/context.h"
#include "cli/exit_codes.h"
#include "cli/plan_check.h"
#include "engine/wire.h"

namespace sflow {

namespace {

std::string FieldText(const Value& v, const char* key) {
  const Value* f = v.is_object() ? v.Find(key) : nullptr;
  if (!f) return "";
  if (f->is_string()) return f->as_string();
  if (f->is_null()) return "";
  return f->ToJson();
}

std::string Pad(std::string s, size_t n) {
  if (s.size() < n) s.resize(n, ' ');
  return s;
}

// Writes `text` to `path` through a temporary file, fsync and a link (or, with `force`, a
// rename): a reader never sees half a file, and without `force` an existing file is never
// replaced (kConflict, which this command reports as a usage error: docs/diagnostics.md).
Status WriteFile(const std::string& path, const std::string& text, bool force) {
  std::string tmp = path + ".tmp." + std::to_string(::getpid());
  int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
  if (fd < 0) return Status::Error(Status::Code::kIOError, path + ": " + std::strerror(errno));
  size_t off = 0;
  while (off < text.size()) {
    ssize_t n = ::write(fd, text.data() + off, text.size() - off);
    if (n < 0) {
      if (errno == EINTR) continue;
      int e = errno;
      ::close(fd);
      ::unlink(tmp.c_str());
      return Status::Error(Status::Code::kIOError, path + ": " + std::strerror(e));
    }
    off += static_cast<size_t>(n);
  }
  if (::fsync(fd) != 0 || ::close(fd) != 0) {
    int e = errno;
    ::unlink(tmp.c_str());
    return Status::Error(Status::Code::kIOError, path + ": " + std::strerror(e));
  }
  int rc = force ? ::rename(tmp.c_str(), path.c_str()) : ::link(tmp.c_str(), path.c_str());
  int e = errno;
  if (!force || rc != 0) ::unlink(tmp.c_str());
  if (rc != 0 && e == EEXIST)
    return Status::Error(Status::Code::kConflict, path + " exists; not overwriting it (--force replaces it)");
  if (rc != 0) return Status::Error(Status::Code::kIOError, path + ": " + std::strerror(e));
  return Status::OK();
}

// The exit code of a failure: "it already exists" (a file, or a template on the server) is a
// usage error, 2, for every command (docs/diagnostics.md section 4); others as the table says.
int ExitFor(const Status& s) { return s.code() == Status::Code::kConflict ? kExitInvalid : ExitCodeFor(s); }

}  // namespace

int RunTemplates(const std::vector<std::string>& args, Context& ctx) {
  bool json = false, force = false;
  BackendOptions backend_options;
  std::string out_file, new_name, visibility;
  CommandLine cl("templates list [--visibility V] [--json] | show ID | push PLAN [--force] [--json]\n"
                 "    | pull ID [--out FILE [--force]] | fork ID [--name NAME] [--json] | delete ID\n"
                 "    [--sandbox] [--api-url URL] [--api-key-file FILE]",
                 "Saved workflow templates on the API (/v1/creative-agent/workflows/templates):\n"
                 "  list         your templates and the public ones: id, name, version, visibility\n"
                 "  show ID      one template record (JSON)\n"
                 "  push PLAN    validate a 'kind: template' plan and create it on the server; one of\n"
                 "               that id already there is refused (exit 2) unless --force updates it\n"
                 "  pull ID      write the template record as JSON to stdout or --out FILE (an existing\n"
                 "               file is refused, exit 2, unless --force replaces it)\n"
                 "  fork ID      copy a template (yours or a public one) into your account; --name names it\n"
                 "  delete ID    delete one of your templates\n"
                 "Private templates are visible only to their owner. Template writes are sent once (no\n"
                 "blind retries). The API key comes from SOGNI_API_KEY or --api-key-file.");
  cl.Flag("json", "", "list: one JSON object per template; push/fork: the created record", &json);
  cl.Value("out", "o", "FILE", "pull: write to FILE (which must not exist, unless --force)", &out_file);
  cl.Flag("force", "", "pull: replace an existing --out FILE; push: update a template of the same id", &force);
  cl.Value("name", "", "NAME", "fork: the new template's name", &new_name);
  cl.Value("visibility", "", "V", "list: only public or private templates", &visibility);
  cl.Flag("sandbox", "", "use a fresh in-process simulator", &backend_options.sandbox);
  cl.Value("api-url", "", "URL", "the API (default: the api_url setting, see config; https://api.sogni.ai)", &backend_options.api_url);
  cl.Value("api-key-file", "", "FILE", "read the API key from FILE (mode 0600)", &backend_options.api_key_file);
  cl.Epilog("exit codes: 0 done, 2 usage, invalid plan, unknown template, or it already exists (the --out file,\n"
            "a template of that id) without --force, 3 auth, 4 unavailable, 6 the --out file cannot be written\n\n"
            "examples:\n"
            "  sogni-flow templates push samples/teaser-template.yaml\n"
            "  sogni-flow templates list --json\n"
            "  sogni-flow templates pull teaser-template --out teaser.json\n"
            "  sogni-flow templates push samples/teaser-template.yaml --force   # a new version\n"
            "  sogni-flow templates fork teaser-template --name my-teaser\n");
  std::vector<std::string> pos;
  Status s = cl.Parse(args, &pos);
  if (cl.help_requested()) return ctx.out << cl.Help(), kExitOk;
  if (!s.ok()) return ctx.err << "sogni-flow templates: " << s.message() << "\n", kExitInvalid;
  if (pos.empty()) return ctx.err << "sogni-flow templates: give an action (list, show, push, pull, fork, delete)\n", kExitInvalid;
  const std::string action = pos[0];
  const bool needs_arg = action != "list";
  if (action != "list" && action != "show" && action != "push" && action != "pull" && action != "fork" &&
      action != "delete")
    return ctx.err << "sogni-flow templates: unknown action '" << action << "'\n", kExitInvalid;
  if (pos.size() != (needs_arg ? 2u : 1u))
    return ctx.err << "sogni-flow templates " << action << ": " << (needs_arg ? "give exactly one argument" : "takes no argument")
                   << "\n", kExitInvalid;

  // An option that does nothing for this action is a mistake worth saying.
  const struct {
    bool given;
    const char* option;
    bool applies;
  } specific[] = {{force, "--force", action == "push" || action == "pull"},
                  {!out_file.empty(), "--out", action == "pull"},
                  {!new_name.empty(), "--name", action == "fork"},
                  {!visibility.empty(), "--visibility", action == "list"}};
  for (const auto& o : specific)
    if (o.given && !o.applies)
      return ctx.err << "sogni-flow templates " << action << ": " << o.option << " does not apply to " << action
                     << " (see --help)\n", kExitInvalid;

  Value record;
  if (action == "push") {
    CheckedPlan c = CheckPlan(pos[1], DefaultCatalog(), {}, ctx.environ, ValidateOptions());
    PrintDiagnostics(c.diags, ctx.err);
    if (!c.ok()) return ctx.err << "sogni-flow templates push: " << pos[1] << " is invalid\n", kExitInvalid;
    if (c.plan.kind != PlanKind::kTemplate)
      return ctx.err << "sogni-flow templates push: " << pos[1] << " is not a 'kind: template' plan\n", kExitInvalid;
    record = TemplateRecord(c.plan, c.analysis);
  }
  Result<std::unique_ptr<Backend>> backend = OpenBackend(backend_options, ctx);
  if (!backend.ok()) return ctx.err << "sogni-flow templates: " << backend.status().message() << "\n", ExitCodeFor(backend.status());
  ApiClient& api = *(*backend)->client;
  auto fail = [&](const Status& st) {
    ctx.err << "sogni-flow templates " << action << ": " << api.Redact(st.message()) << "\n";
    return ExitFor(st);
  };

  if (action == "list") {
    std::vector<Value> all;
    std::optional<int64_t> offset;
    for (int page = 0; page < 100; ++page) {
      Result<TemplatePage> got = api.ListTemplates(visibility, 200, offset);
      if (!got.ok()) return fail(got.status());
      for (Value& t : got->templates) all.push_back(std::move(t));
      if (!got->next || (offset && *got->next <= *offset)) break;
      offset = got->next;
    }
    if (json) {
      for (const Value& t : all) ctx.out << t.ToJson() << "\n";
      return kExitOk;
    }
    size_t wid = 2, wname = 4;
    for (const Value& t : all) wid = std::max(wid, FieldText(t, "id").size()), wname = std::max(wname, FieldText(t, "name").size());
    ctx.out << Pad("ID", wid + 2) << Pad("NAME", wname + 2) << Pad("VERSION", 10) << "VISIBILITY\n";
    for (const Value& t : all)
      ctx.out << Pad(FieldText(t, "id"), wid + 2) << Pad(FieldText(t, "name"), wname + 2) << Pad(FieldText(t, "version"), 10)
              << FieldText(t, "visibility") << "\n";
    if (all.empty()) ctx.err << "no templates\n";
    return kExitOk;
  }
  if (action == "show" || action == "pull") {
    Result<Value> got = api.GetTemplate(pos[1]);
    if (!got.ok()) return fail(got.status());
    std::string text = got->ToJson() + "\n";
    if (action == "pull" && !out_file.empty()) {
      if (Status w = WriteFile(out_file, text, force); !w.ok()) return fail(w);
      ctx.err << "template " << pos[1] << " written to " << out_file << "\n";
      return kExitOk;
    }
    ctx.out << text;
    return kExitOk;
  }
  if (action == "push") {
    Result<Value> made = api.CreateTemplate(record);
    const std::string id = FieldText(record, "id");
    if (!made.ok() && made.status().code() == Status::Code::kConflict) {
      if (!force)
        return fail(Status::Error(Status::Code::kConflict, "template '" + id +
                                  "' already exists on the server; --force updates it (a new version), "
                                  "or give the plan another name"));
      made = api.UpdateTemplate(id, record);
      if (!made.ok() && made.status().code() == Status::Code::kNotFound)
        return fail(Status::Error(Status::Code::kConflict, "template '" + id +
                                  "' exists but belongs to another account; give the plan another name"));
    }
    if (!made.ok()) return fail(made.status());
    if (json) ctx.out << made->ToJson() << "\n";
    else ctx.out << FieldText(*made, "id") << "\n";
    ctx.err << "pushed template " << FieldText(*made, "id") << " (version " << FieldText(*made, "version") << ", "
            << FieldText(*made, "visibility") << ")\n";
    return kExitOk;
  }
  if (action == "fork") {
    Result<Value> made = api.ForkTemplate(pos[1], new_name);
    if (!made.ok()) return fail(made.status());
    if (json) ctx.out << made->ToJson() << "\n";
    else ctx.out << FieldText(*made, "id") << "\n";
    ctx.err << "forked " << pos[1] << " as " << FieldText(*made, "id") << "\n";
    return kExitOk;
  }
  Result<Value> gone = api.DeleteTemplate(pos[1]);
  if (!gone.ok()) return fail(gone.status());
  ctx.err << "deleted template " << pos[1] << "\n";
  return kExitOk;
}

}  // namespace sflow
