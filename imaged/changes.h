// Dockerfile instructions applied to an image's container config, as
// `docker import --change` and `docker commit --change` take them
// (moby's dockerfile.BuildFromConfig).
#pragma once

#include <string>
#include <vector>

#include "absl/status/status.h"
#include "common/json.h"

namespace berth::imaged {

// Applies each change ("CMD [\"sh\"]", "ENV A=1", "EXPOSE 80/udp", ...) in
// order to config (the "config" object of an image config, using Docker's
// field names: Cmd, Entrypoint, Env, ExposedPorts, Labels, User, WorkingDir,
// Volumes, StopSignal, OnBuild, Healthcheck). InvalidArgument
// "<instr> is not a valid change command" for instructions that are not allowed.
absl::Status ApplyChanges(const std::vector<std::string>& changes, Json* config);

}  // namespace berth::imaged
