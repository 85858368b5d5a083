#include "imaged/build/instructions.h"

#include <catch2/catch.hpp>

namespace berth::imaged::build {
namespace {

Instructions Parse(const std::string& text) {
  absl::StatusOr<ParsedDockerfile> parsed = ParseDockerfile(text);
  REQUIRE(parsed.ok());
  absl::StatusOr<Instructions> result = ParseInstructions(*parsed);
  INFO(result.status().ToString());
  REQUIRE(result.ok());
  return *result;
}

std::string Error(const std::string& text) {
  absl::StatusOr<ParsedDockerfile> parsed = ParseDockerfile(text);
  if (!parsed.ok()) return std::string(parsed.status().message());
  absl::StatusOr<Instructions> result = ParseInstructions(*parsed);
  REQUIRE_FALSE(result.ok());
  return std::string(result.status().message());
}

using Args = std::vector<std::string>;

TEST_CASE("unknown instruction names its line") {
  CHECK(Error("FROM busybox\nRUN true\nfoobar x\n") ==
        "Dockerfile parse error line 3: unknown instruction: FOOBAR");
  CHECK(Error("FROM busybox\nRUN a \\\n  b\nFOO\n") ==
        "Dockerfile parse error line 4: unknown instruction: FOO");
}

TEST_CASE("meta args and stages") {
  Instructions in = Parse(
      "ARG BASE=busybox\n"
      "ARG V\n"
      "FROM ${BASE} AS Build\n"
      "RUN make\n"
      "FROM --platform=linux/arm64 scratch\n"
      "COPY --from=build /out /\n");
  REQUIRE(in.meta_args.size() == 2);
  CHECK(in.meta_args[0].pairs[0].key == "BASE");
  CHECK(*in.meta_args[0].pairs[0].value == "busybox");
  CHECK_FALSE(in.meta_args[1].pairs[0].value.has_value());
  REQUIRE(in.stages.size() == 2);
  CHECK(in.stages[0].name == "build");
  CHECK(in.stages[0].base == "${BASE}");
  CHECK(in.stages[0].original == "FROM ${BASE} AS Build");
  CHECK(in.stages[0].line == 3);
  CHECK(in.stages[1].platform == "linux/arm64");
  CHECK(in.stages[1].name.empty());
  REQUIRE(in.stages[1].commands.size() == 1);
  CHECK(in.stages[1].commands[0].from == "build");
  CHECK(in.stages[1].commands[0].sources == Args{"/out"});
  CHECK(in.stages[1].commands[0].dest == "/");
}

TEST_CASE("instruction checks in Docker's words") {
  CHECK(Error("RUN x\n") == "Dockerfile parse error line 1: no build stage in current context");
  CHECK(Error("FROM a b\n") ==
        "Dockerfile parse error line 1: FROM requires either one or three arguments");
  CHECK(Error("FROM a AS 1x\n") ==
        "Dockerfile parse error line 1: invalid name for build stage: \"1x\", name can't start "
        "with a number or contain symbols");
  CHECK(Error("FROM a\nCOPY x\n") ==
        "Dockerfile parse error line 2: COPY requires at least two arguments, but only one was "
        "provided. Destination could not be determined.");
  CHECK(Error("FROM a\nWORKDIR\n") ==
        "Dockerfile parse error line 2: WORKDIR requires exactly one argument");
  CHECK(Error("FROM a\nUSER\n") ==
        "Dockerfile parse error line 2: USER requires exactly one argument");
  CHECK(Error("FROM a\nEXPOSE\n") ==
        "Dockerfile parse error line 2: EXPOSE requires at least one argument");
  CHECK(Error("FROM a\nENV\n") ==
        "Dockerfile parse error line 2: ENV requires at least one argument");
  CHECK(Error("FROM a\nARG =x\n") == "Dockerfile parse error line 2: ARG names can not be blank");
  CHECK(Error("FROM a\nSHELL sh -c\n") ==
        "Dockerfile parse error line 2: SHELL requires the arguments to be in JSON form");
  CHECK(Error("FROM a\nCOPY --foo=1 a b\n") == "Dockerfile parse error line 2: unknown flag: foo");
  CHECK(Error("FROM a\nCOPY --from a b\n") ==
        "Dockerfile parse error line 2: missing a value on flag: from");
  CHECK(Error("FROM a\nCOPY --from=x --from=y a b\n") ==
        "Dockerfile parse error line 2: duplicate flag specified: from");
  CHECK(Error("FROM a\nADD --from=x a b\n") == "Dockerfile parse error line 2: unknown flag: from");
  CHECK(Error("FROM a\nRUN --mount=type=cache,target=/x true\n") ==
        "Dockerfile parse error line 2: the --mount option requires BuildKit. Refer to "
        "https://docs.docker.com/go/buildkit/ to learn how to build images with BuildKit enabled");
  CHECK(Error("FROM a\nENV --x=1 A=1\n") == "Dockerfile parse error line 2: unknown flag: x");
  CHECK(Error("FROM a\nONBUILD ONBUILD RUN x\n") ==
        "Dockerfile parse error line 2: Chaining ONBUILD via `ONBUILD ONBUILD` isn't allowed");
  CHECK(Error("FROM a\nONBUILD FROM x\n") ==
        "Dockerfile parse error line 2: FROM isn't allowed as an ONBUILD trigger");
  CHECK(Error("FROM a\nonbuild maintainer x\n") ==
        "Dockerfile parse error line 2: MAINTAINER isn't allowed as an ONBUILD trigger");
  CHECK(Error("FROM a\nONBUILD BOGUS x\n") ==
        "Dockerfile parse error line 2: unknown instruction: BOGUS");
  CHECK(Error("FROM a\nVOLUME [\"\"]\n") ==
        "Dockerfile parse error line 2: VOLUME specified can not be an empty string");
}

TEST_CASE("HEALTHCHECK options") {
  Instructions in = Parse(
      "FROM a\n"
      "HEALTHCHECK --interval=5m --timeout=3s --start-period=1.5s --retries=4 CMD curl -f x\n"
      "HEALTHCHECK CMD [\"/bin/check\", \"-q\"]\n"
      "healthcheck none\n");
  const HealthConfig& h = in.stages[0].commands[0].health;
  CHECK(h.test == Args{"CMD-SHELL", "curl -f x"});
  CHECK(h.interval_ns == 300000000000LL);
  CHECK(h.timeout_ns == 3000000000LL);
  CHECK(h.start_period_ns == 1500000000LL);
  CHECK(h.retries == 4);
  CHECK(in.stages[0].commands[1].health.test == Args{"CMD", "/bin/check", "-q"});
  CHECK(in.stages[0].commands[2].health.test == Args{"NONE"});
  CHECK(Error("FROM a\nHEALTHCHECK NONE x\n") ==
        "Dockerfile parse error line 2: HEALTHCHECK NONE takes no arguments");
  CHECK(Error("FROM a\nHEALTHCHECK RUN x\n") ==
        "Dockerfile parse error line 2: Unknown type \"RUN\" in HEALTHCHECK (try CMD)");
  CHECK(Error("FROM a\nHEALTHCHECK CMD\n") ==
        "Dockerfile parse error line 2: Missing command after HEALTHCHECK CMD");
  CHECK(Error("FROM a\nHEALTHCHECK --interval=1us CMD x\n") ==
        "Dockerfile parse error line 2: Interval \"interval\" cannot be less than 1ms");
  CHECK(Error("FROM a\nHEALTHCHECK --timeout=5 CMD x\n") ==
        "Dockerfile parse error line 2: time: missing unit in duration \"5\"");
  CHECK(Error("FROM a\nHEALTHCHECK --retries=-1 CMD x\n") ==
        "Dockerfile parse error line 2: --retries cannot be negative (-1)");
  CHECK(Error("FROM a\nHEALTHCHECK --bogus=1 CMD x\n") ==
        "Dockerfile parse error line 2: unknown flag: bogus");
}

TEST_CASE("commands keep their original text and forms") {
  Instructions in = Parse(
      "FROM a\n"
      "  RUN   echo  hi  \n"
      "CMD [\"sh\"]\n"
      "ENTRYPOINT []\n"
      "ONBUILD   run echo x\n"
      "ARG A=1 B\n");
  const std::vector<Command>& c = in.stages[0].commands;
  CHECK(c[0].original == "RUN   echo  hi");
  CHECK(c[0].command == Args{"echo  hi"});
  CHECK_FALSE(c[0].json);
  CHECK(c[1].json);
  CHECK(c[1].command == Args{"sh"});
  CHECK(c[2].command.empty());
  CHECK(c[3].value == "run echo x");
  REQUIRE(c[4].pairs.size() == 2);
  CHECK(*c[4].pairs[0].value == "1");
  CHECK_FALSE(c[4].pairs[1].value.has_value());
  CHECK(MakeLabelCommand("k", "v").original == "LABEL k=v");
}

}  // namespace
}  // namespace berth::imaged::build
