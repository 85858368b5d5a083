#include "apiserver/handlers/networks.h"

#include <catch2/catch.hpp>
#include <map>

#include "apiserver/api.h"
#include "apiserver/render.h"
#include "common/json.h"
#include "tests/apiserver/fakes.h"

namespace berth::apiserver {
namespace {

using testing::FakeContainers;
using testing::FakeExchange;
using testing::FakeImages;

// netd's networks in memory, with its error words.
class FakeNetworks : public NetworkBackend {
 public:
  FakeNetworks() {
    for (const char* name : {"bridge", "host", "none"}) Add(name, std::string(64, name[0]));
  }
  void Add(const std::string& name, const std::string& id, Json labels = Json::object()) {
    networks[name] = {{"Name", name},
                      {"Id", id},
                      {"Driver", name == "host"   ? "host"
                                 : name == "none" ? "null"
                                                  : "bridge"},
                      {"Labels", labels},
                      {"Containers", Json::object()}};
  }
  absl::StatusOr<std::string> CreateNetwork(const Json& request) override {
    const std::string name = request.value("Name", "");
    if (networks.count(name)) {
      return absl::AlreadyExistsError("network with name " + name + " already exists");
    }
    Add(name, std::string(64, 'a' + networks.size()), request.value("Labels", Json::object()));
    return networks[name]["Id"].get<std::string>();
  }
  absl::StatusOr<Json> GetNetwork(const std::string& name) override {
    for (auto& [n, network] : networks) {
      if (n == name || network["Id"] == name) return network;
    }
    return absl::NotFoundError("network " + name + " not found");
  }
  absl::StatusOr<std::vector<Json>> ListNetworks() override {
    std::vector<Json> out;
    for (auto& [name, network] : networks) out.push_back(network);
    return out;
  }
  absl::Status RemoveNetwork(const std::string& name) override {
    if (!networks.erase(name)) return absl::NotFoundError("network " + name + " not found");
    return absl::OkStatus();
  }
  absl::StatusOr<std::vector<std::string>> PruneNetworks(const Json& filters) override {
    last_prune = filters;
    return std::vector<std::string>{"old"};
  }
  absl::Status ConnectContainer(const std::string& network, const std::string& container,
                                const Json& endpoint) override {
    connects.push_back(network + " " + container + " " + endpoint.dump());
    return absl::OkStatus();
  }
  absl::Status DisconnectContainer(const std::string& network, const std::string& container,
                                   bool force) override {
    connects.push_back("-" + network + " " + container + (force ? " force" : ""));
    return absl::OkStatus();
  }
  std::map<std::string, Json> networks;
  std::vector<std::string> connects;
  Json last_prune;
};

struct Fixture {
  FakeContainers containers;
  FakeImages images;
  FakeNetworks networks;
  Api api{&containers, &images, HostInfo{}};

  Fixture() { api.EnableNetworks(&networks); }

