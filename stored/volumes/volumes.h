// Volumes of the local driver: a directory <dir>/<name>/_data per volume,
// recorded in stored's database, with the containers that use it.
//
// Schema (appended to stored's migrations, see Migration()):
//   volumes(name TEXT PK, labels TEXT (JSON object), options TEXT (JSON object),
//           anonymous INTEGER, created_at INTEGER (seconds))
//   volume_users(volume TEXT, container_id TEXT, PK(volume, container_id))
//   volume_mounts(volume TEXT, container_id TEXT, PK(volume, container_id)):
//           running containers using a volume, so that a volume with driver
//           options (a mount of its device on _data) is mounted while, and
//           only while, one of them runs (MountsMigration())
//
// Crash safety: a volume is built in the staging directory and renamed to
// <dir>/<name> inside the transaction that inserts its row; it disappears by
// a rename back to staging before the transaction that deletes its row. At
// open, rows without a directory and directories without a row are dropped,
// so a volume is either fully there or not at all. A volume with users is
// never removed.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "common/database.h"

namespace berth::volumes {

struct Volume {
  std::string name;
  // <dir>/<name>/_data
  std::string mountpoint;
  std::map<std::string, std::string> labels;
  std::map<std::string, std::string> options;
  bool anonymous = false;
  int64_t created_at = 0;
  // IDs of the containers using the volume.
  std::vector<std::string> users;
};

struct PruneReport {
  std::vector<std::string> deleted;
  uint64_t space_reclaimed = 0;
};

// Docker's rule for volume names: [a-zA-Z0-9][a-zA-Z0-9_.-]+ (InvalidArgument
// in Docker's words otherwise).
absl::Status ValidateVolumeName(const std::string& name);

class VolumeManager {
 public:
  // The schema migration creating the tables; stored appends it to its list.
  static const std::string& Migration();
  static const std::string& MountsMigration();

  // dir: where volumes live; staging_dir: on the same filesystem, emptied by
  // its owner at start. Reconciles rows with directories.
  static absl::StatusOr<std::unique_ptr<VolumeManager>> Open(Database* db, std::string dir,
                                                             std::string staging_dir);

  // An empty name picks a random 64-hex one. Creating an existing volume
  // returns it unchanged, as Docker does.
  absl::StatusOr<Volume> Create(const std::string& name,
                                const std::map<std::string, std::string>& labels,
                                const std::map<std::string, std::string>& options, bool anonymous);
  // NotFound "get <name>: no such volume".
  absl::StatusOr<Volume> Get(const std::string& name);
  absl::StatusOr<std::vector<Volume>> List();
  // FailedPrecondition "remove <name>: volume is in use - [<ids>]" while used;
  // force only makes a missing volume fine.
  absl::Status Remove(const std::string& name, bool force);
  // Removes unused volumes: anonymous ones only unless all.
  absl::StatusOr<PruneReport> Prune(bool all);

  // Records that container_id uses the volume, creating it when missing.
  absl::StatusOr<Volume> Acquire(const std::string& name, const std::string& container_id,
                                 bool anonymous);
  // Drops the use; removes the volume too when remove_anonymous and it is an
  // anonymous volume nobody else uses. A missing volume is fine.
  absl::Status Release(const std::string& name, const std::string& container_id,
                       bool remove_anonymous);

  // A container using the volume starts: a volume with driver options gets
  // its device mounted on _data if no other running container has done so.
  // Returns the mountpoint.
  absl::StatusOr<std::string> Activate(const std::string& name, const std::string& container_id);
  // The container stopped: volumes it was the last running user of are
  // unmounted.
  absl::Status Deactivate(const std::string& container_id);
  // At start: forgets running users that are not in `running` (they stopped
  // while stored was down) and unmounts what nobody running uses.
  absl::Status ReconcileMounts(const std::vector<std::string>& running);

 private:
  VolumeManager(Database* db, std::string dir, std::string staging_dir)
      : db_(db), dir_(std::move(dir)), staging_dir_(std::move(staging_dir)) {}

  absl::Status Reconcile();
  absl::StatusOr<std::vector<Volume>> Query(const std::string& where, const std::string& name);
  absl::StatusOr<Volume> CreateLocked(const std::string& name,
                                      const std::map<std::string, std::string>& labels,
                                      const std::map<std::string, std::string>& options,
                                      bool anonymous);
  // Deletes an unused volume; returns the bytes it held.
  absl::StatusOr<uint64_t> RemoveLocked(const Volume& volume);
  // Unmounts the volumes in `names` that have driver options and no running user.
  absl::Status UnmountUnused(const std::vector<std::string>& names);
  std::string VolumeDir(const std::string& name) const { return dir_ + "/" + name; }

  Database* const db_;
  const std::string dir_;
  const std::string staging_dir_;
  std::mutex mu_;
};

}  // namespace berth::volumes
