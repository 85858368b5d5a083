#include "stored/volumes/volumes.h"

#include <dirent.h>
#include <ftw.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include <ctime>
#include <set>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "common/fs.h"
#include "common/ids.h"
#include "common/json.h"
#include "common/log.h"
#include "common/status.h"
#include "stored/volumes/local_mount.h"

namespace berth::volumes {
namespace {

bool NameChar(char c, bool first) {
  if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')) return true;
  return !first && (c == '_' || c == '.' || c == '-');
}

std::string EncodeMap(const std::map<std::string, std::string>& map) { return Json(map).dump(); }

std::map<std::string, std::string> DecodeMap(const std::string& text) {
  std::map<std::string, std::string> map;
  auto json = ParseJson(text);
  if (json.ok() && json->is_object()) {
    for (auto it = json->begin(); it != json->end(); ++it) {
      if (it->is_string()) map[it.key()] = it->get<std::string>();
    }
  }
  return map;
}

thread_local uint64_t tree_bytes = 0;

uint64_t TreeSize(const std::string& path) {
  tree_bytes = 0;
  nftw(
      path.c_str(),
      [](const char*, const struct stat* st, int type, struct FTW*) {
        if (type == FTW_F) tree_bytes += st->st_blocks * 512;
        return 0;
      },
      32, FTW_PHYS | FTW_MOUNT);
  return tree_bytes;
}

std::string InUse(const std::string& name, const std::vector<std::string>& users) {
  return absl::StrCat("remove ", name, ": volume is in use - [", absl::StrJoin(users, ", "), "]");
}

}  // namespace

absl::Status ValidateVolumeName(const std::string& name) {
  bool ok = name.size() >= 2;
  for (size_t i = 0; ok && i < name.size(); ++i) ok = NameChar(name[i], i == 0);
  if (!ok) {
    return absl::InvalidArgumentError(absl::StrCat(
        "create ", name, ": \"", name,
        "\" includes invalid characters for a local volume name, only \"[a-zA-Z0-9][a-zA-Z0-9_.-]\""
        " are allowed. If you intended to pass a host directory, use absolute path"));
  }
  return absl::OkStatus();
}

const std::string& VolumeManager::Migration() {
  static const std::string migration =
      "CREATE TABLE volumes ("
      "  name TEXT PRIMARY KEY,"
      "  labels TEXT NOT NULL,"
      "  options TEXT NOT NULL,"
      "  anonymous INTEGER NOT NULL,"
      "  created_at INTEGER NOT NULL);"
      "CREATE TABLE volume_users ("
      "  volume TEXT NOT NULL,"
      "  container_id TEXT NOT NULL,"
      "  PRIMARY KEY (volume, container_id));";
  return migration;
}

absl::StatusOr<std::unique_ptr<VolumeManager>> VolumeManager::Open(Database* db, std::string dir,
                                                                   std::string staging_dir) {
  RETURN_IF_ERROR(MakeDirs(dir, 0700));
  RETURN_IF_ERROR(MakeDirs(staging_dir, 0700));
  std::unique_ptr<VolumeManager> manager(
      new VolumeManager(db, std::move(dir), std::move(staging_dir)));
  RETURN_IF_ERROR(manager->Reconcile());
  return manager;
}

absl::Status VolumeManager::Reconcile() {
  std::lock_guard<std::mutex> lock(mu_);
  ASSIGN_OR_RETURN(std::vector<Volume> rows, Query("", ""));
  std::set<std::string> known;
  for (const Volume& volume : rows) {
    if (PathExists(volume.mountpoint)) {
      known.insert(volume.name);
      continue;
    }
    spdlog::warn("volume {} has no directory any more; forgetting it", volume.name);
    RETURN_IF_ERROR(db_->Transaction([&]() -> absl::Status {
      for (const char* sql :
           {"DELETE FROM volumes WHERE name = ?", "DELETE FROM volume_users WHERE volume = ?"}) {
        ASSIGN_OR_RETURN(Statement statement, db_->Prepare(sql));
        RETURN_IF_ERROR(statement.Bind(1, volume.name).Run());
      }
      return absl::OkStatus();
    }));
  }
  // A directory without a row is a creation that did not commit.
  ASSIGN_OR_RETURN(std::vector<std::string> names, ListDirectory(dir_));
  for (const std::string& name : names) {
    if (known.count(name)) continue;
    std::string staged = absl::StrCat(staging_dir_, "/vol-orphan-", GenerateId().substr(0, 12));
    if (rename(VolumeDir(name).c_str(), staged.c_str()) != 0) {
      spdlog::warn("cannot move away uncommitted volume {}: {}", name, strerror(errno));
      continue;
    }
    if (absl::Status s = RemoveAll(staged); !s.ok()) {
      spdlog::warn("cannot remove uncommitted volume {}: {}", name, s.ToString());
    }
  }
  return absl::OkStatus();
}

absl::StatusOr<std::vector<Volume>> VolumeManager::Query(const std::string& where,
                                                         const std::string& name) {
  std::lock_guard<std::recursive_mutex> db_lock(db_->mutex());
  ASSIGN_OR_RETURN(
      Statement statement,
      db_->Prepare("SELECT name, labels, options, anonymous, created_at FROM volumes " + where +
                   " ORDER BY name"));
  if (!where.empty()) statement.Bind(1, name);
  std::vector<Volume> volumes;
  while (true) {
    ASSIGN_OR_RETURN(bool row, statement.Step());
    if (!row) break;
    Volume volume;
    volume.name = statement.ColumnText(0);
    volume.mountpoint = VolumeDir(volume.name) + "/_data";
    volume.labels = DecodeMap(statement.ColumnText(1));
    volume.options = DecodeMap(statement.ColumnText(2));
    volume.anonymous = statement.ColumnInt(3) != 0;
    volume.created_at = statement.ColumnInt(4);
    volumes.push_back(std::move(volume));
  }
  ASSIGN_OR_RETURN(Statement users, db_->Prepare("SELECT volume, container_id FROM volume_users "
                                                 "ORDER BY volume, container_id"));
  std::map<std::string, std::vector<std::string>> by_volume;
  while (true) {
    ASSIGN_OR_RETURN(bool row, users.Step());
    if (!row) break;
    by_volume[users.ColumnText(0)].push_back(users.ColumnText(1));
  }
  for (Volume& volume : volumes) volume.users = by_volume[volume.name];
  return volumes;
}

absl::StatusOr<Volume> VolumeManager::Create(const std::string& name,
                                             const std::map<std::string, std::string>& labels,
                                             const std::map<std::string, std::string>& options,
                                             bool anonymous) {
  std::lock_guard<std::mutex> lock(mu_);
  return CreateLocked(name, labels, options, anonymous);
}

absl::StatusOr<Volume> VolumeManager::CreateLocked(
    const std::string& requested, const std::map<std::string, std::string>& labels,
    const std::map<std::string, std::string>& options, bool anonymous) {
  std::string name = requested.empty() ? GenerateId() : requested;
  RETURN_IF_ERROR(ValidateVolumeName(name));
  RETURN_IF_ERROR(ValidateLocalOptions(name, options));
  ASSIGN_OR_RETURN(std::vector<Volume> existing, Query("WHERE name = ?", name));
  if (!existing.empty()) return existing.front();

  std::string staged = staging_dir_ + "/vol-XXXXXX";
  if (mkdtemp(staged.data()) == nullptr) return LastErrnoStatus("create staging directory");
  // Docker's volume directory is root-owned 0755 with a world-readable _data.
  if (chmod(staged.c_str(), 0701) != 0 || mkdir((staged + "/_data").c_str(), 0755) != 0) {
    absl::Status error = LastErrnoStatus("create volume directory");
    RemoveAll(staged).IgnoreError();
    return error;
  }
  Volume volume;
  volume.name = name;
  volume.mountpoint = VolumeDir(name) + "/_data";
  volume.labels = labels;
  volume.options = options;
  volume.anonymous = anonymous;
  volume.created_at = time(nullptr);
  absl::Status status = db_->Transaction([&]() -> absl::Status {
    ASSIGN_OR_RETURN(Statement insert,
                     db_->Prepare("INSERT INTO volumes (name, labels, options, anonymous, "
                                  "created_at) VALUES (?, ?, ?, ?, ?)"));
    RETURN_IF_ERROR(insert.Bind(1, name)
                        .Bind(2, EncodeMap(labels))
                        .Bind(3, EncodeMap(options))
                        .Bind(4, int64_t{anonymous})
                        .Bind(5, volume.created_at)
                        .Run());
    if (rename(staged.c_str(), VolumeDir(name).c_str()) != 0) {
      return LastErrnoStatus("publish volume " + name);
    }
    return absl::OkStatus();
  });
  if (!status.ok()) {
    if (PathExists(staged)) RemoveAll(staged).IgnoreError();
    return status;
  }
  return volume;
}

absl::StatusOr<Volume> VolumeManager::Get(const std::string& name) {
  std::lock_guard<std::mutex> lock(mu_);
  ASSIGN_OR_RETURN(std::vector<Volume> found, Query("WHERE name = ?", name));
  if (found.empty()) return absl::NotFoundError(absl::StrCat("get ", name, ": no such volume"));
  return found.front();
}

absl::StatusOr<std::vector<Volume>> VolumeManager::List() {
  std::lock_guard<std::mutex> lock(mu_);
  return Query("", "");
}

absl::StatusOr<uint64_t> VolumeManager::RemoveLocked(const Volume& volume) {
  // A mounted device must not be deleted with the volume (RemoveAll would
  // refuse to cross into it anyway).
  if (ParseLocalOptions(volume.options)) RETURN_IF_ERROR(UnmountLocal(volume.mountpoint));
  std::string staged = staging_dir_ + "/vol-rm-XXXXXX";
  if (mkdtemp(staged.data()) == nullptr) return LastErrnoStatus("create staging directory");
  std::string moved = staged + "/v";
  if (rename(VolumeDir(volume.name).c_str(), moved.c_str()) != 0) {
    absl::Status error = LastErrnoStatus("remove " + volume.name);
    rmdir(staged.c_str());
    return error;
  }
  RETURN_IF_ERROR(db_->Transaction([&]() -> absl::Status {
    for (const char* sql :
         {"DELETE FROM volumes WHERE name = ?", "DELETE FROM volume_users WHERE volume = ?"}) {
      ASSIGN_OR_RETURN(Statement statement, db_->Prepare(sql));
      RETURN_IF_ERROR(statement.Bind(1, volume.name).Run());
    }
    return absl::OkStatus();
  }));
  uint64_t size = TreeSize(moved);
  if (absl::Status s = RemoveAll(staged); !s.ok()) {
    spdlog::warn("volume {} removed, but its files stay: {}", volume.name, s.ToString());
  }
  return size;
}

absl::Status VolumeManager::Remove(const std::string& name, bool force) {
  std::lock_guard<std::mutex> lock(mu_);
  ASSIGN_OR_RETURN(std::vector<Volume> found, Query("WHERE name = ?", name));
  if (found.empty()) {
    if (force) return absl::OkStatus();
    return absl::NotFoundError(absl::StrCat("get ", name, ": no such volume"));
  }
  if (!found.front().users.empty()) {
    return absl::FailedPreconditionError(InUse(name, found.front().users));
  }
  return RemoveLocked(found.front()).status();
}

absl::StatusOr<PruneReport> VolumeManager::Prune(bool all) {
  std::lock_guard<std::mutex> lock(mu_);
  ASSIGN_OR_RETURN(std::vector<Volume> volumes, Query("", ""));
  PruneReport report;
  for (const Volume& volume : volumes) {
    if (!volume.users.empty() || (!all && !volume.anonymous)) continue;
    ASSIGN_OR_RETURN(uint64_t size, RemoveLocked(volume));
    report.deleted.push_back(volume.name);
    report.space_reclaimed += size;
  }
  return report;
}

absl::StatusOr<Volume> VolumeManager::Acquire(const std::string& name,
                                              const std::string& container_id, bool anonymous) {
  if (container_id.empty()) return absl::InvalidArgumentError("container ID is empty");
  std::lock_guard<std::mutex> lock(mu_);
  ASSIGN_OR_RETURN(Volume volume, CreateLocked(name, {}, {}, anonymous));
  {
    std::lock_guard<std::recursive_mutex> db_lock(db_->mutex());
    ASSIGN_OR_RETURN(Statement insert, db_->Prepare("INSERT OR IGNORE INTO volume_users "
                                                    "(volume, container_id) VALUES (?, ?)"));
    RETURN_IF_ERROR(insert.Bind(1, volume.name).Bind(2, container_id).Run());
  }
  ASSIGN_OR_RETURN(std::vector<Volume> found, Query("WHERE name = ?", volume.name));
  if (found.empty()) return absl::InternalError("volume " + volume.name + " vanished");
  return found.front();
}

absl::Status VolumeManager::Release(const std::string& name, const std::string& container_id,
                                    bool remove_anonymous) {
  std::lock_guard<std::mutex> lock(mu_);
  {
    std::lock_guard<std::recursive_mutex> db_lock(db_->mutex());
    ASSIGN_OR_RETURN(Statement remove, db_->Prepare("DELETE FROM volume_users WHERE volume = ? "
                                                    "AND container_id = ?"));
    RETURN_IF_ERROR(remove.Bind(1, name).Bind(2, container_id).Run());
  }
  if (!remove_anonymous) return absl::OkStatus();
  ASSIGN_OR_RETURN(std::vector<Volume> found, Query("WHERE name = ?", name));
  if (found.empty() || !found.front().anonymous || !found.front().users.empty()) {
    return absl::OkStatus();
  }
  return RemoveLocked(found.front()).status();
}

const std::string& VolumeManager::MountsMigration() {
  static const std::string migration =
      "CREATE TABLE volume_mounts ("
      "  volume TEXT NOT NULL,"
      "  container_id TEXT NOT NULL,"
      "  PRIMARY KEY (volume, container_id));";
  return migration;
}

absl::StatusOr<std::string> VolumeManager::Activate(const std::string& name,
                                                    const std::string& container_id) {
  std::lock_guard<std::mutex> lock(mu_);
  ASSIGN_OR_RETURN(std::vector<Volume> found, Query("WHERE name = ?", name));
  if (found.empty()) return absl::NotFoundError(absl::StrCat("get ", name, ": no such volume"));
  const Volume& volume = found.front();
  {
    std::lock_guard<std::recursive_mutex> db_lock(db_->mutex());
    ASSIGN_OR_RETURN(Statement insert, db_->Prepare("INSERT OR IGNORE INTO volume_mounts "
                                                    "(volume, container_id) VALUES (?, ?)"));
    RETURN_IF_ERROR(insert.Bind(1, name).Bind(2, container_id).Run());
  }
  std::optional<LocalMount> mount = ParseLocalOptions(volume.options);
  // The row is written first: after a crash between the two, the next start
  // sees a user and a mount that it checks against what really runs.
  if (mount && !IsMountPoint(volume.mountpoint)) {
    absl::Status status = MountLocal(*mount, volume.mountpoint);
    if (!status.ok()) {
      std::lock_guard<std::recursive_mutex> db_lock(db_->mutex());
      ASSIGN_OR_RETURN(Statement remove, db_->Prepare("DELETE FROM volume_mounts WHERE volume = ? "
                                                      "AND container_id = ?"));
      remove.Bind(1, name).Bind(2, container_id).Run().IgnoreError();
      return status;
    }
    spdlog::info("mounted volume {} ({})", name, mount->bind ? "bind" : mount->fstype);
  }
  return volume.mountpoint;
}

absl::Status VolumeManager::UnmountUnused(const std::vector<std::string>& names) {
  for (const std::string& name : names) {
    ASSIGN_OR_RETURN(std::vector<Volume> found, Query("WHERE name = ?", name));
    if (found.empty() || !ParseLocalOptions(found.front().options)) continue;
    std::lock_guard<std::recursive_mutex> db_lock(db_->mutex());
    ASSIGN_OR_RETURN(Statement users,
                     db_->Prepare("SELECT COUNT(*) FROM volume_mounts WHERE volume = ?"));
    users.Bind(1, name);
    ASSIGN_OR_RETURN(bool row, users.Step());
    if (row && users.ColumnInt(0) > 0) continue;
    if (IsMountPoint(found.front().mountpoint)) {
      RETURN_IF_ERROR(UnmountLocal(found.front().mountpoint));
      spdlog::info("unmounted volume {}: no running container uses it", name);
    }
  }
  return absl::OkStatus();
}

absl::Status VolumeManager::Deactivate(const std::string& container_id) {
  std::lock_guard<std::mutex> lock(mu_);
  std::vector<std::string> names;
  {
    std::lock_guard<std::recursive_mutex> db_lock(db_->mutex());
    ASSIGN_OR_RETURN(Statement query,
                     db_->Prepare("SELECT volume FROM volume_mounts WHERE container_id = ?"));
    query.Bind(1, container_id);
    while (true) {
      ASSIGN_OR_RETURN(bool row, query.Step());
      if (!row) break;
      names.push_back(query.ColumnText(0));
    }
    ASSIGN_OR_RETURN(Statement remove,
                     db_->Prepare("DELETE FROM volume_mounts WHERE container_id = ?"));
    RETURN_IF_ERROR(remove.Bind(1, container_id).Run());
  }
  return UnmountUnused(names);
}

absl::Status VolumeManager::ReconcileMounts(const std::vector<std::string>& running) {
  std::lock_guard<std::mutex> lock(mu_);
  std::set<std::string> alive(running.begin(), running.end());
  {
    std::lock_guard<std::recursive_mutex> db_lock(db_->mutex());
    ASSIGN_OR_RETURN(Statement query, db_->Prepare("SELECT DISTINCT container_id FROM "
                                                   "volume_mounts"));
    std::vector<std::string> gone;
    while (true) {
      ASSIGN_OR_RETURN(bool row, query.Step());
      if (!row) break;
      if (alive.count(query.ColumnText(0)) == 0) gone.push_back(query.ColumnText(0));
    }
    for (const std::string& id : gone) {
      ASSIGN_OR_RETURN(Statement remove,
                       db_->Prepare("DELETE FROM volume_mounts WHERE container_id = ?"));
      RETURN_IF_ERROR(remove.Bind(1, id).Run());
    }
  }
  ASSIGN_OR_RETURN(std::vector<Volume> all, Query("", ""));
  std::vector<std::string> names;
  for (const Volume& volume : all) names.push_back(volume.name);
  return UnmountUnused(names);
}

}  // namespace berth::volumes
