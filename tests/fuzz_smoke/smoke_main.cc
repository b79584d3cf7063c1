// A deterministic stand-in for libFuzzer: feeds the fuzz target every seed file (every regular
// file of each SEED_DIR, or only its *.yaml files for a directory given as DIR/*.yaml) and then
// N mutations of them (byte flips, insertions of YAML, JSON, SSE and URL tokens, truncations,
// line duplications, splices). Same inputs on every run, so a failure reproduces: a committed
// corpus entry that once crashed a target stays a test in every build, clang or not.
#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <csignal>
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

const std::string* g_current = nullptr;  // the input being run, for the crash report

// On a crash or a broken invariant (abort), the input goes to stderr (escaped) and to the file
// smoke-crash-input in the working directory, ready to be added to the corpus.
extern "C" void DumpCurrentInput(int sig) {
  if (g_current) {
    static const char kHex[] = "0123456789abcdef";
    const char head[] = "\nthe input that failed (escaped):\n";
    (void)!write(2, head, sizeof head - 1);
    for (unsigned char c : *g_current) {
      char buf[4] = {static_cast<char>(c), 0, 0, 0};
      size_t n = 1;
      if (c < 0x20 || c >= 0x7f || c == '\\') buf[0] = '\\', buf[1] = 'x', buf[2] = kHex[c >> 4], buf[3] = kHex[c & 15], n = 4;
      (void)!write(2, buf, n);
    }
    (void)!write(2, "\n", 1);
    int fd = open("smoke-crash-input", O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (fd >= 0) {
      (void)!write(fd, g_current->data(), g_current->size());
      close(fd);
    }
  }
  signal(sig, SIG_DFL);
  raise(sig);
}

void Run(const std::string& s) {
  g_current = &s;
  LLVMFuzzerTestOneInput(reinterpret_cast<const uint8_t*>(s.data()), s.size());
  g_current = nullptr;
}

std::string Mutate(const std::vector<std::string>& seeds, std::mt19937_64& rng) {
  static const char* kTokens[] = {"&a ", "*a", "${params.", "${", "}", "[", "]", "{", "}", ":", "- ", "\n  ",
                                  "\t", "'", "\"", "---\n", "!!str ", "? ", "$input_media", "dependsOn:",
                                  "\xff", "\xc3", "9999999999999999999999", "-1", "1e999", ".nan", "~", "#",
                                  "\r", "\r\n", "\n\n", "data: ", "id: ", "event: ", "retry: ", ": keepalive\n",
                                  "\xef\xbb\xbf", "{\"sequence\":", "\"workflowId\":\"wf\"", "\\u00", "\\ud800",
                                  "https://", "%2e", "@", "[::1]", "0x7f.1", "?X-Amz-Signature=", "\"status\":"};
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
    std::fprintf(stderr, "usage: %s ITERATIONS SEED_DIR[/*.yaml]...\n", argv[0]);
    return 2;
  }
  long iterations = std::atol(argv[1]);
  std::vector<std::string> seeds;
  for (int i = 2; i < argc; ++i) {
    std::string dir = argv[i];
    const bool yaml_only = dir.size() > 7 && dir.compare(dir.size() - 7, 7, "/*.yaml") == 0;
    if (yaml_only) dir.resize(dir.size() - 7);
    if (!std::filesystem::is_directory(dir)) continue;
    for (const auto& e : std::filesystem::directory_iterator(dir)) {
      if (!e.is_regular_file() || e.path().filename().string()[0] == '.') continue;
      if (yaml_only && e.path().extension() != ".yaml") continue;
      std::ifstream in(e.path(), std::ios::binary);
      std::stringstream ss;
      ss << in.rdbuf();
      seeds.push_back(ss.str());
    }
  }
  for (int sig : {SIGABRT, SIGSEGV, SIGBUS, SIGFPE, SIGILL}) signal(sig, DumpCurrentInput);
  if (seeds.empty()) seeds.push_back("version: 1\n");
  std::sort(seeds.begin(), seeds.end());
  for (const std::string& s : seeds) Run(s);
  std::mt19937_64 rng(20261123);
  for (long i = 0; i < iterations; ++i) Run(Mutate(seeds, rng));
  std::printf("%s: %zu seeds and %ld mutations, no crash\n", argv[0], seeds.size(), iterations);
  return 0;
}
