#include "engine/spell.h"

#include <algorithm>
#include <cctype>
#include <cstdlib>

namespace sflow {

namespace {

std::string Lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

int Levenshtein(std::string_view a, std::string_view b) {
  std::vector<int> row(b.size() + 1);
  for (size_t j = 0; j <= b.size(); ++j) row[j] = static_cast<int>(j);
  for (size_t i = 1; i <= a.size(); ++i) {
    int diag = row[0];
    row[0] = static_cast<int>(i);
    for (size_t j = 1; j <= b.size(); ++j) {
      int up = row[j];
      row[j] = std::min({row[j] + 1, row[j - 1] + 1, diag + (a[i - 1] == b[j - 1] ? 0 : 1)});
      diag = up;
    }
  }
  return row[b.size()];
}

}  // namespace

int EditDistance(std::string_view a, std::string_view b) {
  if (a == b) return 0;
  std::string la = Lower(a), lb = Lower(b);
  if (la == lb) return 1;
  return Levenshtein(la, lb);
}

std::string SpellCheck(std::string_view word, const std::vector<std::string>& candidates) {
  const int limit = std::min(3, 1 + static_cast<int>(word.size()) / 4);
  int best = limit + 1;
  std::string found;
  for (const std::string& c : candidates) {
    // Skip the far-off cheaply: the length difference bounds the distance from below.
    int len_gap = static_cast<int>(c.size()) - static_cast<int>(word.size());
    if (std::abs(len_gap) >= best) continue;
    int d = EditDistance(word, c);
    if (d < best) {
      best = d;
      found = c;
    }
  }
  return found;
}

std::string DidYouMean(std::string_view word, const std::vector<std::string>& candidates) {
  std::string s = SpellCheck(word, candidates);
  return s.empty() ? "" : "did you mean '" + s + "'?";
}

}  // namespace sflow
