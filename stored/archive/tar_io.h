// docker cp's archives: the tar of a path inside a container (GET archive,
// export), the stat Docker sends in X-Docker-Container-Path-Stat, and the
// extraction of a tar into a container directory (PUT archive).
//
// Everything works from a root directory fd and resolves with resolve.h, so
// it is safe against the container's own symlinks even before the helper
// process chroots into the container (which it does as well).
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "common/userns_remap.h"
#include "stored/layers/extract.h"

namespace berth::containerfs {

struct PathStat {
  std::string name;
  int64_t size = 0;
  // st_mode as the kernel reports it.
  uint32_t mode = 0;
  int64_t mtime_sec = 0;
  int64_t mtime_nsec = 0;
  // For a symlink: the container path it resolves to, all links followed.
  std::string link_target;
};

// lstat of the last component (a trailing "/" or "/." follows it). A missing
// path is NotFound.
absl::StatusOr<PathStat> StatPath(int root_fd, const std::string& path);

class ByteSink {
 public:
  virtual ~ByteSink() = default;
  virtual absl::Status Write(const char* data, size_t size) = 0;
};

class FdSink : public ByteSink {
 public:
  explicit FdSink(int fd) : fd_(fd) {}
  absl::Status Write(const char* data, size_t size) override;

 private:
  int fd_;
};

class FdSource : public layers::ByteSource {
 public:
  explicit FdSource(int fd) : fd_(fd) {}
  absl::StatusOr<bool> Next(std::string* chunk) override;

 private:
  int fd_;
  std::string buffer_;
};

struct ArchiveOptions {
  // Export: the children of path with bare relative names ("bin/", "etc/x"),
  // no entry for path itself.
  bool bare_names = false;
  // userns-remap: owners on disk are host ids, recorded as the container's.
  std::vector<IdMapping> uids;
  std::vector<IdMapping> gids;
};

// Streams a tar of `path` (as docker cp's GET archive: the top entry is named
// after the last component, "." for "/dir/."). Never follows a symlink
// beneath path; hard links are kept as links.
absl::Status WriteArchive(int root_fd, const std::string& path, const ArchiveOptions& options,
                          ByteSink& sink);

struct ExtractOptions {
  // Docker's noOverwriteDirNonDir: refuse to replace a directory with a
  // non-directory or the other way round.
  bool no_overwrite_dir_non_dir = false;
  // docker cp -a: owners as in the archive; otherwise owner/group below.
  bool keep_owners = false;
  uid_t uid = 0;
  gid_t gid = 0;
  // docker cp -a into a container running as a user: that user (see
  // container_user.h), resolved where the archive is extracted; it replaces
  // uid/gid. Not used by ExtractArchive itself.
  std::string owner;
  // userns-remap: the container's ids (the archive's, or uid/gid) are stored
  // as these host ids.
  std::vector<IdMapping> uids;
  std::vector<IdMapping> gids;
};

// Unpacks a tar (plain or compressed) into the existing directory `dest`.
// Entries or hard links climbing out of dest, and symlinks whose target
// climbs out of it, are InvalidArgument before anything of them is written.
// Regular files appear atomically (written to a temporary name, renamed).
absl::Status ExtractArchive(int root_fd, const std::string& dest, layers::ByteSource& source,
                            const ExtractOptions& options);

}  // namespace berth::containerfs
