// Fuzz target: approval files (cli/approval.h ReadApprovalFile, ApprovalJson).
// The input is written to a file of this process and read as PLAN.approval.json. Checked: a
// refused file is kInvalidPlan with a message naming the file; an accepted one, written again
// with ApprovalJson, is valid UTF-8 JSON that reads back to the same approval (a fixed point).
#include <unistd.h>

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <fstream>
#include <string>

#include "cli/approval.h"
#include "engine/json.h"
#include "tests/fuzz/fuzz_util.h"

namespace {

using sflow::fuzz::Check;

const std::string& ScratchPath() {
  static const std::string path = [] {
    const char* tmp = std::getenv("TMPDIR");
    std::string dir = access("/dev/shm", W_OK) == 0 ? "/dev/shm" : (tmp && *tmp ? tmp : "/tmp");
    return dir + "/sflow-approval-fuzz-" + std::to_string(getpid()) + ".json";
  }();
  return path;
}

void Write(const std::string& path, const char* data, size_t size) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out.write(data, static_cast<std::streamsize>(size));
  Check(static_cast<bool>(out), "cannot write the scratch file");
}

bool Same(const sflow::ApprovalFile& a, const sflow::ApprovalFile& b) {
  return a.plan_path == b.plan_path && a.digest == b.digest && a.approved_by == b.approved_by &&
         a.version == b.version && a.estimate_units == b.estimate_units && a.max_units == b.max_units &&
         a.approved_at == b.approved_at && a.expires_at == b.expires_at &&
         a.params.ToJson() == b.params.ToJson();  // 5.0 is written 5 and read back an integer
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string& path = ScratchPath();
  Write(path, reinterpret_cast<const char*>(data), size);
  sflow::Result<sflow::ApprovalFile> a = sflow::ReadApprovalFile(path);
  ::unlink(path.c_str());
  if (!a.ok()) {
    Check(a.status().code() == sflow::Status::Code::kInvalidPlan, "a bad approval file is not kInvalidPlan");
    Check(a.status().message().find(path) != std::string::npos, "the refusal does not name the file");
    return 0;
  }
  const std::string json = sflow::ApprovalJson(*a);
  Check(sflow::fuzz::ValidUtf8(json) && sflow::ParseJson(json).ok(), "ApprovalJson is not valid UTF-8 JSON");
  Write(path, json.data(), json.size());
  sflow::Result<sflow::ApprovalFile> b = sflow::ReadApprovalFile(path);
  ::unlink(path.c_str());
  Check(b.ok(), "an approval written by ApprovalJson does not read back");
  Check(Same(*a, *b), "an approval does not survive ApprovalJson");
  const std::string json2 = sflow::ApprovalJson(*b);
  Check(json2 == json, "ApprovalJson of what it wrote differs (not a fixed point)");
  return 0;
}
