// "Did you mean ...?" suggestions, as ninja's State::SpellcheckNode makes them.
#ifndef SFLOW_ENGINE_SPELL_H_
#define SFLOW_ENGINE_SPELL_H_

#include <string>
#include <string_view>
#include <vector>

namespace sflow {

// Levenshtein distance (insert, delete, substitute), case-sensitive; a case-only difference
// counts as one edit in total.
int EditDistance(std::string_view a, std::string_view b);

// The candidate closest to word, if it is close enough to be a plausible typo (distance at most
// 1 + len/4, capped at 3); "" otherwise. Ties go to the earlier candidate.
std::string SpellCheck(std::string_view word, const std::vector<std::string>& candidates);

// "did you mean 'x'?" or "" when SpellCheck finds nothing.
std::string DidYouMean(std::string_view word, const std::vector<std::string>& candidates);

}  // namespace sflow

#endif  // SFLOW_ENGINE_SPELL_H_
