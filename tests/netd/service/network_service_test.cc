// Drives netd's gRPC service the way runtimed will, over a unix socket.
#include "netd/service/network_service.h"

#include <net/if.h>

#include <catch2/catch.hpp>

#include "common/grpc_server.h"
#include "tests/netd/test_util.h"

namespace berth {

TEST_CASE("netd over gRPC: create and remove sandboxes", "[netd][local]") {
  std::string dir = testing::MakeTempDir();
  DaemonOptions options;
  options.component = "netd";
  options.root = dir;
  options.exec_root = dir + "/x";
  auto manager = netd::SandboxManager::Open(options.StateDir(), options.RunDir());
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
  CHECK(create("c", "container:abc", &host).error_code() == grpc::StatusCode::UNIMPLEMENTED);

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
