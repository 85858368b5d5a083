// /networks/...: create, list (filters), inspect, remove, prune, and
// connect/disconnect of containers. netd renders the Network objects; the
// handlers filter and pass them through.
#pragma once

#include <string>

#include "apiserver/backends/network_backend.h"
#include "apiserver/filters.h"
#include "apiserver/router.h"
#include "common/json.h"

namespace berth::apiserver {

class NetworkHandlers {
 public:
  explicit NetworkHandlers(NetworkBackend* networks) : networks_(networks) {}

  void Register(Router& router);

  absl::Status Create(Exchange& exchange);
  absl::Status List(Exchange& exchange);
  absl::Status Inspect(Exchange& exchange, const std::string& name);
  absl::Status Remove(Exchange& exchange, const std::string& name);
  absl::Status Prune(Exchange& exchange);
  absl::Status Connect(Exchange& exchange, const std::string& name);
  absl::Status Disconnect(Exchange& exchange, const std::string& name);

 private:
  NetworkBackend* networks_;
};

// Whether a Network object passes GET /networks' filters (name, id, label,
// driver, type, scope, dangling); an unknown filter is an error.
absl::StatusOr<bool> NetworkMatches(const Json& network, const Filters& filters);

}  // namespace berth::apiserver
