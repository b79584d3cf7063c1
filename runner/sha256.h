// SHA-256 for run digests, account fingerprints and downloaded files (Poco::SHA2Engine inside).
#ifndef SFLOW_RUNNER_SHA256_H_
#define SFLOW_RUNNER_SHA256_H_

#include <string>
#include <string_view>

namespace sflow {

// 64 lowercase hex digits.
std::string Sha256Hex(std::string_view bytes);

// The account fingerprint stored with a run: the first 16 hex digits of sha256(key). The key
// itself is never stored.
inline std::string AccountFingerprint(std::string_view api_key) { return Sha256Hex(api_key).substr(0, 16); }

}  // namespace sflow

#endif  // SFLOW_RUNNER_SHA256_H_
