// `berth status` and `berth restart <component>`: talk to each daemon's
// health and component-info services over its gRPC socket.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/statusor.h"

namespace berth::cli {

struct ComponentHealth {
  std::string name;
  bool serving = false;
  std::string version;
  int64_t pid = 0;
  int64_t uptime_seconds = 0;
  // Why it is not serving (unreachable, NOT_SERVING, ...).
  std::string problem;
};

ComponentHealth CheckComponent(const std::string& exec_root, const std::string& name);
std::vector<ComponentHealth> CheckAll(const std::string& exec_root);

// Prints a table; returns true when every component is serving.
bool PrintStatus(const std::vector<ComponentHealth>& components);

// Asks the supervisor to restart one daemon (it restarts any daemon that
// exits) by sending it SIGTERM, then waits until a new process serves.
absl::Status RestartComponent(const std::string& exec_root, const std::string& name);

}  // namespace berth::cli
