#include "netd/network/deferred_detach_driver.h"

#include "common/log.h"

namespace berth::netd {
namespace {

thread_local bool deferring = false;

}  // namespace

DeferredDetachDriver::Deferral::Deferral() : outer_(deferring) { deferring = true; }

DeferredDetachDriver::Deferral::~Deferral() { deferring = outer_; }

DeferredDetachDriver::DeferredDetachDriver(BridgeDriver* inner)
    : inner_(inner), worker_([this] { Run(); }) {}

DeferredDetachDriver::~DeferredDetachDriver() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stopping_ = true;
  }
  changed_.notify_all();
  worker_.join();
}

void DeferredDetachDriver::Run() {
  std::unique_lock<std::mutex> lock(mu_);
  while (true) {
    changed_.wait(lock, [this] { return stopping_ || !queue_.empty(); });
    // Stopping still empties the queue: a clean shutdown leaves no link.
    if (queue_.empty()) return;
    Endpoint endpoint = std::move(queue_.front());
    queue_.pop_front();
    busy_ = true;
    lock.unlock();
    absl::Status status = inner_->DetachEndpoint(endpoint);
    if (!status.ok()) {
      spdlog::warn("deleting {} of container {}: {}", endpoint.host_interface,
                   endpoint.container_id, status.ToString());
    }
    lock.lock();
    busy_ = false;
    changed_.notify_all();
  }
}

void DeferredDetachDriver::Drain() {
  std::unique_lock<std::mutex> lock(mu_);
  changed_.wait(lock, [this] { return queue_.empty() && !busy_; });
}

absl::Status DeferredDetachDriver::DetachEndpoint(const Endpoint& endpoint) {
  if (!deferring) return inner_->DetachEndpoint(endpoint);
  {
    std::lock_guard<std::mutex> lock(mu_);
    queue_.push_back(endpoint);
  }
  changed_.notify_all();
  return absl::OkStatus();
}

absl::Status DeferredDetachDriver::AttachEndpoint(const Network& network, const Endpoint& endpoint,
                                                  const std::string& netns_path,
                                                  bool default_route) {
  Drain();
  return inner_->AttachEndpoint(network, endpoint, netns_path, default_route);
}

absl::Status DeferredDetachDriver::EnsureBridge(const Network& network) {
  return inner_->EnsureBridge(network);
}

absl::Status DeferredDetachDriver::RemoveBridge(const Network& network) {
  Drain();
  return inner_->RemoveBridge(network);
}

bool DeferredDetachDriver::BridgeExists(const std::string& name) {
  return inner_->BridgeExists(name);
}

}  // namespace berth::netd
