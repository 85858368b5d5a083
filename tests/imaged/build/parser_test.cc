#include "imaged/build/parser.h"

#include <catch2/catch.hpp>

#include "imaged/build/instructions.h"

namespace berth::imaged::build {
namespace {

ParsedDockerfile Parse(const std::string& text) {
  absl::StatusOr<ParsedDockerfile> result = ParseDockerfile(text);
  INFO(result.status().ToString());
  REQUIRE(result.ok());
  return *result;
}

std::string ParseError(const std::string& text) {
  absl::StatusOr<ParsedDockerfile> result = ParseDockerfile(text);
  if (result.ok()) {
    absl::StatusOr<Instructions> instructions = ParseInstructions(*result);
    REQUIRE_FALSE(instructions.ok());
    return std::string(instructions.status().message());
  }
  return std::string(result.status().message());
}

using Args = std::vector<std::string>;

TEST_CASE("instructions, lines and case") {
  ParsedDockerfile df = Parse("FROM busybox\n\nrun echo hi\n  Cmd [\"sh\"]\n");
  REQUIRE(df.nodes.size() == 3);
  CHECK(df.nodes[0].name == "from");
  CHECK(df.nodes[0].args == Args{"busybox"});
  CHECK(df.nodes[1].name == "run");
  CHECK(df.nodes[1].start_line == 3);
  CHECK(df.nodes[1].args == Args{"echo hi"});
  CHECK_FALSE(df.nodes[1].json);
  CHECK(df.nodes[2].json);
  CHECK(df.nodes[2].args == Args{"sh"});
  CHECK(df.nodes[2].start_line == 4);
}

TEST_CASE("directives only at the top") {
  ParsedDockerfile df = Parse("# escape=`\n# syntax=docker/dockerfile:1\nFROM x\nRUN a `\n  b\n");
  CHECK(df.escape_token == '`');
  CHECK(df.syntax == "docker/dockerfile:1");
  CHECK(df.nodes[1].args == Args{"a   b"});
  // Case-insensitive names, spaces around '='.
  CHECK(Parse("#ESCAPE = `\nFROM x\n").escape_token == '`');
  // After an empty line, a comment or an instruction it is only a comment.
  CHECK(Parse("\n# escape=`\nFROM x\n").escape_token == '\\');
  CHECK(Parse("# hello\n# escape=`\nFROM x\n").escape_token == '\\');
  CHECK(Parse("FROM x\n# escape=`\nRUN a\n").escape_token == '\\');
  // An unknown directive ends the directives.
  CHECK(Parse("# foo=bar\n# escape=`\nFROM x\n").escape_token == '\\');
  CHECK(ParseError("# escape=`\n# escape=\\\nFROM x\n") ==
        "Dockerfile parse error line 2: only one escape parser directive can be used");
  CHECK(ParseError("# escape= \nFROM x\n") ==
        "Dockerfile parse error line 1: invalid escape token ' ' does not match ` or \\");
  // Nothing after '=' is not a directive at all.
  CHECK(Parse("# escape=\nFROM x\n").escape_token == '\\');
  CHECK(ParseError("# escape=x\nFROM x\n") ==
        "Dockerfile parse error line 1: invalid escape token 'x' does not match ` or \\");
}

TEST_CASE("continuations with comments and empty lines") {
  ParsedDockerfile df = Parse(
      "FROM x\n"
      "RUN echo a \\\n"
      "# a comment inside\n"
      "    && echo b \\\n"
      "\n"
      "    && echo c\n"
      "CMD x\n");
  REQUIRE(df.nodes.size() == 3);
  CHECK(df.nodes[1].args == Args{"echo a     && echo b     && echo c"});
  CHECK(df.nodes[1].start_line == 2);
  CHECK(df.nodes[1].end_line == 6);
  CHECK(df.nodes[2].start_line == 7);
  REQUIRE(df.warnings.size() == 2);
  CHECK(df.warnings[0] ==
        "[WARNING]: Empty continuation line found in:\n    RUN echo a     && echo b     && echo c");
  // Blanks after the escape still continue; a trailing continuation at EOF ends.
  df = Parse("FROM x\nRUN a \\  \n b\nRUN c \\");
  CHECK(df.nodes[1].args == Args{"a  b"});
  CHECK(df.nodes[2].args == Args{"c"});
  // CRLF line endings.
  df = Parse("FROM x\r\nRUN a \\\r\n b\r\n");
  CHECK(df.nodes[1].args == Args{"a  b"});
}

TEST_CASE("JSON and shell forms") {
  ParsedDockerfile df = Parse(
      "FROM x\n"
      "CMD [\"a\", \"b c\"]\n"
      "CMD [not json]\n"
      "ENTRYPOINT [ \"x\" ]\n"
      "COPY [\"a b\", \"/d\"]\n"
      "COPY a b /d/\n"
      "VOLUME /a /b\n"
      "CMD []\n");
  CHECK(df.nodes[1].json);
  CHECK(df.nodes[1].args == Args{"a", "b c"});
  CHECK_FALSE(df.nodes[2].json);
  CHECK(df.nodes[2].args == Args{"[not json]"});
  CHECK(df.nodes[3].json);
  CHECK(df.nodes[4].args == Args{"a b", "/d"});
  CHECK(df.nodes[5].args == Args{"a", "b", "/d/"});
  CHECK(df.nodes[6].args == Args{"/a", "/b"});
  CHECK(df.nodes[7].json);
  CHECK(df.nodes[7].args.empty());
  CHECK(ParseError("FROM x\nCMD [1, 2]\n") ==
        "Dockerfile parse error line 2: when using JSON array syntax, arrays must be comprised "
        "of strings only");
}

TEST_CASE("flags") {
  ParsedDockerfile df = Parse(
      "FROM --platform=linux/amd64 x AS b\n"
      "COPY --from=b --chown=1:1 --chmod=\"0644\" a /b\n"
      "HEALTHCHECK --interval=5s --retries=3 CMD curl -f x\n"
      "COPY -- --notflag /b\n");
  CHECK(df.nodes[0].flags == Args{"--platform=linux/amd64"});
  CHECK(df.nodes[0].args == Args{"x", "AS", "b"});
  CHECK(df.nodes[1].flags == Args{"--from=b", "--chown=1:1", "--chmod=0644"});
  CHECK(df.nodes[1].args == Args{"a", "/b"});
  CHECK(df.nodes[2].flags == Args{"--interval=5s", "--retries=3"});
  CHECK(df.nodes[2].args == Args{"CMD", "curl -f x"});
  CHECK(df.nodes[3].flags.empty());
  // A quoted word is not a flag.
  CHECK(Parse("FROM x\nCOPY \"--a\" b\n").nodes[1].args == Args{"\"--a\"", "b"});
  CHECK(df.nodes[3].args == Args{"--notflag", "/b"});
}

TEST_CASE("ENV and LABEL keep quotes until expansion") {
  ParsedDockerfile df = Parse(
      "FROM x\n"
      "ENV A=1 B=\"two words\" C=three\\ words\n"
      "ENV OLD value with  spaces\n"
      "LABEL \"com.x\"=\"y\"\n");
  CHECK(df.nodes[1].args == Args{"A", "1", "B", "\"two words\"", "C", "three\\ words"});
  CHECK(df.nodes[2].args == Args{"OLD", "value with  spaces"});
  CHECK(df.nodes[3].args == Args{"\"com.x\"", "\"y\""});
  CHECK(ParseError("FROM x\nENV A=1 B\n") ==
        "Dockerfile parse error line 2: Syntax error - can't find = in \"B\". Must be of the form: "
        "name=value");
  CHECK(ParseError("FROM x\nENV A\n") ==
        "Dockerfile parse error line 2: ENV must have two arguments");
}

TEST_CASE("ONBUILD keeps its trigger") {
  ParsedDockerfile df = Parse("FROM x\nONBUILD RUN echo hi\n");
  REQUIRE(df.nodes[1].children.size() == 1);
  CHECK(df.nodes[1].children[0].name == "run");
  CHECK(df.nodes[1].children[0].args == Args{"echo hi"});
}

TEST_CASE("empty Dockerfile") {
  CHECK_FALSE(ParseDockerfile("").ok());
  CHECK_FALSE(ParseDockerfile("# only a comment\n\n").ok());
}

TEST_CASE("ParseWords keeps quotes and escapes") {
  CHECK(ParseWords("a \"b c\" d\\ e 'f g'", '\\') == Args{"a", "\"b c\"", "d\\ e", "'f g'"});
  CHECK(ParseWords("a=\"\" b", '\\') == Args{"a=\"\"", "b"});
  CHECK(ParseWords("a`  b", '`') == Args{"a` ", "b"});
}

}  // namespace
}  // namespace berth::imaged::build
