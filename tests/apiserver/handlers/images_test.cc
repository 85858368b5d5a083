#include "apiserver/handlers/images.h"

#include <catch2/catch.hpp>

namespace berth::apiserver {
namespace {

namespace img = ::berth::image::v1;

constexpr int64_t kNow = 1700000000;

TEST_CASE("filter times: Go durations, unix seconds, RFC 3339 and dates", "[images]") {
  CHECK(ParseFilterTime("24h", kNow).value() == kNow - 24 * 3600);
  CHECK(ParseFilterTime("1h30m", kNow).value() == kNow - 5400);
  CHECK(ParseFilterTime("0s", kNow).value() == kNow);
  CHECK(ParseFilterTime("1600000000", kNow).value() == 1600000000);
  CHECK(ParseFilterTime("1600000000.5", kNow).value() == 1600000000);
  CHECK(ParseFilterTime("2024-01-02T03:04:05Z", kNow).value() == 1704164645);
  CHECK(ParseFilterTime("2024-01-02", kNow).value() == 1704153600);
  auto bad = ParseFilterTime("yesterday", kNow);
  REQUIRE(absl::IsInvalidArgument(bad.status()));
  CHECK(std::string(bad.status().message()) ==
        "failed to parse value as time or duration: \"yesterday\"");
}

img::Image MakeImage(const std::string& id, std::vector<std::string> tags, int64_t created,
                     const std::string& parent = "",
                     std::map<std::string, std::string> labels = {}) {
  img::Image image;
  image.set_id(id);
  for (const std::string& tag : tags) image.add_repo_tags(tag);
  image.set_created(created);
  image.set_parent(parent);
  std::string label_json;
  for (const auto& [key, value] : labels) {
    label_json += (label_json.empty() ? "" : ",") + ("\"" + key + "\":\"" + value + "\"");
    (*image.mutable_labels())[key] = value;
  }
  image.set_config_json("{\"config\":{\"Labels\":{" + label_json + "}}}");
  return image;
}

std::vector<std::string> Ids(const std::vector<img::Image>& images) {
  std::vector<std::string> ids;
  for (const img::Image& image : images) ids.push_back(image.id());
  return ids;
}

TEST_CASE("prune candidates follow Moby's choice", "[images]") {
  std::vector<img::Image> images = {
      MakeImage("base", {"base:1"}, 100),
      MakeImage("middle", {}, 200, "base"),  // an untagged parent
      MakeImage("child", {"child:1"}, 300, "middle"),
      MakeImage("dangling", {}, 400, "", {{"keep", "yes"}}),
      MakeImage("old-dangling", {}, 50),
      MakeImage("labelled", {"l:1"}, 500, "", {{"prune", "yes"}}),
  };
  Filters none;
  SECTION("dangling only: untagged heads") {
    CHECK(Ids(PruneCandidates(images, true, 0, none)) ==
          std::vector<std::string>{"dangling", "old-dangling"});
  }
  SECTION("all: every image but untagged parents") {
    CHECK(Ids(PruneCandidates(images, false, 0, none)) ==
          std::vector<std::string>{"base", "child", "dangling", "old-dangling", "labelled"});
  }
  SECTION("until: created at or before the time") {
    CHECK(Ids(PruneCandidates(images, false, 100, none)) ==
          std::vector<std::string>{"base", "old-dangling"});
  }
  SECTION("label and label!") {
    Filters label;
    label.Add("label", "prune=yes");
    CHECK(Ids(PruneCandidates(images, false, 0, label)) == std::vector<std::string>{"labelled"});
    Filters not_label;
    not_label.Add("label!", "keep");
    CHECK(Ids(PruneCandidates(images, true, 0, not_label)) ==
          std::vector<std::string>{"old-dangling"});
  }
}

}  // namespace
}  // namespace berth::apiserver
