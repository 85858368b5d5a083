// A BridgeDriver decorator that takes deleting an endpoint's veth pair off
// the caller's path. The kernel pays an RCU grace period (~20 ms) for every
// deleted link, and `docker run --rm` waits for the container's removal,
// whose last step is detaching it; Docker pays that price on every run.
//
// Detaching while a Deferral lives on the calling thread (SandboxManager
// holds one while it removes a sandbox, whose namespace goes away with the
// container ends) queues the deletion and returns; a worker thread deletes
// the links in order. Other detaches (docker network disconnect of a running
// container, which must see its interface gone) happen at once. Everything that could see a queued
// link waits for the queue to empty first: attaching (the address just released may be handed out
// again, and a host end still on the bridge would answer ARP for it with the same MAC) and removing
// a bridge. After a crash nothing is left: the container end lives in the container's namespace,
// which SandboxManager unpins before it replies, and the kernel deletes both ends of the pair with
// the namespace.
#pragma once

#include <condition_variable>
#include <deque>
#include <mutex>
#include <string>
#include <thread>

#include "netd/network/driver.h"

namespace berth::netd {

class DeferredDetachDriver : public BridgeDriver {
 public:
  // `inner` outlives this driver.
  explicit DeferredDetachDriver(BridgeDriver* inner);
  // Finishes the queued detaches.
  ~DeferredDetachDriver() override;

  absl::Status EnsureBridge(const Network& network) override;
  absl::Status RemoveBridge(const Network& network) override;
  absl::Status AttachEndpoint(const Network& network, const Endpoint& endpoint,
                              const std::string& netns_path, bool default_route) override;
  // Under a Deferral: queues the detach and returns OK (the worker logs a
  // failure).
  absl::Status DetachEndpoint(const Endpoint& endpoint) override;
  bool BridgeExists(const std::string& name) override;

  // Blocks until every detach queued so far has finished.
  void Drain();

  // Marks the detaches of the constructing thread, until destroyed, as ones
  // whose namespace is going away.
  class Deferral {
   public:
    Deferral();
    ~Deferral();
    Deferral(const Deferral&) = delete;
    Deferral& operator=(const Deferral&) = delete;

   private:
    const bool outer_;
  };

 private:
  void Run();

  BridgeDriver* const inner_;
  std::mutex mu_;
  std::condition_variable changed_;
  std::deque<Endpoint> queue_;
  // Taken off the queue, still being detached.
  bool busy_ = false;
  bool stopping_ = false;
  std::thread worker_;
};

}  // namespace berth::netd
