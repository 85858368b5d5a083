// Reading an overlay upper directory: how overlayfs marks deletions (a 0:0
// character device) and replaced directories (the trusted.overlay.opaque
// xattr). docker diff and docker commit / build read the same markers.
#pragma once

#include <sys/stat.h>

#include <string>
#include <vector>

#include "absl/status/statusor.h"

namespace berth::containerfs {

// The names in a directory, without "." and "..", sorted (a stable order for
// diffs and layer tars).
absl::StatusOr<std::vector<std::string>> SortedChildren(int dir_fd);

// overlayfs's whiteout: a character device 0:0 standing for a deleted file.
bool IsOverlayWhiteout(const struct stat& st);

// An opaque directory hides everything below it in the lower layers.
bool IsOverlayOpaque(int dir_fd);

}  // namespace berth::containerfs
