#include "apiserver/handlers/prune.h"

#include <catch2/catch.hpp>

#include "apiserver/api.h"
#include "tests/apiserver/fakes.h"

namespace berth::apiserver {
namespace {

namespace rt = ::berth::runtime::v1;

rt::Container Make(const std::string& id, const std::string& status, int64_t created_seconds,
                   const std::string& config_json = "{}") {
  rt::Container c;
  c.set_id(id);
  c.mutable_state()->set_status(status);
  c.set_created(created_seconds * 1000000000);
  c.set_config_json(config_json);
  return c;
}

TEST_CASE("container prune takes what is not running, filtered by until and labels") {
  std::vector<rt::Container> all = {
      Make("created", "created", 100), Make("exited", "exited", 100),
      Make("dead", "dead", 100),       Make("running", "running", 100),
      Make("paused", "paused", 100),   Make("restarting", "restarting", 100),
      Make("new", "exited", 1000),     Make("lab", "exited", 100, R"({"Labels":{"a":"1"}})"),
  };
  CHECK(*ContainersToPrune(all, "", 2000) ==
        std::vector<std::string>{"created", "exited", "dead", "new", "lab"});
  CHECK(*ContainersToPrune(all, R"({"until":{"500":true}})", 2000) ==
        std::vector<std::string>{"created", "exited", "dead", "lab"});
  CHECK(*ContainersToPrune(all, R"({"label":{"a=1":true}})", 2000) ==
        std::vector<std::string>{"lab"});
  CHECK(*ContainersToPrune(all, R"({"label!":{"a":true}})", 2000) ==
        std::vector<std::string>{"created", "exited", "dead", "new"});
  CHECK(ContainersToPrune(all, R"({"nope":{"x":true}})", 2000).status().message() ==
        "invalid filter 'nope'");
}

TEST_CASE("POST /containers/prune removes them and answers Docker's body") {
  testing::FakeContainers containers;
  testing::FakeImages images;
  Api api(&containers, &images, HostInfo{});
  containers.Add(std::string(64, 'a'), "gone", "exited", "{}");
  containers.Add(std::string(64, 'b'), "up", "running", "{}");
  testing::FakeExchange exchange("POST", "/containers/prune");
  api.Handle(exchange);
  CHECK(exchange.status == 200);
  Json body = ParseJson(exchange.body).value();
  CHECK(body["ContainersDeleted"] == Json::array({std::string(64, 'a')}));
  CHECK(body["SpaceReclaimed"] == 0);
  CHECK(containers.last_remove.id() == std::string(64, 'a'));
  containers.containers.erase(std::string(64, 'a'));
  testing::FakeExchange again("POST", "/containers/prune");
  api.Handle(again);
  CHECK(ParseJson(again.body).value()["ContainersDeleted"].is_null());
}

}  // namespace
}  // namespace berth::apiserver
