// .dockerignore with the rules of moby/patternmatcher: one pattern per line,
// `#` comments, patterns cleaned (`./a/` is `a`, a leading `/` dropped), `*`
// and `?` never cross `/`, `**` crosses any number of directories, `[...]`
// classes, `\` escapes, `!` re-includes; the last matching pattern wins, and
// a path is excluded when it or one of its parent directories is.
#pragma once

#include <regex>
#include <string>
#include <vector>

#include "absl/status/statusor.h"

namespace berth::imaged::build {

class PatternMatcher {
 public:
  // Patterns as ReadDockerignore returns them ("!" prefix for exceptions).
  static absl::StatusOr<PatternMatcher> Create(const std::vector<std::string>& patterns);

  // True when the context-relative path (or a parent) is excluded.
  bool MatchesOrParentMatches(const std::string& path) const;
  // True when some exception pattern may re-include something below dir, so a
  // walk must descend into an excluded directory.
  bool HasExclusions() const { return has_exclusions_; }
  bool empty() const { return patterns_.empty(); }

 private:
  enum class MatchType { kExact, kPrefix, kSuffix, kRegexp };
  struct Pattern {
    std::string cleaned;
    bool exclusion = false;
    MatchType type = MatchType::kExact;
    std::regex regex;
    bool Match(const std::string& path) const;
  };
  static absl::StatusOr<Pattern> Compile(const std::string& text, bool exclusion);

  std::vector<Pattern> patterns_;
  bool has_exclusions_ = false;
};

// The patterns of a .dockerignore file, cleaned as the docker CLI does.
std::vector<std::string> ReadDockerignore(const std::string& content);

}  // namespace berth::imaged::build
