// The build cache in imaged's database: cache key -> image ID, written in
// the same commit order as the image (the image first), so after a crash an
// entry never names an image that was not stored; a lookup of an entry whose
// image was removed is a miss (the Builder checks the image exists).
//
// Table (in a database of its own, build.db):
//   build_cache(key TEXT PRIMARY KEY, image_id TEXT, created INTEGER, last_used INTEGER,
//               usage_count INTEGER)
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "common/database.h"
#include "imaged/build/executor.h"

namespace berth::imaged::build {

// The database's migrations, in order.
std::vector<std::string> BuildCacheMigrations();

// Opens (creating, migrating) the cache's database. Commits are not synced
// (synchronous=NORMAL under WAL): a process crash loses nothing, a power loss
// at most the last entries, which are then misses; a sync per step was
// most of a cached build's time.
absl::StatusOr<std::unique_ptr<Database>> OpenBuildCacheDatabase(const std::string& path);

struct CacheEntry {
  std::string key;
  std::string image_id;
  int64_t created = 0;
  int64_t last_used = 0;
  // Builds that made or reused the step.
  int64_t usage_count = 0;
};

class SqlBuildCache : public BuildCache {
 public:
  // Not owned. clock: seconds since the epoch.
  SqlBuildCache(Database* db, std::function<int64_t()> clock) : db_(db), clock_(std::move(clock)) {}

  absl::StatusOr<std::optional<std::string>> Lookup(const std::string& key) override;
  absl::Status Record(const std::string& key, const std::string& image_id) override;
  // One transaction; keys no longer in the cache are skipped.
  absl::Status Touch(const std::vector<std::string>& keys) override;
  std::optional<int64_t> Generation() override { return generation_.load(); }

  // For `docker system df` and `docker builder prune`.
  absl::StatusOr<std::vector<CacheEntry>> List();
  // Removes entries last used before `before` (all when 0) and returns the
  // image IDs no remaining entry names, for imaged to delete when untagged.
  absl::StatusOr<std::vector<std::string>> Prune(int64_t before);
  // Removes the entries with these keys, in one transaction, and returns the
  // image IDs no remaining entry names.
  absl::StatusOr<std::vector<std::string>> Remove(const std::vector<std::string>& keys);
  // Drops entries that name an image (after the image was removed).
  absl::Status ForgetImage(const std::string& image_id);

 private:
  Database* db_;
  std::function<int64_t()> clock_;
  // Moved on before and after each change: a reader who sees the same
  // value twice saw no change start or end in between.
  std::atomic<int64_t> generation_{0};
};

}  // namespace berth::imaged::build
