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

namespace berth::imaged::build {
namespace {

// Cases from Docker's shell lexer test table (buildkit shell/envVarTest);
// "error" means the word must be refused.
TEST_CASE("Docker's lexer table") {
  const std::vector<std::string> env = {"PWD=/home", "SHELL=bash", "NULL="};
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"hello", "hello"},
      {"he'll'o", "hello"},
      {"he'llo", "error"},
      {"he\\'llo", "he'llo"},
      {"he\\\\'llo", "error"},
      {"abc\\tdef", "abctdef"},
      {"\"abc\\tdef\"", "abc\\tdef"},
      {"\"abc\\\\tdef\"", "abc\\tdef"},
      {"'abc\\tdef'", "abc\\tdef"},
      {"hello\\", "hello"},
      {"hello\\\\", "hello\\"},
      {"\"hello", "error"},
      {"\"hello\\\"", "error"},
      {"\"hel'lo\"", "hel'lo"},
      {"'hello", "error"},
      {"'hello\\'", "hello\\"},
      {"\"''\"", "''"},
      {"$.", "$."},
      {"he$1x", "hex"},
      {"he$.x", "he$.x"},
      {"he$pwd.", "he."},
      {"he$PWD", "he/home"},
      {"he\\$PWD", "he$PWD"},
      {"he\\\\$PWD", "he\\/home"},
      {"\"he\\$PWD\"", "he$PWD"},
      {"\"he\\\\$PWD\"", "he\\/home"},
      {"\\${}", "${}"},
      {"he\\${}xx", "he${}xx"},
      {"${}", "error"},
      {"he${}xx", "error"},
      {"he${hi}xx", "hexx"},
      {"he${PWD}", "he/home"},
      {"he${.}", "error"},
      {"he${XXX:-000}xx", "he000xx"},
      {"he${PWD:-000}xx", "he/homexx"},
      {"he${XXX:-$PWD}xx", "he/homexx"},
      {"he${XXX:-${PWD:-yyy}}xx", "he/homexx"},
      {"he${XXX:-${YYY:-yyy}}xx", "heyyyxx"},
      {"he${XXX:YYY}", "error"},
      {"he${XXX?}", "error"},
      {"he${XXX:?}", "error"},
      {"he${PWD?}", "he/home"},
      {"he${PWD:?}", "he/home"},
      {"he${NULL?}", "he"},
      {"he${NULL:?}", "error"},
      {"he${XXX:+${PWD}}xx", "hexx"},
      {"he${PWD:+${XXX}}xx", "hexx"},
      {"he${PWD:+${SHELL}}xx", "hebashxx"},
      {"he${XXX:+000}xx", "hexx"},
      {"he${PWD:+000}xx", "he000xx"},
      {"'he${XX}'", "he${XX}"},
      {"\"he${PWD}\"", "he/home"},
      {"\"he'$PWD'\"", "he'/home'"},
      {"\"$PWD\"", "/home"},
      {"'$PWD'", "$PWD"},
      {"'\\$PWD'", "\\$PWD"},
      {"'\"hello\"'", "\"hello\""},
      {"he${PWD", "error"},
      {"he${PWD=000}xx", "error"},
      {"he${PWD+}xx", "hexx"},
      {"he${PWD+000}xx", "he000xx"},
      {"he${PWD-}xx", "he/homexx"},
      {"he${XXX-}xx", "hexx"},
      {"he${XXX-$PWD}xx", "he/homexx"},
      {"\xEC\x95\x88'\xEB\x85\x95'", "\xEC\x95\x88\xEB\x85\x95"},
  };
  for (const auto& [word, expected] : cases) {
    INFO(word);
    absl::StatusOr<std::string> result = ShellLex().ProcessWord(word, env);
    if (expected == "error") {
      CHECK_FALSE(result.ok());
    } else {
      REQUIRE(result.ok());
      CHECK(*result == expected);
    }
  }
}

}  // namespace
}  // namespace berth::imaged::build
