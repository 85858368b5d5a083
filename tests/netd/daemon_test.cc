// End to end: the berth-netd binary serves, and a sandbox survives SIGKILL.
#include <net/if.h>

#include <catch2/catch.hpp>

#include "common/fs.h"
#include "common/mountinfo.h"
#include "proto/network/v1/network.grpc.pb.h"
#include "tests/netd/test_util.h"
#include "tests/stored/daemon_process.h"

namespace berth {

using namespace network::v1;

TEST_CASE("berth-netd serves, and a SIGKILL keeps the container's namespace", "[netd][local]") {
  std::string dir = testing::MakeTempDir();
  testing::DaemonProcess daemon(testing::Runfile("netd/berth-netd"), dir + "/r", dir + "/e");
  REQUIRE(daemon.Start("netd"));
  auto stub = NetworkService::NewStub(UnixChannel(dir + "/e/grpc/netd.sock"));

  std::string path;
  {
    grpc::ClientContext context;
    CreateSandboxRequest request;
    request.set_container_id("c0ffee");
    request.set_network_mode("default");
    CreateSandboxResponse response;
    REQUIRE(stub->CreateSandbox(&context, request, &response).ok());
    path = response.netns_path();
  }
  ino_t inode = testing::Inode(path);
  CHECK(inode != testing::Inode("/proc/self/ns/net"));

  daemon.Kill(SIGKILL);
  REQUIRE(daemon.Start("netd"));
  CHECK(testing::Inode(path) == inode);
  CHECK((testing::LoopbackFlagsIn(path) & IFF_UP) != 0);
  {
    grpc::ClientContext context;
    RemoveSandboxRequest request;
    request.set_container_id("c0ffee");
    RemoveSandboxResponse response;
    REQUIRE(stub->RemoveSandbox(&context, request, &response).ok());
  }
  CHECK_FALSE(PathExists(path));
  int status = daemon.Kill(SIGTERM);
  CHECK(WIFEXITED(status));
  CHECK(WEXITSTATUS(status) == 0);
  umount2((dir + "/e/netd/netns").c_str(), MNT_DETACH);
  REQUIRE(RemoveAll(dir).ok());
}

}  // namespace berth
