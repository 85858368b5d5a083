#include "stored/layers/dir_cache.h"

#include <fcntl.h>
#include <sys/stat.h>

#include "absl/strings/match.h"
#include "common/status.h"
#include "stored/layers/safe_path.h"

namespace berth::layers {

absl::StatusOr<std::shared_ptr<const CachedDir>> DirCache::Open(
    const std::vector<std::string>& components, size_t count) {
  std::string key = JoinComponents(components, count);
  auto it = dirs_.find(key);
  if (it != dirs_.end()) return it->second;

  ++walks_;
  ASSIGN_OR_RETURN(
      UniqueFd fd,
      OpenDirBeneath(root_fd_, components, count,
                     lower_dirs_ != nullptr ? *lower_dirs_ : std::vector<std::string>{}, created_));
  struct stat st;
  if (fstat(fd.get(), &st) != 0) return LastErrnoStatus("stat " + key);
  auto dir = std::make_shared<CachedDir>();
  dir->fd = std::move(fd);
  dir->setgid = (st.st_mode & S_ISGID) != 0;
  // Dropping everything at once is enough: entries come grouped by directory,
  // so the working set refills in a few walks.
  if (dirs_.size() >= capacity_) dirs_.clear();
  dirs_.emplace(std::move(key), dir);
  return std::shared_ptr<const CachedDir>(std::move(dir));
}

void DirCache::Insert(std::string path, UniqueFd fd, bool setgid) {
  auto dir = std::make_shared<CachedDir>();
  dir->fd = std::move(fd);
  dir->setgid = setgid;
  if (dirs_.size() >= capacity_) dirs_.clear();
  dirs_[std::move(path)] = std::move(dir);
}

void DirCache::Invalidate(const std::string& path) {
  if (path.empty()) {
    dirs_.clear();
    return;
  }
  const std::string prefix = path + "/";
  for (auto it = dirs_.begin(); it != dirs_.end();) {
    if (it->first == path || absl::StartsWith(it->first, prefix)) {
      it = dirs_.erase(it);
    } else {
      ++it;
    }
  }
}

}  // namespace berth::layers
