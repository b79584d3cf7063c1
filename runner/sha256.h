// SHA-256 for run digests, account fingerprints and downloaded files (OpenSSL's EVP inside, which
// uses the CPU's SHA instructions where it has them).
#ifndef SFLOW_RUNNER_SHA256_H_
#define SFLOW_RUNNER_SHA256_H_

#include <memory>
#include <string>
#include <string_view>

namespace sflow {

// Incremental: Update() any number of times, then HexDigest() once.
class Sha256 {
 public:
  Sha256();
  ~Sha256();
  Sha256(const Sha256&) = delete;
  Sha256& operator=(const Sha256&) = delete;
  void Update(std::string_view bytes);
  std::string HexDigest();  // 64 lowercase hex digits

 private:
  struct Ctx;
  std::unique_ptr<Ctx> ctx_;
};

// 64 lowercase hex digits.
std::string Sha256Hex(std::string_view bytes);

// The account fingerprint stored with a run: the first 16 hex digits of sha256(key). The key
// itself is never stored.
inline std::string AccountFingerprint(std::string_view api_key) { return Sha256Hex(api_key).substr(0, 16); }

}  // namespace sflow

#endif  // SFLOW_RUNNER_SHA256_H_
