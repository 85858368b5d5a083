// ContainerManager asks netd for the network sandbox while stored mounts the
// root filesystem; whichever of the two fails, the other is undone.
#include <catch2/catch.hpp>
#include <chrono>
#include <memory>
#include <thread>

#include "runtimed/daemon/container_manager.h"
#include "tests/runtimed/daemon/fakes.h"
#include "tests/runtimed/daemon/test_util.h"

namespace berth::runtimed {
namespace {

using namespace std::chrono_literals;

const char kImage[] = R"({"config":{"Env":["PATH=/bin"],"Cmd":["sh"]}})";

struct Fixture {
  testing::TempDir dir;
  testing::FakeStorage storage{dir.path() + "/mnt"};
  testing::FakeNetwork network;
  testing::FakeLauncher launcher;
  std::unique_ptr<ContainerManager> manager;

  Fixture() {
    ManagerOptions options = testing::TestManagerOptions(dir.path());
    auto opened = ContainerManager::Open(options, &storage, &network, &launcher);
    REQUIRE(opened.ok());
    manager = *std::move(opened);
  }

  std::string Create() {
    runtime::v1::CreateContainerRequest request;
    request.set_config_json(R"({"Cmd":["true"]})");
    request.set_host_config_json("{}");
    request.mutable_image()->set_id("sha256:" + std::string(64, 'e'));
    request.mutable_image()->set_reference("busybox");
    request.mutable_image()->set_config_json(kImage);
    request.mutable_image()->set_top_chain_id("sha256:" + std::string(64, 'c'));
    auto response = manager->Create(request);
    REQUIRE(response.ok());
    return response->id();
  }

  bool HasSandbox(const std::string& id) {
    std::lock_guard<std::mutex> lock(network.mu);
    return network.sandboxes.count(id) != 0;
  }
};

TEST_CASE("the network sandbox is created while the root filesystem mounts", "[start]") {
  Fixture f;
  const std::string id = f.Create();
  bool seen_during_mount = false;
  f.storage.on_mount = [&](const std::string& mounting) {
    // A sequential start would ask netd only after this returns.
    for (int i = 0; i < 500 && !f.HasSandbox(mounting); ++i) std::this_thread::sleep_for(10ms);
    seen_during_mount = f.HasSandbox(mounting);
  };
  REQUIRE(f.manager->Start(id).ok());
  CHECK(seen_during_mount);
  CHECK(f.HasSandbox(id));
  CHECK(f.storage.mounted.count(id) == 1);
}

TEST_CASE("a sandbox that cannot be created unmounts the root filesystem", "[start]") {
  Fixture f;
  const std::string id = f.Create();
  f.network.fail_create = absl::NotFoundError("network nope not found");
  auto started = f.manager->Start(id);
  REQUIRE_FALSE(started.ok());
  CHECK(started.status().message() == "network nope not found");
  CHECK(f.storage.mounted.empty());
  CHECK(f.network.sandboxes.empty());
  CHECK(f.manager->Get(id)->state().status() == "created");
}

TEST_CASE("a root filesystem that cannot be mounted removes the sandbox", "[start]") {
  Fixture f;
  const std::string id = f.Create();
  f.storage.fail_mount = absl::UnavailableError("stored is not serving");
  auto started = f.manager->Start(id);
  REQUIRE_FALSE(started.ok());
  CHECK(started.status().message() == "stored is not serving");
  CHECK(f.network.sandboxes.empty());
  CHECK(f.storage.mounted.empty());
}

TEST_CASE("an exit releases both the sandbox and the root filesystem", "[start]") {
  Fixture f;
  const std::string id = f.Create();
  REQUIRE(f.manager->Start(id).ok());
  REQUIRE(f.HasSandbox(id));
  std::shared_ptr<testing::FakeContainer> shim = f.launcher.Get(id);
  REQUIRE(shim != nullptr);
  shim->Exit(0);
  for (int i = 0; i < 500 && f.HasSandbox(id); ++i) std::this_thread::sleep_for(10ms);
  CHECK_FALSE(f.HasSandbox(id));
  std::lock_guard<std::mutex> lock(f.storage.mu);
  CHECK(f.storage.mounted.count(id) == 0);
}

}  // namespace
}  // namespace berth::runtimed
