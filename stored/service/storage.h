// stored's local object: layer snapshots and container root filesystems, with
// the same operations as berth.storage.v1.StorageService but plain C++ types
// and absl::Status errors. The gRPC adapter (storage_service.h) only converts.
//
// On-disk layout under the state directory (<root>/stored). Paths are kept
// short on purpose: every layer of an image is named in one overlay mount
// option string, which the kernel limits to a page.
//
//   stored.db        SQLite, schema below
//   l/<n>/           one layer snapshot; n = layers.id. OCI whiteouts are
//                    already converted to overlay's (0:0 char devices,
//                    trusted.overlay.opaque=y)
//   c/<n>/diff       a container's writable layer (overlay upperdir); n = rootfs.id
//   c/<n>/work       overlay workdir
//   c/<n>/merged     the mounted root filesystem handed to the runtime
//   empty/           the lower dir of containers whose image has no layers
//   volumes/<name>/_data  a volume's content (stored/volumes/volumes.h); for a
//                    volume with driver options, the mount point of its device
//                    while a container using it runs
//   tmp/             staging: layers being extracted, directories being
//                    deleted. Anything here at start is a leftover.
//
// Schema:
//   layers(id INTEGER PK AUTOINCREMENT, chain_id TEXT UNIQUE, parent_chain_id TEXT
//          ('' for a base layer), diff_id TEXT, size INTEGER, removing INTEGER,
//          created_at INTEGER)
//   rootfs(id INTEGER PK AUTOINCREMENT, container_id TEXT UNIQUE,
//          parent_chain_id TEXT ('' for an image without layers), created_at INTEGER)
// AUTOINCREMENT so a number is never reused: a directory left behind by a
// crash can never be mistaken for a newer row's.
//
// Crash safety: a directory becomes visible under l/ or c/ by a rename inside
// the transaction that inserts its row, and disappears by a rename to tmp/
// before the transaction that deletes its row. So after any crash a row
// without a directory, or a directory without a row, is simply dropped at
// the next start, and nothing is ever half there.
//
// A layer stays while anything stacks on it: RemoveLayer only marks it, and it
// is deleted once no layer has it as parent and no rootfs is based on it.
//
// A container's files (docker cp, export) are never touched from here: a
// helper process does it inside the container's own view, see
// stored/archive/helper.h and stored/service/container_files.h. docker diff
// and the sizes read c/<n>/diff directly.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "common/database.h"
#include "stored/archive/changes.h"
#include "stored/layers/extract.h"
#include "stored/rootfs/overlay.h"
#include "stored/service/container_locks.h"
#include "stored/service/trash_reaper.h"
#include "stored/volumes/volumes.h"

namespace berth::stored {

struct LayerInfo {
  std::string chain_id;
  std::string parent_chain_id;
  std::string diff_id;
  int64_t size = 0;
};

struct ApplyLayerHeader {
  std::string chain_id;
  std::string parent_chain_id;
  std::string diff_id;
  // The parent may still be being applied: the layer is extracted without
  // it, then await_publish is called (it returns once the client says the
  // parent is published, or an error to abandon the layer), and only then
  // does the layer take its implicit directories' attributes from the parent
  // stack and get published.
  bool parent_pending = false;
  std::function<absl::Status()> await_publish;
};

class Storage {
 public:
  // Opens (creating) the state directory and reconciles the database with
  // what is on disk and mounted.
  static absl::StatusOr<std::unique_ptr<Storage>> Open(const std::string& state_dir,
                                                       std::unique_ptr<rootfs::Mounter> mounter);

  // nullopt when there is no such layer, or it is waiting to be deleted (so
  // that whoever needs it applies it again, which keeps it).
  absl::StatusOr<std::optional<LayerInfo>> StatLayer(const std::string& chain_id);

  // Unpacks the layer from `source` and stores it under header.chain_id.
  // Applying a chain that exists (also concurrently) returns the existing one.
  absl::StatusOr<LayerInfo> ApplyLayer(const ApplyLayerHeader& header, layers::ByteSource& source);

  absl::Status RemoveLayer(const std::string& chain_id);

