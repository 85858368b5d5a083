// The daemons berth runs, in start order, with the privileges each keeps.
// This is the one list to edit when a component is added (containerd's
// builtins.go idea).
#pragma once

#include <string>
#include <vector>

namespace berth::cli {

struct ComponentSpec {
  std::string name;    // "stored"; also its gRPC socket and state dir name
  std::string binary;  // "berth-stored", found in the supervisor's bin dir
  // Keeps uid 0 (with `capabilities` only, or all when empty); otherwise runs
  // as the unprivileged berth user with no capabilities.
  bool privileged = false;
  std::vector<std::string> capabilities;
  // Receives the Docker API socket as fd 3 (systemd socket activation).
  bool serves_docker_api = false;
};

const std::vector<ComponentSpec>& BuiltinComponents();

// nullptr when there is no component of that name.
const ComponentSpec* FindComponent(const std::string& name);

}  // namespace berth::cli
