#include "apiserver/handlers/events.h"

#include <catch2/catch.hpp>

namespace berth::apiserver {
namespace {

events::v1::Event Event(const std::string& type, const std::string& action, const std::string& id,
                        std::map<std::string, std::string> attributes) {
  events::v1::Event event;
  event.set_type(type);
  event.set_action(action);
  event.set_id(id);
  event.set_time_nano(1700000000123456789);
  for (auto& [k, v] : attributes) (*event.mutable_attributes())[k] = v;
  return event;
}

Filters Parse(const std::string& json) {
  auto filters = Filters::Parse(json);
  REQUIRE(filters.ok());
  return *filters;
}

TEST_CASE("events render as Docker's messages") {
  Json container =
      RenderEvent(Event("container", "start", "abc", {{"image", "busybox"}, {"name", "web"}}));
  CHECK(container["status"] == "start");
  CHECK(container["id"] == "abc");
  CHECK(container["from"] == "busybox");
  CHECK(container["Actor"]["Attributes"]["name"] == "web");
  CHECK(container["time"] == 1700000000);
  CHECK(container["timeNano"] == 1700000000123456789);
  CHECK(container["scope"] == "local");
  Json network = RenderEvent(Event("network", "create", "n1", {{"name", "net"}}));
  CHECK_FALSE(network.contains("status"));
  CHECK_FALSE(network.contains("from"));
}

TEST_CASE("event filters select as Docker's do") {
  auto start = Event("container", "start", std::string(64, 'a'),
                     {{"image", "busybox"}, {"name", "web"}, {"team", "blue"}});
  auto health = Event("container", "health_status: healthy", std::string(64, 'a'),
                      {{"image", "busybox"}, {"name", "web"}});
  auto tag = Event("image", "tag", "sha256:1", {{"name", "busybox:latest"}});
  CHECK(EventMatches(Parse(""), start));
  CHECK(EventMatches(Parse(R"({"type":["container"]})"), start));
  CHECK_FALSE(EventMatches(Parse(R"({"type":["image"]})"), start));
  CHECK(EventMatches(Parse(R"({"event":["health_status"]})"), health));
  CHECK(EventMatches(Parse(R"({"container":["web"]})"), start));
  CHECK(EventMatches(Parse(R"({"container":["aaaaaaaaaaaa"]})"), start));
  CHECK_FALSE(EventMatches(Parse(R"({"container":["web"]})"), tag));
  CHECK(EventMatches(Parse(R"({"image":["busybox"]})"), start));
  CHECK(EventMatches(Parse(R"({"label":["team=blue"]})"), start));
  CHECK_FALSE(EventMatches(Parse(R"({"label":["team=red"]})"), start));
  CHECK_FALSE(EventMatches(Parse(R"({"network":["net"]})"), start));
}

}  // namespace
}  // namespace berth::apiserver