  absl::Status PrepareRootfs(const std::string& container_id, const std::string& parent_chain_id);
  // Returns the mounted root filesystem's path; mounting twice is fine.
  // Waits for copies working in the container's own view (container_locks).
  // A caller that gave up meanwhile (abandoned() true once the wait is over)
  // gets Cancelled and nothing is mounted: no one would unmount it.
  absl::StatusOr<std::string> MountRootfs(const std::string& container_id,
                                          const std::function<bool()>& abandoned = nullptr);
  absl::Status UnmountRootfs(const std::string& container_id);
  // Unmounts and deletes; a container without a rootfs is fine.
  absl::Status RemoveRootfs(const std::string& container_id);

  // Named and anonymous volumes.
  volumes::VolumeManager& volumes() { return *volumes_; }
  ContainerLocks& container_locks() { return container_locks_; }
  // The volume's mountpoint for a container being started. A volume that is
  // still empty first gets the image's content at container_path, read from
  // the container's mounted root filesystem, as Docker does.
  absl::StatusOr<std::string> MountVolume(const std::string& name, const std::string& container_id,
                                          const std::string& container_path, bool copy_image_data);

  // Where a container's root filesystem lives and how it is mounted, for
  // working on its files while it is not mounted (docker cp, export).
  struct RootfsPaths {
    std::string merged;
    rootfs::OverlaySpec overlay;
  };
  absl::StatusOr<RootfsPaths> Rootfs(const std::string& container_id);
  // Containers whose root filesystem is mounted: the running ones.
  absl::StatusOr<std::vector<std::string>> MountedContainers();
  // docker diff, from the writable layer.
  absl::StatusOr<std::vector<containerfs::Change>> Changes(const std::string& container_id);
  struct RootfsSize {
    int64_t rw = 0;
    int64_t root_fs = 0;
  };
  // SizeRw and SizeRootFs.
  absl::StatusOr<RootfsSize> Size(const std::string& container_id);
  // Bytes used by each volume, for docker system df.
  absl::StatusOr<std::map<std::string, int64_t>> VolumeUsage();

  const std::string& state_dir() const { return state_dir_; }
  // The database schema, in order. Exposed for tests.
  static const std::vector<std::string>& Migrations();

 private:
  struct LayerRow {
    int64_t id = 0;
    LayerInfo info;
    bool removing = false;
  };
  struct RootfsRow {
    int64_t id = 0;
    std::string parent_chain_id;
  };

  Storage(std::string state_dir, std::unique_ptr<Database> db,
          std::unique_ptr<rootfs::Mounter> mounter);
  // For a layer extracted with parent_pending: waits for the client's
  // go-ahead, then gives the directories the layer created implicitly the
  // attributes they have in the parent stack.
  absl::Status PrepareOnParent(const ApplyLayerHeader& header, const std::string& staging,
                               const std::vector<std::string>& implicit_dirs);

  absl::Status Reconcile();
  absl::StatusOr<std::optional<LayerRow>> FindLayer(const std::string& chain_id);
  absl::StatusOr<std::optional<RootfsRow>> FindRootfs(const std::string& container_id);
  // Directories of chain_id and everything below it, top-most first.
  absl::StatusOr<std::vector<std::string>> LayerStack(const std::string& chain_id);
  // Deletes chain_id and then its ancestors while they are marked and unused.
  absl::Status CollectLayers(std::string chain_id);
  absl::StatusOr<std::string> MakeStagingDir(const std::string& prefix);
  // Moves a directory into tmp/ (atomically out of sight) and deletes it.
  absl::Status Discard(const std::string& path);

  std::string LayerDir(int64_t id) const;
  std::string RootfsDir(int64_t id) const;

  const std::string state_dir_;
  std::unique_ptr<Database> db_;
  std::unique_ptr<rootfs::Mounter> mounter_;
  std::unique_ptr<volumes::VolumeManager> volumes_;
  // Serialises everything but the extraction of layers, which runs unlocked
  // in its own staging directory. Taken after a container's lock.
  std::mutex mu_;
  ContainerLocks container_locks_;
  // Last: destroyed first, finishing the deletes it was given.
  TrashReaper reaper_;
};

}  // namespace berth::stored
