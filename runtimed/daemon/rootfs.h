// Access to files inside a container's root filesystem that cannot escape it:
// every path is resolved with the rootfs as "/" (openat2 RESOLVE_IN_ROOT), so
// an image's symlink such as /etc/passwd -> /host/file stays inside.
#pragma once

#include <optional>
#include <string>

#include "absl/status/statusor.h"

namespace berth::runtimed {

// The file's content, nullopt when it does not exist.
absl::StatusOr<std::optional<std::string>> ReadFileInRoot(const std::string& root,
                                                          const std::string& path);

// mkdir -p of an absolute path inside root (mode 0755, owned by root).
absl::Status MakeDirsInRoot(const std::string& root, const std::string& path);

}  // namespace berth::runtimed
