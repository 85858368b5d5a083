// OCI lifecycle hooks: each runs as a child process with the container's
// state (the JSON of `runtime state`) on its stdin, and a non-zero exit or a
// passed timeout is its failure.
#pragma once

#include <sys/types.h>

#include <map>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "runtimed/runtime/spec.h"

namespace berth::runtime {

struct ContainerState {
  std::string id;
  std::string status;  // "creating", "created", "running", "stopped"
  pid_t pid = 0;
  std::string bundle;
  std::map<std::string, std::string> annotations;
};

// The state as the spec's "state" operation defines it.
std::string StateJson(const ContainerState& state);

// Runs the hooks in order, stopping at the first failure, which names the
// kind and the hook: `createRuntime hook /x: exited with status 3`.
absl::Status RunHooks(const std::vector<Hook>& hooks, const std::string& state_json,
                      const std::string& kind);

}  // namespace berth::runtime
