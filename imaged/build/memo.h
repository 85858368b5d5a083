// Fully cached builds, remembered so that asking again answers at once.
//
// A build whose every step came from the cache makes the same image with the
// same output whenever the same request comes with the same context bytes,
// as long as no image, tag or cache entry changed in between: each of its
// lookups would answer as before. Such a rebuild then costs its upload and a
// comparison, instead of a cache lookup, an image resolution and a config
// copy per step (most of a cached rebuild's time after the upload). Kept in
// memory only: a restarted imaged builds once more before it answers so.
#pragma once

#include <cstddef>
#include <cstdint>
#include <deque>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace berth::imaged::build {

// What the stores' generations were (ImageStore::Generation,
// BuildCache::Generation): equal values, equal answers.
struct StoreGenerations {
  int64_t images = 0;
  int64_t cache = 0;
  bool operator==(const StoreGenerations& other) const {
    return images == other.images && cache == other.cache;
  }
  bool operator!=(const StoreGenerations& other) const { return !(*this == other); }
};

struct MemoizedBuild {
  std::string image_id;
  // The output as it was written: each piece, and whether it went out as the
  // stream's last.
  std::vector<std::pair<std::string, bool>> output;
  // The cache entries it reused, to be marked used again.
  std::vector<std::string> reused;
  // The stores as the build saw them from its start to its end.
  StoreGenerations generations;
};

class BuildMemo {
 public:
  static constexpr size_t kCapacity = 64;

  // The build remembered under key while the stores are still as it saw
  // them; one whose stores changed since is forgotten (generations only grow).
  std::optional<MemoizedBuild> Find(const std::string& key, const StoreGenerations& now);
  // The oldest one goes when kCapacity are kept.
  void Remember(const std::string& key, MemoizedBuild build);
  size_t size();

 private:
  std::mutex mutex_;
  std::map<std::string, MemoizedBuild> builds_;
  // Keys, the oldest first.
  std::deque<std::string> order_;
};

}  // namespace berth::imaged::build
