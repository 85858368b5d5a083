// docker diff and the size fields, read from a container's overlay upper
// directory (which the container cannot see or swap, but may be writing to:
// the walk never follows a symlink).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/statusor.h"

namespace berth::containerfs {

enum class ChangeKind { kModified = 0, kAdded = 1, kDeleted = 2 };

struct Change {
  std::string path;
  ChangeKind kind;
};

// Changes as Moby's overlay driver reports them: a whiteout (0:0 character
// device) or an opaque directory that hides something below is Deleted; an
// entry not in any lower layer is Added; one that is, Modified (directories
// only when their own attributes differ, or when something was added or
// deleted right beneath them). Sorted by path.
absl::StatusOr<std::vector<Change>> ComputeChanges(const std::string& upper_dir,
                                                   const std::vector<std::string>& lower_dirs);

// Bytes used by the files below dir (not directories themselves), each inode
// counted once, as Docker's SizeRw. Missing dir: 0.
absl::StatusOr<int64_t> DirectorySize(const std::string& dir);

}  // namespace berth::containerfs
