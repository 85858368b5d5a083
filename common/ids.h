// Random identifiers in Docker's shape.
#pragma once

#include <string>

namespace berth {

// 64 lowercase hex digits from the kernel's CSPRNG (getrandom), never all
// digits (Docker avoids IDs that parse as numbers, e.g. as a 12-char prefix).
std::string GenerateId();

}  // namespace berth
