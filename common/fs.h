// Small filesystem helpers with absl::Status errors.
#pragma once

#include <sys/types.h>

#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"

namespace berth {

// mkdir -p. Existing directories are fine.
absl::Status MakeDirs(const std::string& path, mode_t mode = 0755);

absl::StatusOr<std::string> ReadFile(const std::string& path);

// Writes to a temporary file beside `path`, fsyncs it, renames it into place
// and fsyncs the directory: readers see the old content or the new, never a
// torn file, also across a crash.
absl::Status WriteFileAtomic(const std::string& path, std::string_view content, mode_t mode = 0644);

// rm -rf that does not cross into other mounts (it refuses to descend into a
// mount point and reports it, rather than deleting a mounted filesystem's files).
absl::Status RemoveAll(const std::string& path);

bool PathExists(const std::string& path);

// The names of a directory's entries, "." and ".." excluded, sorted.
absl::StatusOr<std::vector<std::string>> ListDirectory(const std::string& path);

// Closes every descriptor >= lowest except those listed, for use in a child
// between fork and exec (uses close_range where the kernel has it).
void CloseDescriptorsFrom(int lowest);

// Reads exactly n bytes / writes all bytes, retrying on EINTR and short I/O.
// ReadFull returns false on EOF before n bytes.
absl::StatusOr<bool> ReadFull(int fd, void* buffer, size_t n);
absl::Status WriteFull(int fd, const void* buffer, size_t n);

}  // namespace berth
