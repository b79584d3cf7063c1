// FileProbe: the little that validation needs to know about local files, behind an interface
// (as ninja's DiskInterface), so that the checks in engine/ are pure and tested with a fake.
// SystemFileProbe() is the real one, and engine/file_probe.cc the only file of engine/ that
// touches the file system.
#ifndef SFLOW_ENGINE_FILE_PROBE_H_
#define SFLOW_ENGINE_FILE_PROBE_H_

#include <cstdint>
#include <string>

namespace sflow {

struct FileFacts {
  enum class Type { kMissing, kRegular, kDirectory, kOther };
  Type type = Type::kMissing;
  uint64_t size = 0;   // for kRegular
  std::string head;    // the first bytes, up to what was asked (kRegular, within the size limit)
  std::string error;   // set when it exists but cannot be opened or read (strerror text)
};

class FileProbe {
 public:
  virtual ~FileProbe() = default;
  // The canonical absolute path, every link followed; "" when it does not resolve.
  virtual std::string RealPath(const std::string& path) const = 0;
  // What `path` is. Opening never blocks (a FIFO is kOther); the head is read only from a regular
  // file of at most max_size bytes.
  virtual FileFacts Probe(const std::string& path, uint64_t max_size, size_t head_bytes) const = 0;
};

// realpath(3), then open(2) with O_NONBLOCK, fstat(2) on the open descriptor, read(2).
const FileProbe& SystemFileProbe();

}  // namespace sflow

#endif  // SFLOW_ENGINE_FILE_PROBE_H_
