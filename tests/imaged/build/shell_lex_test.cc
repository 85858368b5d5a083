#include "imaged/build/shell_lex.h"

#include <catch2/catch.hpp>

namespace berth::imaged::build {
namespace {

std::string Word(const std::string& word, const std::vector<std::string>& env = {},
                 char escape = '\\') {
  absl::StatusOr<std::string> result = ShellLex(escape).ProcessWord(word, env);
  REQUIRE(result.ok());
  return *result;
}

std::string Error(const std::string& word, const std::vector<std::string>& env = {}) {
  absl::StatusOr<std::string> result = ShellLex().ProcessWord(word, env);
  REQUIRE_FALSE(result.ok());
  return std::string(result.status().message());
}

TEST_CASE("plain and braced variables") {
  std::vector<std::string> env = {"A=apple", "B=", "PATH=/bin"};
  CHECK(Word("$A", env) == "apple");
  CHECK(Word("${A}", env) == "apple");
  CHECK(Word("x${A}y", env) == "xappley");
  CHECK(Word("$Ay", env) == "");
  CHECK(Word("$NOPE", env) == "");
  CHECK(Word("a$", env) == "a$");
  CHECK(Word("$ A", env) == "$ A");
  CHECK(Word("$PATH:/usr/bin", env) == "/bin:/usr/bin");
  // The first entry for a key wins.
  CHECK(Word("$K", {"K=1", "K=2"}) == "1");
}

TEST_CASE("modifiers with and without colon") {
  std::vector<std::string> env = {"SET=v", "EMPTY="};
  CHECK(Word("${SET:-d}", env) == "v");
  CHECK(Word("${EMPTY:-d}", env) == "d");
  CHECK(Word("${UNSET:-d}", env) == "d");
  CHECK(Word("${EMPTY-d}", env) == "");
  CHECK(Word("${UNSET-d}", env) == "d");
  CHECK(Word("${SET:+alt}", env) == "alt");
  CHECK(Word("${EMPTY:+alt}", env) == "");
  CHECK(Word("${EMPTY+alt}", env) == "alt");
  CHECK(Word("${UNSET+alt}", env) == "");
  CHECK(Word("${UNSET:-$SET}", env) == "v");
  CHECK(Word("${UNSET:-a b}", env) == "a b");
  CHECK(Word("${UNSET:-'x'}", env) == "x");
  CHECK(Error("${UNSET:?must be set}", env) == "UNSET: must be set");
  CHECK(Error("${EMPTY:?}", env) == "EMPTY: is not allowed to be empty");
  CHECK(Word("${EMPTY?}", env) == "");
  CHECK(Error("${UNSET?}", env) == "UNSET: is not allowed to be unset");
}

TEST_CASE("syntax errors") {
  CHECK(Error("${") == "syntax error: missing '}'");
  CHECK(Error("${}") == "syntax error: bad substitution");
  CHECK(Error("${:x}") == "syntax error: bad substitution");
  CHECK(Error("${A") == "syntax error: missing '}'");
  CHECK(Error("${A:-x") == "syntax error: missing '}'");
  CHECK(Error("${A:=x}") == "unsupported modifier (=) in substitution");
  CHECK(Error("${A!}") == "missing ':' in substitution");
  CHECK(Error("'abc") == "unexpected end of statement while looking for matching single-quote");
  CHECK(Error("\"abc") == "unexpected end of statement while looking for matching double-quote");
}

TEST_CASE("quotes and escapes") {
  std::vector<std::string> env = {"A=apple"};
  CHECK(Word("'$A'", env) == "$A");
  CHECK(Word("\"$A\"", env) == "apple");
  CHECK(Word("\\$A", env) == "$A");
  CHECK(Word("\"\\$A\"", env) == "$A");
  CHECK(Word("\"a\\\"b\"", env) == "a\"b");
  // Inside double quotes other escapes stay literal.
  CHECK(Word("\"a\\nb\"", env) == "a\\nb");
  CHECK(Word("a\\nb", env) == "anb");
  CHECK(Word("'a\\b'", env) == "a\\b");
  CHECK(Word("a\\", env) == "a");
  CHECK(Word("hello   world", env) == "hello   world");
}

TEST_CASE("backtick escape token") {
  std::vector<std::string> env = {"A=apple"};
  CHECK(Word("`$A", env, '`') == "$A");
  CHECK(Word("c:\\dir\\$A", env, '`') == "c:\\dir\\apple");
}

TEST_CASE("words split values but not quotes") {
  std::vector<std::string> env = {"PORTS=80 443", "E="};
  auto words = ShellLex().ProcessWords("$PORTS 8080", env);
  REQUIRE(words.ok());
  CHECK(*words == std::vector<std::string>{"80", "443", "8080"});
  words = ShellLex().ProcessWords("\"$PORTS\"", env);
  REQUIRE(words.ok());
  CHECK(*words == std::vector<std::string>{"80 443"});
  words = ShellLex().ProcessWords("\"\" x", env);
  REQUIRE(words.ok());
  CHECK(*words == std::vector<std::string>{"", "x"});
  words = ShellLex().ProcessWords("$E", env);
  REQUIRE(words.ok());
  CHECK(words->empty());
}

}  // namespace
}  // namespace berth::imaged::build
