#include "imaged/build/dockerignore.h"

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "common/status.h"
#include "imaged/build/dispatch.h"

namespace berth::imaged::build {

std::vector<std::string> ReadDockerignore(const std::string& content) {
  std::vector<std::string> patterns;
  bool first = true;
  for (absl::string_view raw : absl::StrSplit(content, '\n')) {
    if (first && absl::StartsWith(raw, "\xEF\xBB\xBF")) raw.remove_prefix(3);
    first = false;
    // Only lines that start with # are comments; " # x" is a pattern.
    if (absl::StartsWith(raw, "#")) continue;
    std::string pattern(absl::StripAsciiWhitespace(raw));
    if (pattern.empty()) continue;
    bool invert = pattern[0] == '!';
    if (invert) pattern = std::string(absl::StripAsciiWhitespace(pattern.substr(1)));
    if (!pattern.empty()) {
      pattern = CleanPath(pattern);
      if (pattern.size() > 1 && pattern[0] == '/') pattern = pattern.substr(1);
    }
    patterns.push_back(invert ? "!" + pattern : pattern);
  }
  return patterns;
}

absl::StatusOr<PatternMatcher::Pattern> PatternMatcher::Compile(const std::string& text,
                                                                bool exclusion) {
  Pattern pattern;
  pattern.cleaned = text;
  pattern.exclusion = exclusion;
  std::string regex = "^";
  MatchType type = MatchType::kExact;
  const std::string special = ".+()|{}$";
  for (size_t i = 0; i < text.size(); ++i) {
    char c = text[i];
    if (c == '*') {
      if (i + 1 < text.size() && text[i + 1] == '*') {
        size_t start = i;
        ++i;
        // "**/" is "**".
        if (i + 1 < text.size() && text[i + 1] == '/') ++i;
        if (i + 1 == text.size()) {
          // Trailing "**" takes everything, like .gitignore.
          if (type == MatchType::kExact) {
            type = MatchType::kPrefix;
          } else {
            regex += ".*";
            type = MatchType::kRegexp;
          }
        } else {
          regex += "(.*/)?";
          type = MatchType::kRegexp;
        }
        if (start == 0) type = MatchType::kSuffix;
      } else {
        regex += "[^/]*";
        type = MatchType::kRegexp;
      }
    } else if (c == '?') {
      regex += "[^/]";
      type = MatchType::kRegexp;
    } else if (special.find(c) != std::string::npos) {
      regex += "\\";
      regex.push_back(c);
    } else if (c == '\\') {
      if (i + 1 < text.size()) {
        regex += "\\";
        regex.push_back(text[++i]);
      } else {
        regex += "\\\\";
      }
    } else if (c == '[' || c == ']') {
      regex.push_back(c);
      type = MatchType::kRegexp;
    } else {
      regex.push_back(c);
    }
  }
  regex += "$";
  pattern.type = type;
  if (type == MatchType::kRegexp) {
    try {
      pattern.regex = std::regex(regex, std::regex::ECMAScript);
    } catch (const std::regex_error&) {
      return absl::InvalidArgumentError(absl::StrCat("syntax error in pattern: ", text));
    }
  } else if (type == MatchType::kSuffix || type == MatchType::kPrefix) {
    // Suffix and prefix patterns may still hold escapes: match them by regex too.
    try {
      pattern.regex =
          std::regex(type == MatchType::kPrefix ? regex.substr(0, regex.size() - 1) + ".*$" : regex,
                     std::regex::ECMAScript);
    } catch (const std::regex_error&) {
      return absl::InvalidArgumentError(absl::StrCat("syntax error in pattern: ", text));
    }
  }
  return pattern;
}

bool PatternMatcher::Pattern::Match(const std::string& path) const {
  switch (type) {
    case MatchType::kExact:
      return path == cleaned;
    case MatchType::kPrefix:
      return absl::StartsWith(path, cleaned.substr(0, cleaned.size() - 2));
    case MatchType::kSuffix: {
      // patternmatcher's shortcut for a leading "**": a plain suffix test
      // (so "**foo" also matches "xfoo"), and "**/foo" matches "foo".
      std::string suffix = cleaned.substr(2);
      if (suffix.find_first_of("*?[]\\") != std::string::npos) {
        return std::regex_match(path, regex);
      }
      if (absl::EndsWith(path, suffix)) return true;
      return !suffix.empty() && suffix[0] == '/' && path == suffix.substr(1);
    }
    case MatchType::kRegexp:
      return std::regex_match(path, regex);
  }
  return false;
}

absl::StatusOr<PatternMatcher> PatternMatcher::Create(const std::vector<std::string>& patterns) {
  PatternMatcher matcher;
  for (std::string text : patterns) {
    text = std::string(absl::StripAsciiWhitespace(text));
    if (text.empty()) continue;
    bool exclusion = text[0] == '!';
    if (exclusion) {
      if (text.size() == 1) return absl::InvalidArgumentError("illegal exclusion pattern: \"!\"");
      text = text.substr(1);
      matcher.has_exclusions_ = true;
    }
    text = CleanPath(text);
    ASSIGN_OR_RETURN(Pattern pattern, Compile(text, exclusion));
    matcher.patterns_.push_back(std::move(pattern));
  }
  return matcher;
}

bool PatternMatcher::MatchesOrParentMatches(const std::string& path) const {
  std::string file = CleanPath(path);
  size_t slash = file.rfind('/');
  std::string parent = slash == std::string::npos ? "." : file.substr(0, slash);
  std::vector<std::string> parent_dirs = absl::StrSplit(parent, '/');
  bool matched = false;
  for (const Pattern& pattern : patterns_) {
    // An inclusion cannot change an already matched path, nor an exclusion
    // an unmatched one.
    if (pattern.exclusion != matched) continue;
    bool match = pattern.Match(file);
    if (!match && parent != ".") {
      for (size_t i = 0; i < parent_dirs.size() && !match; ++i) {
        std::vector<std::string> prefix(parent_dirs.begin(), parent_dirs.begin() + i + 1);
        match = pattern.Match(absl::StrJoin(prefix, "/"));
      }
    }
    if (match) matched = !pattern.exclusion;
  }
  return matched;
}

}  // namespace berth::imaged::build
