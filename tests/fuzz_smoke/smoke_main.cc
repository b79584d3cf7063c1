// A deterministic stand-in for libFuzzer: feeds the fuzz target every seed file and then N
// mutations of them (byte flips, YAML-significant insertions, truncations, line duplications,
// splices). Same inputs on every run, so a failure reproduces; the input that crashed is the one
// printed last.
#include <algorithm>
#include <cstdint>
#include <cstdlib>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <random>
#include <sstream>
#include <string>
#include <vector>

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size);

namespace {

void Run(const std::string& s) { LLVMFuzzerTestOneInput(reinterpret_cast<const uint8_t*>(s.data()), s.size()); }

std::string Mutate(const std::vector<std::string>& seeds, std::mt19937_64& rng) {
  static const char* kTokens[] = {"&a ", "*a", "${params.", "${", "}", "[", "]", "{", "}", ":", "- ", "\n  ",
                                  "\t", "'", "\"", "---\n", "!!str ", "? ", "$input_media", "dependsOn:",
                                  "\xff", "\xc3", "9999999999999999999999", "-1", "1e999", ".nan", "~", "#"};
  std::string s = seeds[rng() % seeds.size()];
  int edits = 1 + static_cast<int>(rng() % 6);
  for (int e = 0; e < edits; ++e) {
    size_t pos = s.empty() ? 0 : rng() % (s.size() + 1);
    switch (rng() % 6) {
      case 0: if (!s.empty() && pos < s.size()) s[pos] = static_cast<char>(rng() & 0xff); break;
      case 1: s.insert(pos, kTokens[rng() % (sizeof kTokens / sizeof *kTokens)]); break;
      case 2: s.resize(pos); break;
      case 3: {  // duplicate a line
        size_t start = s.rfind('\n', pos == 0 ? 0 : pos - 1);
        start = start == std::string::npos ? 0 : start + 1;
        size_t end = s.find('\n', pos);
        std::string line = s.substr(start, end == std::string::npos ? std::string::npos : end - start + 1);
        s.insert(start, line);
        break;
      }
      case 4: if (pos < s.size()) s.erase(pos, rng() % 16); break;
      case 5: {  // splice in part of another seed
        const std::string& o = seeds[rng() % seeds.size()];
        if (!o.empty()) {
          size_t from = rng() % o.size();
          s.insert(pos, o.substr(from, rng() % 200));
        }
        break;
      }
    }
  }
  return s;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 3) {
    std::fprintf(stderr, "usage: plan_fuzz_smoke ITERATIONS SEED_DIR...\n");
    return 2;
  }
  long iterations = std::atol(argv[1]);
  std::vector<std::string> seeds;
  for (int i = 2; i < argc; ++i)
    for (const auto& e : std::filesystem::directory_iterator(argv[i]))
      if (e.path().extension() == ".yaml") {
        std::ifstream in(e.path(), std::ios::binary);
        std::stringstream ss;
        ss << in.rdbuf();
        seeds.push_back(ss.str());
      }
  if (seeds.empty()) seeds.push_back("version: 1\n");
  std::sort(seeds.begin(), seeds.end());
  for (const std::string& s : seeds) Run(s);
  std::mt19937_64 rng(20261123);
  for (long i = 0; i < iterations; ++i) Run(Mutate(seeds, rng));
  std::printf("plan_fuzz_smoke: %zu seeds and %ld mutations, no crash\n", seeds.size(), iterations);
  return 0;
}
