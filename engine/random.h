// Random numbers for ids (run ids, project ids, Idempotency-Keys, multipart boundaries) and
// jitter seeds: the kernel's CSPRNG through getrandom(2), which costs one system call and needs
// no per-thread state. std::random_device is not used on hot paths: its construction probes the
// CPU (cpuid, a trap under virtualisation) each time, and each thread of `run -j` made several.
#ifndef SFLOW_ENGINE_RANDOM_H_
#define SFLOW_ENGINE_RANDOM_H_

#include <cstdint>

namespace sflow {

// 64 random bits. Never fails: should getrandom be unavailable, std::random_device is used.
uint64_t RandomU64();

}  // namespace sflow

#endif  // SFLOW_ENGINE_RANDOM_H_
