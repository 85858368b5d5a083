#include "imaged/build/sql_build_cache.h"

#include <algorithm>
#include <map>
#include <set>

#include "common/status.h"

namespace berth::imaged::build {
namespace {

// The images among `candidates` that no cache entry names any more: what a
// removal of entries releases.
absl::StatusOr<std::vector<std::string>> Unreferenced(Database* db,
                                                      const std::set<std::string>& candidates) {
  std::vector<std::string> released;
  for (const std::string& image : candidates) {
    ASSIGN_OR_RETURN(Statement still,
                     db->Prepare("SELECT 1 FROM build_cache WHERE image_id = ? LIMIT 1"));
    still.Bind(1, image);
    ASSIGN_OR_RETURN(bool used, still.Step());
    if (!used) released.push_back(image);
  }
  return released;
}

// Moves a generation on when made and again when gone.
class Change {
 public:
  explicit Change(std::atomic<int64_t>& generation) : generation_(generation) { ++generation_; }
  ~Change() { ++generation_; }
  Change(const Change&) = delete;
  Change& operator=(const Change&) = delete;

 private:
  std::atomic<int64_t>& generation_;
};

}  // namespace

std::vector<std::string> BuildCacheMigrations() {
  return {
      "CREATE TABLE build_cache ("
      "  key TEXT PRIMARY KEY,"
      "  image_id TEXT NOT NULL,"
      "  created INTEGER NOT NULL,"
      "  last_used INTEGER NOT NULL);"
      "CREATE INDEX build_cache_image ON build_cache(image_id);",
      "ALTER TABLE build_cache ADD COLUMN usage_count INTEGER NOT NULL DEFAULT 1;",
  };
}

absl::StatusOr<std::unique_ptr<Database>> OpenBuildCacheDatabase(const std::string& path) {
  ASSIGN_OR_RETURN(std::unique_ptr<Database> db, Database::Open(path, BuildCacheMigrations()));
  RETURN_IF_ERROR(db->Exec("PRAGMA synchronous=NORMAL"));
  return db;
}

absl::StatusOr<std::optional<std::string>> SqlBuildCache::Lookup(const std::string& key) {
  ASSIGN_OR_RETURN(Statement select,
                   db_->Prepare("SELECT image_id FROM build_cache WHERE key = ?"));
  select.Bind(1, key);
  ASSIGN_OR_RETURN(bool row, select.Step());
  if (!row) return std::optional<std::string>();
  return std::optional<std::string>(select.ColumnText(0));
}

absl::Status SqlBuildCache::Touch(const std::vector<std::string>& keys) {
  if (keys.empty()) return absl::OkStatus();
  const int64_t now = clock_();
  // A key reused twice in a build (the same step in two stages) counts twice.
  std::map<std::string, int64_t> uses;
  for (const std::string& key : keys) ++uses[key];
  // One statement per distinct count (almost always one), of at most
  // kKeysPerStatement keys: preparing a statement per key was most of it.
  constexpr size_t kKeysPerStatement = 200;
  std::map<int64_t, std::vector<std::string>> by_count;
  for (const auto& [key, count] : uses) by_count[count].push_back(key);
  return db_->Transaction([&]() -> absl::Status {
    for (const auto& [count, all] : by_count) {
      for (size_t start = 0; start < all.size(); start += kKeysPerStatement) {
        const size_t n = std::min(kKeysPerStatement, all.size() - start);
        std::string sql =
            "UPDATE build_cache SET last_used = ?, usage_count = usage_count + ? WHERE key IN (?";
        for (size_t i = 1; i < n; ++i) sql += ",?";
        sql += ")";
        ASSIGN_OR_RETURN(Statement touch, db_->Prepare(sql));
        touch.Bind(1, now).Bind(2, count);
        for (size_t i = 0; i < n; ++i) touch.Bind(static_cast<int>(i) + 3, all[start + i]);
        RETURN_IF_ERROR(touch.Run());
      }
    }
    return absl::OkStatus();
  });
}

absl::Status SqlBuildCache::Record(const std::string& key, const std::string& image_id) {
  Change change(generation_);
  ASSIGN_OR_RETURN(Statement insert,
                   db_->Prepare("INSERT INTO build_cache (key, image_id, created, last_used) "
                                "VALUES (?, ?, ?, ?) ON CONFLICT(key) DO UPDATE SET "
                                "image_id = excluded.image_id, last_used = excluded.last_used, "
                                "usage_count = build_cache.usage_count + 1"));
  int64_t now = clock_();
  insert.Bind(1, key).Bind(2, image_id).Bind(3, now).Bind(4, now);
  return insert.Run();
}

absl::StatusOr<std::vector<CacheEntry>> SqlBuildCache::List() {
  ASSIGN_OR_RETURN(
      Statement select,
      db_->Prepare("SELECT key, image_id, created, last_used, usage_count FROM build_cache "
                   "ORDER BY created, key"));
  std::vector<CacheEntry> entries;
  while (true) {
    ASSIGN_OR_RETURN(bool row, select.Step());
    if (!row) break;
    entries.push_back(CacheEntry{select.ColumnText(0), select.ColumnText(1), select.ColumnInt(2),
                                 select.ColumnInt(3), select.ColumnInt(4)});
  }
  return entries;
}

absl::StatusOr<std::vector<std::string>> SqlBuildCache::Prune(int64_t before) {
  Change change(generation_);
  std::vector<std::string> released;
  RETURN_IF_ERROR(db_->Transaction([&]() -> absl::Status {
    std::set<std::string> candidates;
    {
      ASSIGN_OR_RETURN(
          Statement select,
          db_->Prepare("SELECT image_id FROM build_cache WHERE ? = 0 OR last_used < ?"));
      select.Bind(1, before).Bind(2, before);
      while (true) {
        ASSIGN_OR_RETURN(bool row, select.Step());
        if (!row) break;
        candidates.insert(select.ColumnText(0));
      }
    }
    ASSIGN_OR_RETURN(Statement remove,
                     db_->Prepare("DELETE FROM build_cache WHERE ? = 0 OR last_used < ?"));
    remove.Bind(1, before).Bind(2, before);
    RETURN_IF_ERROR(remove.Run());
    ASSIGN_OR_RETURN(released, Unreferenced(db_, candidates));
    return absl::OkStatus();
  }));
  return released;
}

absl::StatusOr<std::vector<std::string>> SqlBuildCache::Remove(
    const std::vector<std::string>& keys) {
  Change change(generation_);
  std::vector<std::string> released;
  RETURN_IF_ERROR(db_->Transaction([&]() -> absl::Status {
    std::set<std::string> candidates;
    for (const std::string& key : keys) {
      ASSIGN_OR_RETURN(Statement select,
                       db_->Prepare("SELECT image_id FROM build_cache WHERE key = ?"));
      select.Bind(1, key);
      ASSIGN_OR_RETURN(bool row, select.Step());
      if (!row) continue;
      candidates.insert(select.ColumnText(0));
      ASSIGN_OR_RETURN(Statement remove, db_->Prepare("DELETE FROM build_cache WHERE key = ?"));
      remove.Bind(1, key);
      RETURN_IF_ERROR(remove.Run());
    }
    ASSIGN_OR_RETURN(released, Unreferenced(db_, candidates));
    return absl::OkStatus();
  }));
  return released;
}

absl::Status SqlBuildCache::ForgetImage(const std::string& image_id) {
  Change change(generation_);
  ASSIGN_OR_RETURN(Statement remove, db_->Prepare("DELETE FROM build_cache WHERE image_id = ?"));
  remove.Bind(1, image_id);
  return remove.Run();
}

}  // namespace berth::imaged::build
