// Resolving tar entry names inside an extraction root without ever leaving it:
// names are cleaned lexically (no absolute paths, no ".."), and directories
// are opened one component at a time with O_NOFOLLOW, so a symlink planted by
// an earlier entry cannot redirect a later write outside the root.
#pragma once

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "common/unique_fd.h"

namespace berth::layers {

// Splits an entry name into components, dropping "." and empty ones (so
// "./a//b/" -> {"a", "b"}; "." and "./" -> {}). Absolute names and names with
// a ".." component are InvalidArgument: layers are relative to the root.
absl::StatusOr<std::vector<std::string>> CleanEntryPath(absl::string_view name);

std::string JoinComponents(const std::vector<std::string>& components, size_t count);

// Opens the directory made of the first `count` components beneath root_fd.
// Missing directories are created (mode 0755, root-owned) unless a lower
// layer has the same directory, whose owner, mode and times are copied so
// that the upper copy does not change what the container sees. A component
// that is a symlink or not a directory is InvalidArgument. The paths of the
// directories created are appended to *created when it is given.
absl::StatusOr<UniqueFd> OpenDirBeneath(int root_fd, const std::vector<std::string>& components,
                                        size_t count, const std::vector<std::string>& lower_dirs,
                                        std::vector<std::string>* created = nullptr);

// Gives the existing directory `path` beneath root_fd the owner, mode and
// times of the same directory in the nearest lower layer that has it (what
// OpenDirBeneath does at creation, for a layer extracted before its lower
// layers were there). Nothing happens when no lower layer has a directory
// there or `path` is no longer a directory.
absl::Status CopyLowerDirAttributes(int root_fd, const std::string& path,
                                    const std::vector<std::string>& lower_dirs);

// Opens the existing directory `components` beneath root_fd without creating
// anything or following symlinks; NotFound when it is gone or was replaced by
// a non-directory.
absl::StatusOr<UniqueFd> OpenExistingDirBeneath(int root_fd,
                                                const std::vector<std::string>& components);

}  // namespace berth::layers
