#include "netd/sandbox/sandbox_manager.h"

#include <net/if.h>

#include <catch2/catch.hpp>

#include "common/fs.h"
#include "common/mountinfo.h"
#include "netd/sandbox/netns.h"
#include "netd/sandbox/network_mode.h"
#include "tests/netd/fake_driver.h"
#include "tests/netd/test_util.h"

namespace berth::netd {
namespace {

// Links are the fake driver's: these tests are about namespaces and rows.
testing::FakeBridgeDriver driver;

NetworkConfig Config() {
  NetworkConfig config;
  config.bridge_name = "bt0";
  config.pools = {{*ParseSubnet("10.51.0.0/16"), 24}};
  return config;
}

std::unique_ptr<SandboxManager> Open(const std::string& dir) {
  auto manager = SandboxManager::Open(dir + "/state", dir + "/run", Config(), &driver);
  INFO(manager.status().ToString());
  REQUIRE(manager.ok());
  return std::move(*manager);
}

absl::StatusOr<std::string> Create(SandboxManager& manager, const std::string& id,
                                   const std::string& mode, const std::string& name = "") {
  SandboxRequest request;
  request.container_id = id;
  request.container_name = name.empty() ? "n-" + id : name;
  request.host_config["NetworkMode"] = mode;
  absl::StatusOr<SandboxInfo> info = manager.CreateSandbox(request);
  if (!info.ok()) return info.status();
  return info->netns_path;
}

}  // namespace

TEST_CASE("network modes are parsed as Docker names them", "[netd]") {
  CHECK(ParseNetworkMode("").kind == NetworkMode::kBridge);
  CHECK(ParseNetworkMode("default").kind == NetworkMode::kBridge);
  CHECK(ParseNetworkMode("bridge").kind == NetworkMode::kBridge);
  CHECK(ParseNetworkMode("none").kind == NetworkMode::kNone);
  CHECK(ParseNetworkMode("host").kind == NetworkMode::kHost);
  NetworkMode shared = ParseNetworkMode("container:web");
  CHECK(shared.kind == NetworkMode::kContainer);
  CHECK(shared.target == "web");
  NetworkMode user = ParseNetworkMode("backend");
  CHECK(user.kind == NetworkMode::kUser);
  CHECK(user.target == "backend");
}

TEST_CASE("sandboxes per network mode", "[netd][local]") {
  std::string dir = testing::MakeTempDir();
  auto manager = Open(dir);

  auto host = Create(*manager, "h", "host");
  REQUIRE(host.ok());
  CHECK(host->empty());
  auto shared = Create(*manager, "s", "container:web");
  CHECK(shared.status().code() == absl::StatusCode::kFailedPrecondition);
  auto user = Create(*manager, "u", "backend");
  CHECK(user.status().code() == absl::StatusCode::kNotFound);
  CHECK(std::string(user.status().message()) == "network backend not found");
  CHECK(Create(*manager, "../x", "none").status().code() == absl::StatusCode::kInvalidArgument);

  for (const char* mode : {"none", "default", "bridge"}) {
    INFO(mode);
    std::string id = std::string("c-") + mode;
    auto path = Create(*manager, id, mode);
    REQUIRE(path.ok());
    CHECK(*path == dir + "/run/netns/" + id);
    CHECK(testing::Inode(*path) != testing::Inode("/proc/self/ns/net"));
    CHECK((testing::LoopbackFlagsIn(*path) & IFF_UP) != 0);
    // Idempotent: the same namespace, not a new one.
    ino_t inode = testing::Inode(*path);
    CHECK(*Create(*manager, id, mode) == *path);
    CHECK(testing::Inode(*path) == inode);
  }
  CHECK(manager->ListSandboxes()->size() == 3);
  // The bridge modes joined the default network; none did not.
  CHECK(manager->networks()->EndpointsOf("c-default")->size() == 1);
  CHECK(manager->networks()->EndpointsOf("c-bridge")->size() == 1);
  CHECK(manager->networks()->EndpointsOf("c-none")->empty());
  auto info = manager->GetSandbox("c-bridge");
  REQUIRE(info.ok());
  CHECK(info->network_settings["IPAddress"] == "10.51.0.3");
  CHECK(info->network_settings["Networks"]["bridge"]["Gateway"] == "10.51.0.1");
  CHECK(manager->GetSandbox("c-none")->network_settings["Networks"].contains("none"));

  // container:<name> joins another sandbox's namespace without a new one.
  auto joined = Create(*manager, "j", "container:n-c-bridge");
  REQUIRE(joined.ok());
  CHECK(*joined == dir + "/run/netns/c-bridge");
  REQUIRE(manager->RemoveSandbox("j").ok());
  CHECK(testing::Inode(*joined) != 0);

  for (const char* id : {"c-none", "c-default", "c-bridge", "h", "never"}) {
    REQUIRE(manager->RemoveSandbox(id).ok());
    REQUIRE(manager->RemoveSandbox(id).ok());
  }
  CHECK(manager->ListSandboxes()->empty());
  CHECK(manager->networks()->AllEndpoints()->empty());
  CHECK(driver.veths.empty());
  CHECK_FALSE(testing::MountedUnder(dir + "/run/netns"));
  CHECK_FALSE(PathExists(dir + "/run/netns/c-none"));
  manager.reset();
  testing::CleanUp(dir);
}

TEST_CASE("a renamed sandbox answers to its new name", "[netd][local]") {
  std::string dir = testing::MakeTempDir();
  auto manager = Open(dir);
  REQUIRE(Create(*manager, "r1", "bridge", "old").ok());
  auto settings = manager->Rename("r1", "new");
  REQUIRE(settings.ok());
  CHECK((*settings)["Networks"]["bridge"]["IPAddress"] == "10.51.0.2");
  CHECK(manager->ListSandboxes()->at(0).container_name == "new");
  CHECK(manager->networks()->EndpointsOf("r1")->at(0).container_name == "new");
  // container:<name> finds it by the new name only.
  CHECK(Create(*manager, "j1", "container:old").status().code() ==
        absl::StatusCode::kFailedPrecondition);
  auto joined = Create(*manager, "j2", "container:new");
  REQUIRE(joined.ok());
  CHECK(*joined == dir + "/run/netns/r1");
  CHECK(manager->Rename("nosuch", "x").status().code() == absl::StatusCode::kNotFound);
  CHECK(manager->Rename("../x", "x").status().code() == absl::StatusCode::kInvalidArgument);
  for (const char* id : {"j2", "r1"}) REQUIRE(manager->RemoveSandbox(id).ok());
  manager.reset();
  testing::CleanUp(dir);
}

TEST_CASE("a clean shutdown leaves no mount once no sandbox is left", "[netd][local]") {
  std::string dir = testing::MakeTempDir();
  auto manager = Open(dir);
  REQUIRE(Create(*manager, "kept", "none").ok());
  // A running container's namespace keeps the directory mounted.
  REQUIRE(manager->Close().ok());
  CHECK(*IsMountPoint(dir + "/run/netns"));
  CHECK(*IsMountPoint(dir + "/run/netns/kept"));
  REQUIRE(manager->RemoveSandbox("kept").ok());
  REQUIRE(manager->Close().ok());
  CHECK_FALSE(*IsMountPoint(dir + "/run/netns"));
  manager.reset();
  // The next start makes it private again.
  manager = Open(dir);
  CHECK(*IsMountPoint(dir + "/run/netns"));
  REQUIRE(manager->Close().ok());
  manager.reset();
  testing::CleanUp(dir);
}

TEST_CASE("restart keeps pinned sandboxes and clears what a crash left", "[netd][local]") {
  std::string dir = testing::MakeTempDir();
  std::string live, lost;
  ino_t live_inode = 0;
  {
    auto manager = Open(dir);
    live = *Create(*manager, "live", "bridge");
    lost = *Create(*manager, "lost", "bridge");
    live_inode = testing::Inode(live);
  }
  // A row whose namespace is gone (unpinned behind our back), and a pinned
  // namespace whose row was never written (crash between the two).
  REQUIRE(RemovePinnedNetns(lost).ok());
  std::string orphan = dir + "/run/netns/orphan";
  REQUIRE(CreatePinnedNetns(orphan).ok());
  // A stale empty file, e.g. from a crash before the namespace was pinned.
  REQUIRE(WriteFileAtomic(dir + "/run/netns/stale", "").ok());

  auto manager = Open(dir);
  // The lost container's address lease went with its sandbox.
  CHECK(manager->networks()->EndpointsOf("lost")->empty());
  CHECK(manager->networks()->EndpointsOf("live")->size() == 1);
  auto sandboxes = manager->ListSandboxes();
  REQUIRE(sandboxes.ok());
  REQUIRE(sandboxes->size() == 1);
  CHECK((*sandboxes)[0].container_id == "live");
  CHECK(testing::Inode(live) == live_inode);
  CHECK(*Create(*manager, "live", "bridge") == live);
  CHECK(testing::Inode(live) == live_inode);
  CHECK_FALSE(PathExists(orphan));
  CHECK_FALSE(*IsMountPoint(orphan));
  CHECK_FALSE(PathExists(dir + "/run/netns/stale"));

  REQUIRE(manager->RemoveSandbox("live").ok());
  CHECK_FALSE(testing::MountedUnder(dir + "/run/netns"));
  manager.reset();
  testing::CleanUp(dir);
}

TEST_CASE("a sandbox whose endpoints a cut-short removal released starts over", "[netd][local]") {
  std::string dir = testing::MakeTempDir();
  auto manager = Open(dir);
  auto path = Create(*manager, "cut", "bridge");
  REQUIRE(path.ok());
  const ino_t before = testing::Inode(*path);
  // What a crash inside RemoveSandbox leaves: the row and the pinned
  // namespace, the endpoints (leases) already released.
  REQUIRE(manager->networks()->DisconnectAll("cut").ok());
  REQUIRE(manager->networks()->EndpointsOf("cut")->empty());

  REQUIRE(*Create(*manager, "cut", "bridge") == *path);
  CHECK(testing::Inode(*path) != before);
  CHECK(manager->networks()->EndpointsOf("cut")->size() == 1);
  // A none sandbox has no endpoints to lose: it is kept.
  auto none = Create(*manager, "quiet", "none");
  REQUIRE(none.ok());
  const ino_t quiet = testing::Inode(*none);
  CHECK(*Create(*manager, "quiet", "none") == *none);
  CHECK(testing::Inode(*none) == quiet);

  for (const char* id : {"cut", "quiet"}) REQUIRE(manager->RemoveSandbox(id).ok());
  CHECK(driver.veths.empty());
  manager.reset();
  testing::CleanUp(dir);
}

}  // namespace berth::netd
