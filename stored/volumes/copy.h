// Copying an image's content at a mount point into a new volume, as Docker
// does on a volume's first mount. The source is inside a container's root
// filesystem, so nothing is followed: the path is walked one component at a
// time with O_NOFOLLOW and the tree is copied through descriptors, so a
// symlink in the image can neither redirect the read nor the write.
#pragma once

#include <string>

#include "absl/status/statusor.h"

namespace berth::volumes {

// Copies what is at `path` (absolute, inside the tree rooted at `root`) into
// the directory `destination`, keeping modes, owners and symlinks. A missing
// source, or one that is not a directory, copies nothing.
absl::Status CopyTreeBeneath(const std::string& root, const std::string& path,
                             const std::string& destination);

// True when the directory has no entries.
absl::StatusOr<bool> DirIsEmpty(const std::string& path);

}  // namespace berth::volumes
