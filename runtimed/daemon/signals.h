// Signals as the Docker API names them.
#pragma once

#include <string>

#include "absl/status/statusor.h"

namespace berth::runtimed {

// "KILL", "SIGKILL", "sigkill" or "9". Anything else is InvalidArgument
// `Invalid signal: <s>`.
absl::StatusOr<int> ParseSignal(const std::string& signal);

}  // namespace berth::runtimed
