// Fuzz target: approval files (runner/approval.h ReadApprovalFile, ApprovalJson).
// The input is written to a file of this process and read as PLAN.approval.json. Checked: a
// refused file is kInvalidPlan with a message naming the file; an accepted one, written again
// with ApprovalJson, is valid UTF-8 JSON that reads back to the same approval (a fixed point).
// The reader only takes a path, so each input goes through one scratch file, on tmpfs where
// there is one, opened once and rewritten in place (removed at exit).
#include <fcntl.h>
#include <unistd.h>

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>

#include "engine/json.h"
#include "runner/approval.h"
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

void RemoveScratch() { ::unlink(ScratchPath().c_str()); }

// The scratch file's descriptor, opened once; the reader opens the path on its own.
int ScratchFd() {
  static const int fd = [] {
    const int f = ::open(ScratchPath().c_str(), O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    Check(f >= 0, "cannot create the scratch file");
    std::atexit(RemoveScratch);
    return f;
  }();
  return fd;
}

// Makes the scratch file hold exactly these bytes.
void Write(const char* data, size_t size) {
  const int fd = ScratchFd();
  Check(::ftruncate(fd, 0) == 0, "cannot truncate the scratch file");
  size_t done = 0;
  while (done < size) {
    const ssize_t n = ::pwrite(fd, data + done, size - done, static_cast<off_t>(done));
    Check(n > 0, "cannot write the scratch file");
    done += static_cast<size_t>(n);
  }
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
  Write(reinterpret_cast<const char*>(data), size);
  sflow::Result<sflow::ApprovalFile> a = sflow::ReadApprovalFile(path);
  if (!a.ok()) {
    Check(a.status().code() == sflow::Status::Code::kInvalidPlan, "a bad approval file is not kInvalidPlan");
    Check(a.status().message().find(path) != std::string::npos, "the refusal does not name the file");
    return 0;
  }
  const std::string json = sflow::ApprovalJson(*a);
  Check(sflow::fuzz::ValidUtf8(json) && sflow::ParseJson(json).ok(), "ApprovalJson is not valid UTF-8 JSON");
  Write(json.data(), json.size());
  sflow::Result<sflow::ApprovalFile> b = sflow::ReadApprovalFile(path);
  Check(b.ok(), "an approval written by ApprovalJson does not read back");
  Check(Same(*a, *b), "an approval does not survive ApprovalJson");
  const std::string json2 = sflow::ApprovalJson(*b);
  Check(json2 == json, "ApprovalJson of what it wrote differs (not a fixed point)");
  return 0;
}
