#include "netd/network/deferred_detach_driver.h"

#include <atomic>
#include <catch2/catch.hpp>
#include <chrono>
#include <condition_variable>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

namespace berth::netd {
namespace {

// Records the calls; a detach can be held until the test releases it.
class GatedDriver : public BridgeDriver {
 public:
  absl::Status EnsureBridge(const Network&) override { return absl::OkStatus(); }
  absl::Status RemoveBridge(const Network& network) override {
    Record("remove " + network.bridge);
    return absl::OkStatus();
  }
  absl::Status AttachEndpoint(const Network&, const Endpoint& endpoint, const std::string&,
                              bool) override {
    Record("attach " + endpoint.host_interface);
    return absl::OkStatus();
  }
  absl::Status DetachEndpoint(const Endpoint& endpoint) override {
    std::unique_lock<std::mutex> lock(mu);
    detaching_thread = std::this_thread::get_id();
    cv.wait(lock, [&] { return open; });
    calls.push_back("detach " + endpoint.host_interface);
    return fail_detach;
  }
  bool BridgeExists(const std::string&) override { return false; }

  void Record(const std::string& call) {
    std::lock_guard<std::mutex> lock(mu);
    calls.push_back(call);
  }
  std::vector<std::string> Calls() {
    std::lock_guard<std::mutex> lock(mu);
    return calls;
  }
  void Open() {
    std::lock_guard<std::mutex> lock(mu);
    open = true;
    cv.notify_all();
  }

  std::mutex mu;
  std::condition_variable cv;
  bool open = true;
  std::vector<std::string> calls;
  std::thread::id detaching_thread;
  absl::Status fail_detach;
};

Endpoint Veth(const std::string& name) {
  Endpoint endpoint;
  endpoint.host_interface = name;
  endpoint.container_id = "c";
  return endpoint;
}

TEST_CASE("detaches outside a Deferral happen before the call returns") {
  GatedDriver inner;
  DeferredDetachDriver driver(&inner);
  REQUIRE(driver.DetachEndpoint(Veth("veth1")).ok());
  CHECK(inner.Calls() == std::vector<std::string>{"detach veth1"});
  CHECK(inner.detaching_thread == std::this_thread::get_id());
}

TEST_CASE("detaches under a Deferral return at once and finish on another thread") {
  GatedDriver inner;
  inner.open = false;
  DeferredDetachDriver driver(&inner);
  {
    DeferredDetachDriver::Deferral deferral;
    REQUIRE(driver.DetachEndpoint(Veth("veth1")).ok());
    REQUIRE(driver.DetachEndpoint(Veth("veth2")).ok());
  }
  CHECK(inner.Calls().empty());
  inner.Open();
  driver.Drain();
  CHECK(inner.Calls() == std::vector<std::string>{"detach veth1", "detach veth2"});
  CHECK(inner.detaching_thread != std::this_thread::get_id());
}

TEST_CASE("a Deferral ends with its scope and nests") {
  GatedDriver inner;
  DeferredDetachDriver driver(&inner);
  {
    DeferredDetachDriver::Deferral outer;
    { DeferredDetachDriver::Deferral inner_scope; }
    REQUIRE(driver.DetachEndpoint(Veth("veth1")).ok());
    driver.Drain();
    CHECK(inner.detaching_thread != std::this_thread::get_id());
  }
  REQUIRE(driver.DetachEndpoint(Veth("veth2")).ok());
  CHECK(inner.detaching_thread == std::this_thread::get_id());
}

TEST_CASE("a Deferral on one thread does not defer another thread's detaches") {
  GatedDriver inner;
  DeferredDetachDriver driver(&inner);
  DeferredDetachDriver::Deferral deferral;
  std::thread other([&] { REQUIRE(driver.DetachEndpoint(Veth("veth1")).ok()); });
  const std::thread::id other_id = other.get_id();
  other.join();
  CHECK(inner.Calls() == std::vector<std::string>{"detach veth1"});
  CHECK(inner.detaching_thread == other_id);
}

TEST_CASE("attaching and removing a bridge wait for the queued detaches") {
  GatedDriver inner;
  inner.open = false;
  DeferredDetachDriver driver(&inner);
  {
    DeferredDetachDriver::Deferral deferral;
    REQUIRE(driver.DetachEndpoint(Veth("veth1")).ok());
  }
  std::atomic<bool> attached{false};
  std::thread attacher([&] {
    Network network;
    network.bridge = "br0";
    REQUIRE(driver.AttachEndpoint(network, Veth("veth2"), "/ns", true).ok());
    REQUIRE(driver.RemoveBridge(network).ok());
    attached = true;
  });
  std::this_thread::sleep_for(std::chrono::milliseconds(50));
  CHECK_FALSE(attached);
  inner.Open();
  attacher.join();
  CHECK(inner.Calls() == std::vector<std::string>{"detach veth1", "attach veth2", "remove br0"});
}

TEST_CASE("a failed deferred detach is logged and does not stop the queue") {
  GatedDriver inner;
  inner.fail_detach = absl::InternalError("boom");
  DeferredDetachDriver driver(&inner);
  {
    DeferredDetachDriver::Deferral deferral;
    REQUIRE(driver.DetachEndpoint(Veth("veth1")).ok());
    REQUIRE(driver.DetachEndpoint(Veth("veth2")).ok());
  }
  driver.Drain();
  CHECK(inner.Calls() == std::vector<std::string>{"detach veth1", "detach veth2"});
}

TEST_CASE("destroying the driver finishes the queued detaches") {
  GatedDriver inner;
  {
    DeferredDetachDriver driver(&inner);
    DeferredDetachDriver::Deferral deferral;
    for (int i = 0; i < 20; ++i) {
      REQUIRE(driver.DetachEndpoint(Veth("veth" + std::to_string(i))).ok());
    }
  }
  CHECK(inner.Calls().size() == 20);
}

}  // namespace
}  // namespace berth::netd
