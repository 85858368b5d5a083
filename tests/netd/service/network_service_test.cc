// Drives netd's gRPC service the way runtimed will, over a unix socket.
#include "netd/service/network_service.h"

#include <net/if.h>

#include <catch2/catch.hpp>

#include "common/grpc_server.h"
#include "common/json.h"
#include "tests/netd/fake_driver.h"
#include "tests/netd/test_util.h"

namespace berth {

TEST_CASE("netd over gRPC: create and remove sandboxes", "[netd][local]") {
  std::string dir = testing::MakeTempDir();
  DaemonOptions options;
  options.component = "netd";
  options.root = dir;
  options.exec_root = dir + "/x";
  testing::FakeBridgeDriver driver;
  netd::NetworkConfig config;
  config.bridge_name = "bt0";
  config.pools = {{*netd::ParseSubnet("10.52.0.0/16"), 24}};
  auto manager =
      netd::SandboxManager::Open(options.StateDir(), options.RunDir(), std::move(config), &driver);
  REQUIRE(manager.ok());
  netd::NetworkService service(manager->get());
  auto server = GrpcServer::Start(options, {&service});
  REQUIRE(server.ok());
  auto stub = network::v1::NetworkService::NewStub(UnixChannel(options.GrpcSocket()));

  auto create = [&](const std::string& id, const std::string& mode,
                    network::v1::CreateSandboxResponse* response) {
    grpc::ClientContext context;
    network::v1::CreateSandboxRequest request;
    request.set_container_id(id);
    request.set_network_mode(mode);
    return stub->CreateSandbox(&context, request, response);
  };
  network::v1::CreateSandboxResponse response;
  REQUIRE(create("abc", "none", &response).ok());
  CHECK(response.netns_path() == options.RunDir() + "/netns/abc");
  CHECK((testing::LoopbackFlagsIn(response.netns_path()) & IFF_UP) != 0);

  network::v1::CreateSandboxResponse host;
  REQUIRE(create("h", "host", &host).ok());
  CHECK(host.netns_path().empty());
  CHECK(create("n", "nosuchnet", &host).error_code() == grpc::StatusCode::NOT_FOUND);
  REQUIRE(create("c", "container:abc", &host).ok());
  CHECK(host.netns_path() == response.netns_path());
  {
    // The networks API: Docker's JSON both ways.
    grpc::ClientContext context;
    network::v1::CreateNetworkRequest request;
    request.set_request_json(R"({"Name": "n1", "IPAM": {"Config": [{"Subnet": "10.53.0.0/24"}]}})");
    network::v1::CreateNetworkResponse created;
    REQUIRE(stub->CreateNetwork(&context, request, &created).ok());
    CHECK(created.id().size() == 64);
  }
  {
    grpc::ClientContext context;
    network::v1::GetNetworkRequest request;
    request.set_network("n1");
    network::v1::GetNetworkResponse got;
    REQUIRE(stub->GetNetwork(&context, request, &got).ok());
    CHECK(Json::parse(got.network_json())["IPAM"]["Config"][0]["Subnet"] == "10.53.0.0/24");
  }
  {
    grpc::ClientContext context;
    network::v1::CreateSandboxResponse bridged;
    REQUIRE(create("b", "bridge", &bridged).ok());
    network::v1::ConnectContainerRequest request;
    request.set_network("n1");
    request.set_container_id("b");
    request.set_container_name("abc-name");
    request.set_endpoint_config_json(R"({"IPAMConfig": {"IPv4Address": "10.53.0.7"}})");
    network::v1::ConnectContainerResponse connected;
    REQUIRE(stub->ConnectContainer(&context, request, &connected).ok());
    CHECK(Json::parse(connected.network_settings_json())["Networks"]["n1"]["IPAddress"] ==
          "10.53.0.7");
  }
  {
    // --network none stays private.
    grpc::ClientContext context;
    network::v1::ConnectContainerRequest request;
    request.set_network("n1");
    request.set_container_id("abc");
    network::v1::ConnectContainerResponse connected;
    CHECK(stub->ConnectContainer(&context, request, &connected).error_code() ==
          grpc::StatusCode::FAILED_PRECONDITION);
  }
  {
    grpc::ClientContext context;
    network::v1::RemoveNetworkRequest request;
    request.set_network("n1");
    network::v1::RemoveNetworkResponse removed;
    grpc::Status status = stub->RemoveNetwork(&context, request, &removed);
    CHECK(status.error_code() == grpc::StatusCode::PERMISSION_DENIED);
  }
  {
    grpc::ClientContext context;
    network::v1::ListNetworksResponse listed;
    REQUIRE(stub->ListNetworks(&context, network::v1::ListNetworksRequest(), &listed).ok());
    CHECK(listed.network_json_size() == 4);
  }

  grpc::ClientContext context;
  network::v1::RemoveSandboxRequest remove;
  remove.set_container_id("abc");
  network::v1::RemoveSandboxResponse removed;
  REQUIRE(stub->RemoveSandbox(&context, remove, &removed).ok());
  CHECK_FALSE(PathExists(response.netns_path()));

  server->reset();
  manager->reset();
  umount2((options.RunDir() + "/netns").c_str(), MNT_DETACH);
  REQUIRE(RemoveAll(dir).ok());
}

}  // namespace berth
