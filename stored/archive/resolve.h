// Resolving paths the way a process inside the container would, without ever
// leaving the container's root: every lookup goes through openat2(2) with
// RESOLVE_IN_ROOT, so "..", absolute symlinks and symlinks swapped in by the
// container while a copy runs all stay beneath root_fd (CVE-2018-15664). No
// decision is ever made by comparing host path strings.
#pragma once

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "common/unique_fd.h"

namespace berth::containerfs {

// A container path split as Docker's archive code does: "/a/b/" -> dir "/a",
// base "b"; "/" -> dir "/", base ".". ends_with_dot is set for "/a/b/." (copy
// the contents of b rather than b itself), follow_final for a trailing "/" or
// "/." (the last component must be a directory, so a symlink is followed).
struct ContainerPath {
  std::string clean;  // lexically cleaned, absolute; "/" for the root
  std::string dir;
  std::string base;
  bool ends_with_dot = false;
  bool follow_final = false;
};
ContainerPath SplitContainerPath(absl::string_view path);

// Lexical clean of an absolute or relative path, as Go's path.Clean of
// "/" + path: ".." never climbs above "/".
std::string CleanAbsolute(absl::string_view path);

// Cleans a tar entry name (or hard link target) relative to the extraction
// directory. Empty result means the directory itself. An entry that climbs
// out ("../x", "a/../../x") is InvalidArgument: Docker calls it a breakout.
absl::StatusOr<std::string> CleanRelative(absl::string_view name);

// Opens `path` (container absolute path) beneath root_fd. follow_final: a
// symlink as last component is followed (inside the root); otherwise the
// link itself is opened (with O_PATH, or fails with ELOOP for other flags).
absl::StatusOr<UniqueFd> OpenInRoot(int root_fd, const std::string& path, int flags,
                                    bool follow_final);

// Creates the missing directories of `path` beneath root_fd (mode 0755,
// owned by uid/gid) and returns the last one opened with O_PATH.
absl::StatusOr<UniqueFd> MakeDirsInRoot(int root_fd, const std::string& path, uid_t uid, gid_t gid);

// The container path of an fd opened beneath root_fd, with every symlink
// resolved (Docker's linkTarget).
absl::StatusOr<std::string> PathInRoot(int root_fd, int fd);

// Removes `name` in dir_fd, recursively for a directory, never following a
// symlink.
absl::Status RemoveTreeAt(int dir_fd, const std::string& name);

}  // namespace berth::containerfs
