#include "imaged/build/build_args.h"

#include <catch2/catch.hpp>

namespace berth::imaged::build {
namespace {

TEST_CASE("options override defaults, null options do not") {
  BuildArgs args({{"A", std::string("opt")}, {"B", std::nullopt}});
  args.AddArg("A", std::string("default"));
  args.AddArg("B", std::string("bdefault"));
  args.AddArg("C", std::nullopt);
  auto all = args.GetAllAllowed();
  CHECK(all["A"] == "opt");
  CHECK(all["B"] == "bdefault");
  // Declared without a value and given nowhere: not set at all.
  CHECK(all.count("C") == 0);
}

TEST_CASE("global args are visible only in FROM until redeclared") {
  BuildArgs args({{"V", std::string("2")}});
  args.AddMetaArg("V", std::string("1"));
  args.AddMetaArg("W", std::string("w"));
  CHECK(args.GetAllMeta()["V"] == "2");
  CHECK(args.GetAllMeta()["W"] == "w");
  args.ResetAllowed();
  CHECK(args.GetAllAllowed().empty());
  args.AddArg("W", std::nullopt);
  CHECK(args.GetAllAllowed()["W"] == "w");
}

TEST_CASE("predefined proxies and platform args") {
  BuildArgs args({{"HTTP_PROXY", std::string("http://p")}, {"UNUSED", std::string("1")}},
                 {{"TARGETARCH", "amd64"}});
  CHECK(args.GetAllAllowed()["HTTP_PROXY"] == "http://p");
  CHECK_FALSE(args.IsReferencedOrNotBuiltin("HTTP_PROXY"));
  CHECK(args.IsReferencedOrNotBuiltin("OTHER"));
  CHECK(args.GetAllMeta()["TARGETARCH"] == "amd64");
  CHECK(args.GetAllAllowed().count("TARGETARCH") == 0);
  args.AddArg("TARGETARCH", std::nullopt);
  CHECK(args.GetAllAllowed()["TARGETARCH"] == "amd64");
  CHECK(args.UnusedWarning() == "[Warning] One or more build-args [UNUSED] were not consumed\n");
}

TEST_CASE("unused build args are sorted and merged across stages") {
  BuildArgs global({{"Z", std::string("1")}, {"A", std::string("1")}, {"M", std::string("1")}});
  CHECK(global.UnusedWarning() == "[Warning] One or more build-args [A M Z] were not consumed\n");
  BuildArgs stage = global;
  stage.AddArg("M", std::nullopt);
  global.MergeReferencedArgs(stage);
  CHECK(global.UnusedWarning() == "[Warning] One or more build-args [A Z] were not consumed\n");
  global.AddMetaArg("A", std::nullopt);
  global.AddArg("A", std::nullopt);
  global.AddArg("Z", std::nullopt);
  CHECK(global.UnusedWarning().empty());
}

TEST_CASE("FilterAllowed leaves out what ENV sets") {
  BuildArgs args({});
  args.AddArg("A", std::string("1"));
  args.AddArg("B", std::string("2"));
  CHECK(args.FilterAllowed({"B=env"}) == std::vector<std::string>{"A=1"});
}

TEST_CASE("--build-arg without a value takes the environment") {
  BuildArgValues values =
      ParseBuildArgFlags({"A=1", "B", "C", "D="}, {{"B", "from-env"}, {"A", "ignored"}});
  CHECK(*values["A"] == "1");
  CHECK(*values["B"] == "from-env");
  CHECK_FALSE(values["C"].has_value());
  CHECK(*values["D"] == "");
}

}  // namespace
}  // namespace berth::imaged::build
