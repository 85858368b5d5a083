// docker top: the rows of `ps` output that belong to a container.
#pragma once

#include <set>
#include <string>

#include "absl/status/statusor.h"
#include "proto/runtime/v1/runtime.pb.h"

namespace berth::runtimed {

// Keeps the rows whose PID column is in pids, as moby's parsePSOutput: the
// last column (the command) keeps its spaces.
absl::StatusOr<runtime::v1::TopContainerResponse> ParsePsOutput(const std::string& output,
                                                                const std::set<std::string>& pids);

}  // namespace berth::runtimed
