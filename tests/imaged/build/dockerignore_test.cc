#include "imaged/build/dockerignore.h"

#include <catch2/catch.hpp>

namespace berth::imaged::build {
namespace {

bool Excluded(const std::vector<std::string>& patterns, const std::string& path) {
  absl::StatusOr<PatternMatcher> matcher = PatternMatcher::Create(patterns);
  REQUIRE(matcher.ok());
  return matcher->MatchesOrParentMatches(path);
}

TEST_CASE("reading .dockerignore") {
  CHECK(ReadDockerignore(
            "# comment\n\n  node_modules  \n./a/b/\n/root.txt\n! keep\n #notcomment\n") ==
        std::vector<std::string>{"node_modules", "a/b", "root.txt", "!keep", "#notcomment"});
  CHECK(ReadDockerignore("\xEF\xBB\xBF*.log\r\n") == std::vector<std::string>{"*.log"});
}

TEST_CASE("single star stays in one directory") {
  CHECK(Excluded({"*.log"}, "a.log"));
  CHECK_FALSE(Excluded({"*.log"}, "dir/a.log"));
  CHECK(Excluded({"*/*.log"}, "dir/a.log"));
  CHECK(Excluded({"a?c"}, "abc"));
  CHECK_FALSE(Excluded({"a?c"}, "a/c"));
  CHECK(Excluded({"[a-c]x"}, "bx"));
  CHECK_FALSE(Excluded({"[a-c]x"}, "dx"));
  CHECK(Excluded({"[^a]x"}, "bx"));
}

TEST_CASE("double star crosses directories") {
  CHECK(Excluded({"**/*.log"}, "a.log"));
  CHECK(Excluded({"**/*.log"}, "x/y/a.log"));
  CHECK(Excluded({"**/node_modules"}, "node_modules"));
  CHECK(Excluded({"**/node_modules"}, "a/b/node_modules/x.js"));
  CHECK(Excluded({"docs/**"}, "docs/a/b.md"));
  CHECK(Excluded({"a/**/z"}, "a/z"));
  CHECK(Excluded({"a/**/z"}, "a/b/c/z"));
  CHECK_FALSE(Excluded({"a/**/z"}, "b/z"));
  CHECK(Excluded({"**"}, "anything/at/all"));
}

TEST_CASE("parents exclude their contents, exceptions re-include, last wins") {
  CHECK(Excluded({"dir"}, "dir/sub/file"));
  CHECK_FALSE(Excluded({"dir", "!dir/keep"}, "dir/keep"));
  CHECK(Excluded({"dir", "!dir/keep"}, "dir/other"));
  CHECK(Excluded({"*.md", "!README.md", "README*"}, "README.md"));
  CHECK_FALSE(Excluded({"*.md", "!README*.md", "README-secret.md"}, "README.md"));
  CHECK(Excluded({"*.md", "!README*.md", "README-secret.md"}, "README-secret.md"));
  CHECK_FALSE(Excluded({}, "x"));
}

TEST_CASE("escapes and literal regexp characters") {
  CHECK(Excluded({"a+b.(c)"}, "a+b.(c)"));
  CHECK_FALSE(Excluded({"a.c"}, "abc"));
  CHECK(Excluded({"a\\?*"}, "a?bc"));
  CHECK_FALSE(Excluded({"a\\?*"}, "abc"));
  // Without a wildcard a pattern is compared as written, escapes included,
  // as patternmatcher does.
  CHECK_FALSE(Excluded({"\\*x"}, "*x"));
  CHECK_FALSE(PatternMatcher::Create({"!"}).ok());
}

}  // namespace
}  // namespace berth::imaged::build