  std::unique_ptr<FakeExchange> Call(const std::string& method, const std::string& target,
                                     const std::string& body = "") {
    auto exchange = std::make_unique<FakeExchange>(method, target, body);
    api.Handle(*exchange);
    return exchange;
  }
  std::vector<std::string> Names(const std::string& query) {
    auto listed = Call("GET", "/networks" + query);
    REQUIRE(listed->status == 200);
    std::vector<std::string> names;
    for (const Json& n : Json::parse(listed->body)) names.push_back(n["Name"]);
    return names;
  }
};

}  // namespace

TEST_CASE_METHOD(Fixture, "network create, list with filters, inspect, remove") {
  auto created = Call("POST", "/v1.50/networks/create", R"({"Name":"n1","Labels":{"team":"a"}})");
  REQUIRE(created->status == 201);
  Json body = Json::parse(created->body);
  CHECK(body["Id"].get<std::string>().size() == 64);
  CHECK(body["Warning"] == "");
  auto duplicate = Call("POST", "/networks/create", R"({"Name":"n1"})");
  CHECK(duplicate->status == 409);
  CHECK(Json::parse(duplicate->body)["message"] == "network with name n1 already exists");

  CHECK(Names("") == std::vector<std::string>{"bridge", "host", "n1", "none"});
  CHECK(Names(R"(?filters={"type":{"custom":true}})") == std::vector<std::string>{"n1"});
  CHECK(Names(R"(?filters={"type":{"builtin":true}})").size() == 3);
  CHECK(Names(R"(?filters={"label":{"team=a":true}})") == std::vector<std::string>{"n1"});
  CHECK(Names(R"(?filters={"name":{"ri":true}})") == std::vector<std::string>{"bridge"});
  CHECK(Names(R"(?filters={"driver":{"null":true}})") == std::vector<std::string>{"none"});
  CHECK(Names(R"(?filters={"id":{"hhh":true}})") == std::vector<std::string>{"host"});
  CHECK(Names(R"(?filters={"dangling":{"true":true}})") == std::vector<std::string>{"n1"});
  CHECK(Call("GET", R"(/networks?filters={"type":{"odd":true}})")->status == 400);
  CHECK(Call("GET", R"(/networks?filters={"bogus":{"x":true}})")->status == 400);

  auto inspect = Call("GET", "/networks/n1");
  REQUIRE(inspect->status == 200);
  CHECK(Json::parse(inspect->body)["Name"] == "n1");
  auto missing = Call("GET", "/networks/nope");
  CHECK(missing->status == 404);
  CHECK(Json::parse(missing->body)["message"] == "network nope not found");
  CHECK(Call("DELETE", "/networks/n1")->status == 204);
  CHECK(Call("DELETE", "/networks/n1")->status == 404);
}

TEST_CASE_METHOD(Fixture, "connect, disconnect and prune") {
  auto connected = Call("POST", "/networks/" + std::string(64, 'b') + "/connect",
                        R"({"Container":"web","EndpointConfig":{"Aliases":["a"]}})");
  CHECK(connected->status == 200);
  // runtimed is told the network's name, whatever the client called it.
  REQUIRE(networks.connects.size() == 1);
  CHECK(networks.connects[0] == R"(bridge web {"Aliases":["a"]})");
  CHECK(
      Call("POST", "/networks/bridge/disconnect", R"({"Container":"web","Force":true})")->status ==
      200);
  CHECK(networks.connects[1] == "-bridge web force");
  CHECK(Call("POST", "/networks/nope/connect", R"({"Container":"web"})")->status == 404);
  CHECK(Call("POST", "/networks/bridge/connect", R"({})")->status == 400);

  auto pruned = Call("POST", R"(/networks/prune?filters={"label!":{"keep":true}})");
  REQUIRE(pruned->status == 200);
  CHECK(Json::parse(pruned->body)["NetworksDeleted"] == Json({"old"}));
  CHECK(networks.last_prune == Json::parse(R"({"label!":{"keep":true}})"));
  CHECK(Call("POST", R"(/networks/prune?filters={"dangling":{"true":true}})")->status == 400);
}

}  // namespace berth::apiserver

namespace berth::apiserver {

TEST_CASE("NetworkSettings in inspect and ps", "[apiserver]") {
  runtime::v1::Container c;
  c.set_id(std::string(64, 'c'));
  c.set_name("web");
  c.set_host_config_json(R"({"NetworkMode":"default"})");
  c.set_networking_config_json(R"({"EndpointsConfig":{"default":{},"back":{}}})");
  // Not running: the recorded networks, without addresses.
  Json networks = RenderContainerInspect(c)["NetworkSettings"]["Networks"];
  CHECK(networks.size() == 2);
  CHECK(networks["bridge"]["IPAddress"] == "");
  CHECK(networks.contains("back"));
  CHECK(RenderContainerSummary(c, false, 0)["NetworkSettings"]["Networks"].size() == 2);

  // Running: netd's document as is.
  c.set_network_settings_json(
      R"({"IPAddress":"10.0.0.2","Networks":{"bridge":{"IPAddress":"10.0.0.2"}}})");
  Json settings = RenderContainerInspect(c)["NetworkSettings"];
  CHECK(settings["IPAddress"] == "10.0.0.2");
  CHECK(settings["Networks"].size() == 1);
  CHECK(RenderContainerSummary(c, false, 0)["NetworkSettings"]["Networks"]["bridge"]["IPAddress"] ==
        "10.0.0.2");
}

}  // namespace berth::apiserver
