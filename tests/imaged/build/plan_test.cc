#include "imaged/build/plan.h"

#include <catch2/catch.hpp>

namespace berth::imaged::build {
namespace {

const char kMultiStage[] =
    "ARG GO=1.22\n"
    "FROM golang:${GO} AS build\n"
    "RUN make\n"
    "FROM busybox AS test\n"
    "COPY --from=build /out /out\n"
    "RUN /out/test\n"
    "FROM scratch\n"
    "COPY --from=0 /out /\n"
    "CMD [\"/app\"]\n";

TEST_CASE("all stages are planned and counted") {
  absl::StatusOr<BuildPlan> plan = MakePlan(kMultiStage, {});
  REQUIRE(plan.ok());
  CHECK(plan->instructions.stages.size() == 3);
  CHECK(plan->total_steps == 9);
}

TEST_CASE("--target cuts after the stage, case-insensitively") {
  absl::StatusOr<BuildPlan> plan = MakePlan(kMultiStage, {"TEST", {}});
  REQUIRE(plan.ok());
  CHECK(plan->instructions.stages.size() == 2);
  CHECK(plan->total_steps == 6);
  CHECK(MakePlan(kMultiStage, {"nope", {}}).status().message() ==
        "failed to reach build target nope in Dockerfile");
}

TEST_CASE("--label becomes LABEL steps on the last stage, sorted") {
  absl::StatusOr<BuildPlan> plan = MakePlan("FROM busybox\n", {"", {{"z", "1"}, {"a", "b c"}}});
  REQUIRE(plan.ok());
  const std::vector<Command>& commands = plan->instructions.stages[0].commands;
  REQUIRE(commands.size() == 2);
  CHECK(commands[0].original == "LABEL a=b c");
  CHECK(commands[1].original == "LABEL z=1");
  CHECK(commands[0].no_expand);
  CHECK(plan->total_steps == 3);
}

TEST_CASE("stage references") {
  absl::StatusOr<BuildPlan> plan = MakePlan(kMultiStage, {});
  REQUIRE(plan.ok());
  const Instructions& in = plan->instructions;
  CHECK(ResolveStageReference(in, 1, "build").value() == 0);
  CHECK(ResolveStageReference(in, 1, "BUILD").value() == 0);
  CHECK(ResolveStageReference(in, 2, "1").value() == 1);
  CHECK(ResolveStageReference(in, 1, "alpine:3").value() == -1);
  CHECK(ResolveStageReference(in, 1, "test").status().message() ==
        "circular dependency detected on stage: test");
  CHECK(ResolveStageReference(in, 0, "2").status().message() ==
        "stage 2 is defined after the stage that uses it: stages are built in order, so a stage "
        "can only use an earlier one");
  CHECK(ResolveStageReference(in, 0, "7").status().message() == "invalid stage index 7");
}

TEST_CASE("cyclic and forward --from are refused with their line") {
  CHECK(MakePlan("FROM busybox AS a\nCOPY --from=a /x /y\n", {}).status().message() ==
        "Dockerfile parse error line 2: circular dependency detected on stage: a");
  CHECK(MakePlan("FROM busybox AS a\nCOPY --from=b /x /y\nFROM busybox AS b\n", {})
            .status()
            .message() ==
        "Dockerfile parse error line 2: stage b is defined after the stage that uses it: stages "
        "are built in order, so a stage can only use an earlier one");
  // Checked before --target cuts the later stage off.
  CHECK_FALSE(
      MakePlan("FROM busybox AS a\nCOPY --from=b /x /y\nFROM busybox AS b\n", {"a", {}}).ok());
  CHECK(MakePlan("FROM busybox AS a\nCOPY --from=0 /x /y\n", {}).status().message() ==
        "Dockerfile parse error line 2: circular dependency detected on stage: 0");
  // Variables are resolved at dispatch; unknown names are images.
  CHECK(MakePlan("FROM busybox AS a\nCOPY --from=$X /x /y\nCOPY --from=nginx /x /y\n", {}).ok());
  CHECK(MakePlan("FROM a AS x\nFROM b AS x\n", {}).status().message() ==
        "Dockerfile parse error line 2: x stage name already used");
}

TEST_CASE("empty Dockerfiles") {
  CHECK(MakePlan("", {}).status().message() == "the Dockerfile (Dockerfile) cannot be empty");
  CHECK_FALSE(MakePlan("# nothing\n", {}).ok());
  CHECK(MakePlan("ARG A\n", {}).status().message() == "no build stage in current context");
}

TEST_CASE("platform args") {
  std::map<std::string, std::string> args = PlatformArgs("linux/arm/v7");
  CHECK(args["TARGETPLATFORM"] == "linux/arm/v7");
  CHECK(args["TARGETOS"] == "linux");
  CHECK(args["TARGETARCH"] == "arm");
  CHECK(args["TARGETVARIANT"] == "v7");
  CHECK(args["BUILDOS"] == "linux");
  CHECK(PlatformArgs("")["TARGETPLATFORM"] == args["BUILDPLATFORM"]);
}

}  // namespace
}  // namespace berth::imaged::build
