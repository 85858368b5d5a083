// COPY and ADD sources resolved against a source tree (the context, or a
// stage's or image's files), as Docker's legacy copier does: sources are
// relative to the tree's root whatever their leading "/", globs use
// filepath.Match rules ("*" and "?" stay within a directory), a directory's
// contents are copied (not the directory itself), a symlink named as a source
// is followed inside the tree, several sources need a destination ending in
// "/", ADD extracts local tar archives and takes http(s) URLs (downloaded by
// the executor). The result lists what to write where, the history hash
// (file:, dir:, multi:) and the cache checksum: file contents, names and
// modes, never times.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "imaged/build/context.h"
#include "imaged/build/dispatch.h"

namespace berth::imaged::build {

struct CopyItem {
  enum class Kind { kFile, kDirectory, kSymlink, kExtractArchive, kDownload };
  Kind kind = Kind::kFile;
  // Path in the source tree; the URL for kDownload.
  std::string source;
  // Absolute path in the image; the directory to extract into for
  // kExtractArchive.
  std::string target;
  // Permission bits after --chmod (kDownload: 0600, as Docker).
  uint32_t mode = 0644;
  std::string link_target;
};

struct CopyPlan {
  // Parents before their contents.
  std::vector<CopyItem> items;
  // "file:<hex>", "dir:<hex>" or "multi:<hex>": what Docker's history shows.
  std::string source_hash;
  // sha256 of names, types, modes and contents: the COPY part of the cache key.
  std::string checksum;
  // --chown as given ("" = root), resolved against the image's passwd/group
  // by the executor.
  std::string chown;
  // COPY --from without --chown keeps the owners of the source files, as
  // Docker does; otherwise files belong to root (or --chown).
  bool preserve_ownership = false;
};

// A tree that serves paths under "<prefix>/" from another tree: how ADD's
// downloaded files sit beside the context for one layer. Context paths are
// relative, so an absolute prefix ("/downloads") never collides with them.
class MountedTree : public SourceTree {
 public:
  MountedTree(const SourceTree& base, std::string prefix, const SourceTree& mounted)
      : base_(base), prefix_(std::move(prefix)), mounted_(mounted) {}
  absl::StatusOr<FileInfo> Lstat(const std::string& path) const override;
  absl::StatusOr<std::vector<std::string>> List(const std::string& dir) const override;
  absl::StatusOr<std::unique_ptr<ByteSource>> Open(const std::string& path) const override;

 private:
  // The path inside the mounted tree, or false for a base path.
  bool Inside(const std::string& path, std::string* inner) const;
  const SourceTree& base_;
  std::string prefix_;
  const SourceTree& mounted_;
};

// True when dest (absolute, in the image) is an existing directory there.
using IsDirectoryFn = std::function<bool(const std::string& path)>;

// Resolves a COPY/ADD step. Errors say "<COPY|ADD> failed: ..." as Docker does,
// e.g. "COPY failed: file not found in build context or excluded by
// .dockerignore: stat missing.txt: file does not exist".
absl::StatusOr<CopyPlan> ResolveCopy(const SourceTree& tree, const CopyRequest& request,
                                     const IsDirectoryFn& is_directory);

// Go's filepath.Match: "*", "?", "[a-z]", "[^x]", "\" escapes; ok=false on a
// malformed pattern.
bool GlobMatch(const std::string& pattern, const std::string& name, bool* ok = nullptr);

// Where an ADD URL lands: dest/<last path element> when dest ends in "/".
absl::StatusOr<std::string> DownloadTarget(const std::string& url, const std::string& dest);

// "uid[:gid]" with numbers only; other forms need the image's passwd and
// group files (NotFound then, the executor resolves names).
absl::Status ParseNumericChown(const std::string& chown, uint32_t* uid, uint32_t* gid);

}  // namespace berth::imaged::build
