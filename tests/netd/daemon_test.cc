// End to end: the berth-netd binary serves, and a SIGKILL keeps containers'
// namespaces, bridges and address leases while a clean stop removes the
// bridge. The test runs in a network namespace of its own (netd inherits
// it), so the bridge it makes is invisible to the host.
#include <net/if.h>
#include <sched.h>

#include <catch2/catch.hpp>

#include "common/fs.h"
#include "common/json.h"
#include "common/mountinfo.h"
#include "netd/sandbox/netns.h"
#include "proto/network/v1/network.grpc.pb.h"
#include "tests/netd/test_util.h"
#include "tests/stored/daemon_process.h"

namespace berth {

using namespace network::v1;

namespace {

std::string CreateSandbox(NetworkService::Stub* stub, const std::string& id,
                          const std::string& mode, std::string* settings) {
  grpc::ClientContext context;
  CreateSandboxRequest request;
  request.set_container_id(id);
  request.set_container_name("name-" + id);
  request.set_host_config_json(Json({{"NetworkMode", mode}}).dump());
  CreateSandboxResponse response;
  grpc::Status status = stub->CreateSandbox(&context, request, &response);
  INFO(status.error_message());
  REQUIRE(status.ok());
  if (settings != nullptr) *settings = response.network_settings_json();
  return response.netns_path();
}

}  // namespace

TEST_CASE("berth-netd serves, and a SIGKILL keeps the container's network", "[netd][local]") {
  // The main thread (which spawns netd) moves to a private network namespace.
  REQUIRE(unshare(CLONE_NEWNET) == 0);
  REQUIRE(netd::BringLoopbackUp().ok());

  std::string dir = testing::MakeTempDir();
  testing::DaemonProcess daemon(testing::Runfile("netd/berth-netd"), dir + "/r", dir + "/e");
  REQUIRE(daemon.Start("netd"));
  auto stub = NetworkService::NewStub(UnixChannel(dir + "/e/grpc/netd.sock"));
  // The default bridge exists as soon as netd serves.
  CHECK(if_nametoindex("berth0") != 0);

  std::string settings;
  std::string path = CreateSandbox(stub.get(), "c0ffee", "default", &settings);
  const std::string address = Json::parse(settings)["IPAddress"].get<std::string>();
  CHECK(address.rfind("172.17.0.", 0) == 0);
  ino_t inode = testing::Inode(path);
  CHECK(inode != testing::Inode("/proc/self/ns/net"));

  daemon.Kill(SIGKILL);
  REQUIRE(daemon.Start("netd"));
  CHECK(testing::Inode(path) == inode);
  CHECK((testing::LoopbackFlagsIn(path) & IFF_UP) != 0);
  CHECK(if_nametoindex("berth0") != 0);
  {
    // The lease survived: the same answer, and the next container gets another address.
    grpc::ClientContext context;
    GetSandboxRequest request;
    request.set_container_id("c0ffee");
    GetSandboxResponse response;
    REQUIRE(stub->GetSandbox(&context, request, &response).ok());
    CHECK(Json::parse(response.network_settings_json())["IPAddress"] == address);
  }
  std::string other;
  CreateSandbox(stub.get(), "beef", "bridge", &other);
  CHECK(Json::parse(other)["IPAddress"] != address);

  for (const char* id : {"c0ffee", "beef"}) {
    grpc::ClientContext context;
    RemoveSandboxRequest request;
    request.set_container_id(id);
    RemoveSandboxResponse response;
    REQUIRE(stub->RemoveSandbox(&context, request, &response).ok());
  }
  CHECK_FALSE(PathExists(path));
  int status = daemon.Kill(SIGTERM);
  CHECK(WIFEXITED(status));
  CHECK(WEXITSTATUS(status) == 0);
  // A clean stop without containers takes the bridge away.
  CHECK(if_nametoindex("berth0") == 0);
  umount2((dir + "/e/netd/netns").c_str(), MNT_DETACH);
  REQUIRE(RemoveAll(dir).ok());
}

}  // namespace berth
