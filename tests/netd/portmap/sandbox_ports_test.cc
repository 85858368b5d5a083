// The sandbox flow's calls to the port publisher: on the endpoint of the
// network the container starts on, rolled back with it, removed with it.
#include <catch2/catch.hpp>

#include "common/fs.h"
#include "netd/portmap/publisher.h"
#include "netd/sandbox/sandbox_manager.h"
#include "tests/netd/fake_driver.h"
#include "tests/netd/test_util.h"

namespace berth::netd {
namespace {

class FakePublisher : public PortPublisher {
 public:
  absl::Status PublishContainer(const std::string& container_id, const Json& config,
                                const Json& host_config, const std::string& container_ip,
                                const std::string& bridge) override {
    calls.push_back("publish " + container_id + " " + container_ip + " " + bridge + " " +
                    host_config["PortBindings"].dump());
    if (!fail.ok()) return fail;
    ports[container_id] = {{"80/tcp", {{{"HostIp", "0.0.0.0"}, {"HostPort", "8080"}}}}};
    return absl::OkStatus();
  }
  absl::Status Unpublish(const std::string& container_id) override {
    calls.push_back("unpublish " + container_id);
    ports.erase(container_id);
    return absl::OkStatus();
  }
  Json Ports(const std::string& container_id) override {
    auto it = ports.find(container_id);
    return it == ports.end() ? Json::object() : it->second;
  }
  std::vector<std::string> calls;
  std::map<std::string, Json> ports;
  absl::Status fail;
};

struct Fixture {
  Fixture() {
    dir = testing::MakeTempDir();
    NetworkConfig config;
    config.bridge_name = "bp0";
    config.pools = {{*ParseSubnet("10.52.0.0/16"), 24}};
    auto opened = SandboxManager::Open(dir + "/state", dir + "/run", config, &driver);
    INFO(opened.status().ToString());
    REQUIRE(opened.ok());
    manager = std::move(*opened);
    manager->SetEdge(&publisher, nullptr);
  }
  ~Fixture() {
    manager.reset();
    testing::CleanUp(dir);
  }
  absl::StatusOr<SandboxInfo> Create(const std::string& id, const std::string& mode) {
    SandboxRequest request;
    request.container_id = id;
    request.container_name = "n-" + id;
    request.host_config["NetworkMode"] = mode;
    request.host_config["PortBindings"] = {{"80/tcp", {{{"HostPort", "8080"}}}}};
    return manager->CreateSandbox(request);
  }
  std::string dir;
  testing::FakeBridgeDriver driver;
  FakePublisher publisher;
  std::unique_ptr<SandboxManager> manager;
};

TEST_CASE("ports are published on the container's bridge endpoint and shown in inspect",
          "[local]") {
  Fixture f;
  auto created = f.Create("c1", "bridge");
  REQUIRE(created.ok());
  REQUIRE(f.publisher.calls.size() == 1);
  const std::string ip = created->network_settings["IPAddress"].get<std::string>();
  CHECK(f.publisher.calls[0] == "publish c1 " + ip + " bp0 {\"80/tcp\":[{\"HostPort\":\"8080\"}]}");
  CHECK(created->network_settings["Ports"]["80/tcp"][0]["HostPort"] == "8080");
  auto got = f.manager->GetSandbox("c1");
  REQUIRE(got.ok());
  CHECK(got->network_settings["Ports"]["80/tcp"][0]["HostPort"] == "8080");

  REQUIRE(f.manager->RemoveSandbox("c1").ok());
  CHECK(f.publisher.calls.back() == "unpublish c1");
  CHECK(f.publisher.ports.empty());
}

TEST_CASE("no endpoint, no ports; a refused publish undoes the sandbox", "[local]") {
  Fixture f;
  REQUIRE(f.Create("n1", "none").ok());
  REQUIRE(f.Create("h1", "host").ok());
  CHECK(f.publisher.calls.empty());

  f.publisher.fail =
      absl::AlreadyExistsError("Bind for 0.0.0.0:8080 failed: port is already allocated");
  auto refused = f.Create("c2", "bridge");
  const std::string message(refused.status().message());
  CHECK(message.rfind("driver failed programming external connectivity on endpoint n-c2 (", 0) ==
        0);
  CHECK(message.find("): Bind for 0.0.0.0:8080 failed: port is already allocated") !=
        std::string::npos);
  CHECK(refused.status().code() == absl::StatusCode::kAlreadyExists);
  CHECK(f.publisher.calls.back() == "unpublish c2");
  CHECK(f.manager->networks()->EndpointsOf("c2")->empty());
  CHECK(f.manager->GetSandbox("c2").status().code() == absl::StatusCode::kNotFound);
  CHECK(f.driver.veths.empty());
}

}  // namespace
}  // namespace berth::netd
