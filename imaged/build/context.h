// The build context: the tar the client sends with POST /build, extracted
// (every file's content in one buffer, the tree in memory) and seen through a
// safe, read-only view. The contents stay in memory up to a limit; a bigger
// context's go into one data file in a private directory.
//
// Safety: an entry whose name is absolute or climbs out with "..", a
// symbolic link whose target is absolute or leads outside the context, or a
// hard link to something outside it makes the whole context invalid (named in
// the error), so nothing a build reads can lie outside the context directory.
// Modes come from the tar (the files on disk are only made readable by imaged).
// .dockerignore applies to the view: excluded files do not exist for COPY/ADD,
// the Dockerfile is read even when excluded.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "imaged/build/dockerignore.h"
#include "imaged/byte_source.h"

namespace berth::imaged::build {

enum class FileType { kFile, kDirectory, kSymlink, kOther };

struct FileInfo {
  FileType type = FileType::kFile;
  // Permission bits (07777).
  uint32_t mode = 0644;
  int64_t size = 0;
  std::string link_target;
  // Owners: 0 in the build context (COPY makes files root's), the real ones
  // in an image's files (COPY --from keeps them).
  uint32_t uid = 0;
  uint32_t gid = 0;
};

// A read-only file tree COPY and ADD take sources from: the build context,
// or later a stage's or an image's root filesystem. Paths are relative to
// its root, cleaned, "" or "." for the root itself.
class SourceTree {
 public:
  virtual ~SourceTree() = default;
  // NotFound when missing (or excluded). Does not follow a final symlink.
  virtual absl::StatusOr<FileInfo> Lstat(const std::string& path) const = 0;
  // Names in a directory, sorted.
  virtual absl::StatusOr<std::vector<std::string>> List(const std::string& dir) const = 0;
  virtual absl::StatusOr<std::unique_ptr<ByteSource>> Open(const std::string& path) const = 0;
  // In an image's files an absolute link target means the image's root (as
  // Docker's FollowSymlinkInScope treats it); the context never has one.
  virtual bool AbsoluteLinksAreRooted() const { return false; }
  // The hex SHA-256 of a regular file's content when the tree knows it
  // without reading the file; nullopt otherwise.
  virtual std::optional<std::string> KnownContentDigest(const std::string& /*path*/) const {
    return std::nullopt;
  }
};

// The files of a directory on disk (a stage's or an image's mounted root
// filesystem) as a SourceTree. Paths never leave root: links are resolved
// with ResolveInTree and the final component is opened with O_NOFOLLOW.
class DirectoryTree : public SourceTree {
 public:
  explicit DirectoryTree(std::string root) : root_(std::move(root)) {}
  absl::StatusOr<FileInfo> Lstat(const std::string& path) const override;
  absl::StatusOr<std::vector<std::string>> List(const std::string& dir) const override;
  absl::StatusOr<std::unique_ptr<ByteSource>> Open(const std::string& path) const override;
  bool AbsoluteLinksAreRooted() const override { return true; }

 private:
  std::string Full(const std::string& path) const;
  std::string root_;
};

class BuildContext : public SourceTree {
 public:
  // Contents up to this size stay in memory: most contexts are small, and a
  // cached build's time went largely to writing and removing the data file.
  static constexpr int64_t kMemoryLimit = 16 << 20;

  // Called with each regular file (cleaned name, content) as soon as it is
  // extracted, while the rest of the tar may still be arriving; only while
  // the contents are in memory. A later entry of the same name replaces it.
  using FileFn = std::function<void(const std::string& name, absl::string_view content)>;

  // Extracts a tar (plain, gzip, bzip2 or xz) and reads .dockerignore. When
  // the contents exceed memory_limit they go to root/data (root, a
  // directory imaged owns, is made then).
  static absl::StatusOr<std::unique_ptr<BuildContext>> Extract(ByteSource& tar,
                                                               const std::string& root,
                                                               int64_t memory_limit = kMemoryLimit,
                                                               const FileFn& on_file = nullptr);

  // The Dockerfile at path inside the context (default "Dockerfile", then
  // "dockerfile" as Docker falls back), symlinks followed inside the context.
  // NotFound "Cannot locate specified Dockerfile: <path>".
  absl::StatusOr<std::string> ReadDockerfile(const std::string& path) const;

  absl::StatusOr<FileInfo> Lstat(const std::string& path) const override;
  absl::StatusOr<std::vector<std::string>> List(const std::string& dir) const override;
  absl::StatusOr<std::unique_ptr<ByteSource>> Open(const std::string& path) const override;
  // Digests are taken as the contents arrive, as Docker's legacy builder
  // sums its context while extracting it: a COPY's cache checksum then costs
  // no reading, and the hashing overlaps the client's upload. Only while the
  // contents fit in memory (a big context's files are hashed when copied).
  std::optional<std::string> KnownContentDigest(const std::string& path) const override;

  const std::string& root() const { return root_; }

  ~BuildContext() override;
  BuildContext(const BuildContext&) = delete;
  BuildContext& operator=(const BuildContext&) = delete;

 private:
  // Where a regular file's content lies in the data file.
  struct Extent {
    int64_t offset = 0;
    int64_t size = 0;
  };

  explicit BuildContext(std::string root) : root_(std::move(root)) {}
  void ApplyIgnore(const PatternMatcher& matcher);
  absl::StatusOr<std::string> ReadFileInView(const std::string& path, bool honour_ignore) const;
  absl::StatusOr<std::string> ReadExtent(const std::string& name) const;
  std::unique_ptr<ByteSource> OpenExtent(const Extent& extent) const;
  // Stores content bytes at offset: in memory_ up to memory_limit, then in
  // the data file.
  absl::Status WriteData(const char* data, size_t size, int64_t offset, int64_t memory_limit);

  std::string root_;
  // The contents while they fit in memory.
  std::string memory_;
  // <root>/data once they do not, open for the context's lifetime; -1 before
  // and in a view copy.
  int data_fd_ = -1;
  std::map<std::string, Extent> extents_;
  // Regular file -> hex SHA-256 of its content, taken while extracting.
  std::map<std::string, std::string> digests_;
  // Every entry, by cleaned path ("" is the root).
  std::map<std::string, FileInfo> entries_;
  // Entries .dockerignore leaves visible.
  std::map<std::string, FileInfo> visible_;
};

// Follows symlinks in path (each component, the last one too) inside tree,
// as Docker's FollowSymlinkInScope does, and returns the resolved path.
// InvalidArgument when a link leads outside the tree's root.
absl::StatusOr<std::string> ResolveInTree(const SourceTree& tree, const std::string& path);

// True when the file starts like a tar archive, maybe compressed (ADD
// extracts such local files instead of copying them).
bool IsArchive(const SourceTree& tree, const std::string& path);

}  // namespace berth::imaged::build
