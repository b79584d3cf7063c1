// Fuzz target: batch files (plans/batch_loader.h) and CSV rows. The input is read both as a batch
// file, in a folder that holds a plan (p.yaml) and rows files (rows.csv, rows.yaml) for it to name,
// and as CSV. Checked: nothing crashes or hangs; every problem has a message; a loaded batch makes
// at most kMaxBatchRuns runs, each with a non-empty name of at most 4,096 bytes, unique in the
// batch, free of control bytes, and with the params its name says vary.
#include <unistd.h>

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <fstream>
#include <set>
#include <string>
#include <string_view>

#include "plans/batch_loader.h"
#include "tests/fuzz/fuzz_util.h"

namespace {

using sflow::fuzz::Check;

// A folder made once per process, with the files a batch may name; removed when it exits.
void RemoveFolder();

// Never destroyed: RemoveFolder runs at exit, after static objects built before it was registered.
const std::string& Folder() {
  static const std::string& dir = *new std::string([] {
    char tmpl[] = "/tmp/sflow-batch-fuzz-XXXXXX";
    if (!::mkdtemp(tmpl)) std::abort();
    std::string d = tmpl;
    std::ofstream(d + "/p.yaml") << "version: 1\nname: p\nsteps: [{id: a, toolName: generate_image, arguments: {prompt: x}}]\n";
    std::ofstream(d + "/rows.csv") << "a,b\n1,\"x,y\"\n2,z\n";
    std::ofstream(d + "/rows.yaml") << "- {a: 1}\n- {a: two, c: true}\n";
    std::atexit(RemoveFolder);
    return d;
  }());
  return dir;
}

void RemoveFolder() {
  for (const char* f : {"/p.yaml", "/rows.csv", "/rows.yaml"}) ::unlink((Folder() + f).c_str());
  ::rmdir(Folder().c_str());
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);
  sflow::DiagnosticList diags;
  sflow::Result<sflow::Batch> batch = sflow::LoadBatchFromText(Folder() + "/b.yaml", text, &diags);
  if (batch.ok()) {
    Check(batch->run_count() <= sflow::kMaxBatchRuns, "a batch makes more runs than the cap");
    std::set<std::string> names;
    for (const sflow::BatchEntry& e : batch->entries) {
      for (const sflow::BatchRun& r : e.runs) {
        Check(!r.name.empty() && r.name.size() <= 4096, "a run name is empty or too long");
        Check(names.insert(r.name).second, "two runs share a name");
        for (char c : r.name) Check(static_cast<unsigned char>(c) >= 0x20 && c != 0x7f, "a control byte in a run name");
        Check(r.name.find('[') == std::string::npos || r.name.back() == ']', "a run name opens [ and does not close it");
      }
    }
  }
  for (const sflow::Diagnostic& d : diags.Sorted()) Check(!d.message.empty(), "a diagnostic without a message");
  sflow::DiagnosticList csv_diags;
  auto rows = sflow::ParseCsv(text, &csv_diags);
  if (rows.ok()) {
    Check(!rows->empty(), "a parsed CSV without a header");
    for (const auto& row : *rows) Check(row.size() == (*rows)[0].size(), "a CSV row of another width than the header");
  }
  for (const sflow::Diagnostic& d : csv_diags.Sorted()) Check(!d.message.empty(), "a CSV diagnostic without a message");
  return 0;
}
