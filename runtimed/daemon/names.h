// Container names as Docker has them: validated against Docker's pattern,
// and generated as "adjective_surname" when the user gives none.
#pragma once

#include <functional>
#include <string>

#include "absl/status/statusor.h"

namespace berth::runtimed {

// Strips one leading "/" and checks the rest against
// ^[a-zA-Z0-9][a-zA-Z0-9_.-]+$. Returns the name without the slash.
absl::StatusOr<std::string> ValidateContainerName(const std::string& name);

// A random "adjective_surname". When `taken` says the name is in use, tries
// again and then appends a digit, as Docker does.
std::string GenerateContainerName(const std::function<bool(const std::string&)>& taken);

}  // namespace berth::runtimed
