// Open directory handles of an extraction, keyed by their path beneath the
// extraction root, so that the ~10,000 entries of a layer do not each walk
// their parents from the root again (a walk is one openat per component).
//
// Only the extraction writes into its root (a private staging directory), so
// a cached handle stays the directory its path named as long as every
// removal the extraction makes is reported with Invalidate: a handle is never
// used after a directory at or above its path was replaced, e.g. by a
// symlink that a fresh walk would refuse.
#pragma once

#include <memory>
#include <string>
#include <unordered_map>
#include <vector>

#include "absl/status/statusor.h"
#include "common/unique_fd.h"

namespace berth::layers {

struct CachedDir {
  UniqueFd fd;
  // New entries in a setgid directory take its group rather than ours.
  bool setgid = false;
};

class DirCache {
 public:
  // Bounds the descriptors held; a layer's entries are grouped by directory,
  // so a small cache already hits for almost every entry.
  static constexpr size_t kDefaultCapacity = 64;

  // root_fd, *lower_dirs and *created must outlive the cache. The paths of
  // the directories the walks create are appended to *created when given.
  DirCache(int root_fd, const std::vector<std::string>* lower_dirs,
           size_t capacity = kDefaultCapacity, std::vector<std::string>* created = nullptr)
      : root_fd_(root_fd), lower_dirs_(lower_dirs), capacity_(capacity), created_(created) {}

  // The directory made of the first `count` components, opened (and missing
  // parts created) as OpenDirBeneath does. The handle stays valid while the
  // caller holds it, even if the cache drops it.
  absl::StatusOr<std::shared_ptr<const CachedDir>> Open(const std::vector<std::string>& components,
                                                        size_t count);

  // Caches a directory the caller just created and opened at `path`.
  void Insert(std::string path, UniqueFd fd, bool setgid);

  // Forgets `path` and everything beneath it: it was removed or replaced.
  void Invalidate(const std::string& path);

  size_t size() const { return dirs_.size(); }
  // Walks from the root, i.e. cache misses (for tests and measurements).
  size_t walks() const { return walks_; }

 private:
  int root_fd_;
  const std::vector<std::string>* lower_dirs_;
  size_t capacity_;
  std::vector<std::string>* created_;
  size_t walks_ = 0;
  std::unordered_map<std::string, std::shared_ptr<const CachedDir>> dirs_;
};

}  // namespace berth::layers
