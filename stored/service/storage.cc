#include "stored/service/storage.h"

#include <dirent.h>
#include <fcntl.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <ctime>
#include <set>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "common/digest.h"
#include "common/fs.h"
#include "common/log.h"
#include "common/status.h"
#include "common/unique_fd.h"
#include "stored/layers/safe_path.h"
#include "stored/volumes/copy.h"

namespace berth::stored {
namespace {

absl::Status ValidateChainId(const std::string& chain_id, const char* what) {
  if (!IsSha256Digest(chain_id)) {
    return absl::InvalidArgumentError(
        absl::StrCat("invalid ", what, " \"", chain_id, "\": want sha256:<64 hex digits>"));
  }
  return absl::OkStatus();
}

absl::Status ValidateContainerId(const std::string& container_id) {
  if (container_id.empty()) return absl::InvalidArgumentError("container ID is empty");
  return absl::OkStatus();
}

// Makes everything written under path durable before it is published: the
// extraction writes thousands of files without fsyncing each one.
absl::Status SyncFilesystemOf(const std::string& path) {
  UniqueFd fd(open(path.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (!fd.valid()) return LastErrnoStatus("open " + path);
  if (syncfs(fd.get()) != 0) return LastErrnoStatus("sync " + path);
  return absl::OkStatus();
}

std::string NotFoundLayer(const std::string& chain_id) {
  return absl::StrCat("layer ", chain_id, " not found");
}

std::string NotFoundRootfs(const std::string& container_id) {
  return absl::StrCat("no root filesystem for container ", container_id);
}

// Drains what a client still sends after we decided not to use it, so that a
// client writing the whole stream before reading the answer is not cut off.
absl::Status Drain(layers::ByteSource& source) {
  std::string chunk;
  while (true) {
    ASSIGN_OR_RETURN(bool more, source.Next(&chunk));
    if (!more) return absl::OkStatus();
  }
}

}  // namespace

const std::vector<std::string>& Storage::Migrations() {
  static const std::vector<std::string> migrations = {
      // 1: layers and container root filesystems.
      "CREATE TABLE layers ("
      "  id INTEGER PRIMARY KEY AUTOINCREMENT,"
      "  chain_id TEXT NOT NULL UNIQUE,"
      "  parent_chain_id TEXT NOT NULL,"
      "  diff_id TEXT NOT NULL,"
      "  size INTEGER NOT NULL,"
      "  removing INTEGER NOT NULL DEFAULT 0,"
      "  created_at INTEGER NOT NULL);"
      "CREATE INDEX layers_parent ON layers(parent_chain_id);"
      "CREATE TABLE rootfs ("
      "  id INTEGER PRIMARY KEY AUTOINCREMENT,"
      "  container_id TEXT NOT NULL UNIQUE,"
      "  parent_chain_id TEXT NOT NULL,"
      "  created_at INTEGER NOT NULL);"
      "CREATE INDEX rootfs_parent ON rootfs(parent_chain_id);",
      // 2: volumes.
      volumes::VolumeManager::Migration(),
      // 3: which running containers use which volume.
      volumes::VolumeManager::MountsMigration(),
  };
  return migrations;
}

Storage::Storage(std::string state_dir, std::unique_ptr<Database> db,
                 std::unique_ptr<rootfs::Mounter> mounter)
    : state_dir_(std::move(state_dir)), db_(std::move(db)), mounter_(std::move(mounter)) {}

absl::StatusOr<std::unique_ptr<Storage>> Storage::Open(const std::string& state_dir,
                                                       std::unique_ptr<rootfs::Mounter> mounter) {
  for (const char* sub : {"", "/l", "/c", "/tmp", "/empty"}) {
    RETURN_IF_ERROR(MakeDirs(state_dir + sub, 0700));
  }
  // The lower dir of layerless images is the container's "/": world-readable.
  if (chmod((state_dir + "/empty").c_str(), 0755) != 0) {
    return LastErrnoStatus("chmod " + state_dir + "/empty");
  }
  ASSIGN_OR_RETURN(std::unique_ptr<Database> db,
                   Database::Open(state_dir + "/stored.db", Migrations()));
  std::unique_ptr<Storage> storage(new Storage(state_dir, std::move(db), std::move(mounter)));
  RETURN_IF_ERROR(storage->Reconcile());
  ASSIGN_OR_RETURN(
      storage->volumes_,
      volumes::VolumeManager::Open(storage->db_.get(), state_dir + "/volumes", state_dir + "/tmp"));
  // Containers whose root filesystem is mounted are the running ones; the
  // volumes of the others are unmounted.
  ASSIGN_OR_RETURN(std::vector<std::string> running, storage->MountedContainers());
  RETURN_IF_ERROR(storage->volumes_->ReconcileMounts(running));
  return storage;
}

std::string Storage::LayerDir(int64_t id) const { return absl::StrCat(state_dir_, "/l/", id); }

std::string Storage::RootfsDir(int64_t id) const { return absl::StrCat(state_dir_, "/c/", id); }

absl::Status Storage::Reconcile() {
  std::lock_guard<std::mutex> lock(mu_);
  int removed_dirs = 0;
  int dropped_rows = 0;

  // Staging leftovers: half-extracted layers and half-deleted directories.
  ASSIGN_OR_RETURN(std::vector<std::string> staged, ListDirectory(state_dir_ + "/tmp"));
  for (const std::string& name : staged) {
    absl::Status status = RemoveAll(state_dir_ + "/tmp/" + name);
    if (!status.ok())
      spdlog::warn("cannot remove staging leftover {}: {}", name, status.ToString());
    ++removed_dirs;
  }

  // Layers: drop rows whose directory is gone, then (repeatedly) rows whose
  // parent row is gone, since their stack cannot be mounted any more.
  std::set<int64_t> layer_ids;
  RETURN_IF_ERROR(db_->Transaction([&]() -> absl::Status {
    while (true) {
      ASSIGN_OR_RETURN(Statement query, db_->Prepare("SELECT id, chain_id FROM layers"));
      std::vector<std::pair<int64_t, std::string>> doomed;
      std::set<int64_t> orphans;
      {
        ASSIGN_OR_RETURN(Statement orphan_query,
                         db_->Prepare("SELECT l.id FROM layers l WHERE l.parent_chain_id != '' "
                                      "AND NOT EXISTS (SELECT 1 FROM layers p WHERE p.chain_id "
                                      "= l.parent_chain_id)"));
        while (true) {
          ASSIGN_OR_RETURN(bool row, orphan_query.Step());
          if (!row) break;
          orphans.insert(orphan_query.ColumnInt(0));
        }
      }
      layer_ids.clear();
      while (true) {
        ASSIGN_OR_RETURN(bool row, query.Step());
        if (!row) break;
        int64_t id = query.ColumnInt(0);
        if (orphans.count(id) != 0 || !PathExists(LayerDir(id))) {
          doomed.emplace_back(id, query.ColumnText(1));
        } else {
          layer_ids.insert(id);
        }
      }
      if (doomed.empty()) return absl::OkStatus();
      for (const auto& [id, chain_id] : doomed) {
        spdlog::warn("dropping layer {} (l/{}): its directory or parent is gone", chain_id, id);
        ASSIGN_OR_RETURN(Statement del, db_->Prepare("DELETE FROM layers WHERE id = ?"));
        RETURN_IF_ERROR(del.Bind(1, id).Run());
        ++dropped_rows;
      }
    }
  }));
  ASSIGN_OR_RETURN(std::vector<std::string> layer_dirs, ListDirectory(state_dir_ + "/l"));
  for (const std::string& name : layer_dirs) {
    int64_t id = 0;
    if (absl::SimpleAtoi(name, &id) && layer_ids.count(id) != 0) continue;
    RETURN_IF_ERROR(Discard(state_dir_ + "/l/" + name));
    ++removed_dirs;
  }

  // Root filesystems: mounted ones are left alone (their containers may be
  // running while stored restarts).
  std::set<int64_t> rootfs_ids;
  RETURN_IF_ERROR(db_->Transaction([&]() -> absl::Status {
    ASSIGN_OR_RETURN(Statement query, db_->Prepare("SELECT id, container_id FROM rootfs"));
    std::vector<std::pair<int64_t, std::string>> doomed;
    while (true) {
      ASSIGN_OR_RETURN(bool row, query.Step());
      if (!row) break;
      int64_t id = query.ColumnInt(0);
      if (PathExists(RootfsDir(id))) {
        rootfs_ids.insert(id);
      } else {
        doomed.emplace_back(id, query.ColumnText(1));
      }
    }
    for (const auto& [id, container_id] : doomed) {
      spdlog::warn("dropping rootfs of container {} (c/{}): its directory is gone", container_id,
                   id);
      ASSIGN_OR_RETURN(Statement del, db_->Prepare("DELETE FROM rootfs WHERE id = ?"));
      RETURN_IF_ERROR(del.Bind(1, id).Run());
      ++dropped_rows;
    }
    return absl::OkStatus();
  }));
  ASSIGN_OR_RETURN(std::vector<std::string> rootfs_dirs, ListDirectory(state_dir_ + "/c"));
  for (const std::string& name : rootfs_dirs) {
    int64_t id = 0;
    if (absl::SimpleAtoi(name, &id) && rootfs_ids.count(id) != 0) continue;
    RETURN_IF_ERROR(mounter_->Unmount(state_dir_ + "/c/" + name + "/merged"));
    RETURN_IF_ERROR(Discard(state_dir_ + "/c/" + name));
    ++removed_dirs;
  }

  // Layers whose removal was interrupted, or whose last user was dropped.
  std::vector<std::string> marked;
  {
    ASSIGN_OR_RETURN(Statement query, db_->Prepare("SELECT chain_id FROM layers WHERE removing"));
    while (true) {
      ASSIGN_OR_RETURN(bool row, query.Step());
      if (!row) break;
      marked.push_back(query.ColumnText(0));
    }
  }
  for (const std::string& chain_id : marked) RETURN_IF_ERROR(CollectLayers(chain_id));

  spdlog::info(
      "stored state reconciled: {} layers, {} root filesystems, {} leftovers removed, "
      "{} stale rows dropped",
      layer_ids.size(), rootfs_ids.size(), removed_dirs, dropped_rows);
  return absl::OkStatus();
}

absl::StatusOr<std::optional<Storage::LayerRow>> Storage::FindLayer(const std::string& chain_id) {
  ASSIGN_OR_RETURN(Statement query,
                   db_->Prepare("SELECT id, parent_chain_id, diff_id, size, removing FROM layers "
                                "WHERE chain_id = ?"));
  query.Bind(1, chain_id);
  ASSIGN_OR_RETURN(bool row, query.Step());
  if (!row) return std::optional<LayerRow>();
  LayerRow layer;
  layer.id = query.ColumnInt(0);
  layer.info.chain_id = chain_id;
  layer.info.parent_chain_id = query.ColumnText(1);
  layer.info.diff_id = query.ColumnText(2);
  layer.info.size = query.ColumnInt(3);
  layer.removing = query.ColumnInt(4) != 0;
  return std::optional<LayerRow>(std::move(layer));
}

absl::StatusOr<std::optional<Storage::RootfsRow>> Storage::FindRootfs(
    const std::string& container_id) {
  ASSIGN_OR_RETURN(Statement query,
                   db_->Prepare("SELECT id, parent_chain_id FROM rootfs WHERE container_id = ?"));
  query.Bind(1, container_id);
  ASSIGN_OR_RETURN(bool row, query.Step());
  if (!row) return std::optional<RootfsRow>();
  return std::optional<RootfsRow>(RootfsRow{query.ColumnInt(0), query.ColumnText(1)});
}

absl::StatusOr<std::vector<std::string>> Storage::LayerStack(const std::string& chain_id) {
  std::vector<std::string> dirs;
  std::string current = chain_id;
  while (!current.empty()) {
    // A cycle cannot be stored (a parent must exist before its child), but
    // a corrupt database must not hang the daemon.
    if (dirs.size() > 1000) return absl::InternalError("layer chain too deep: " + chain_id);
    ASSIGN_OR_RETURN(std::optional<LayerRow> layer, FindLayer(current));
    if (!layer) {
      return absl::FailedPreconditionError(
          absl::StrCat("layer ", current, " (below ", chain_id, ") is missing"));
    }
    dirs.push_back(LayerDir(layer->id));
    current = layer->info.parent_chain_id;
  }
  return dirs;
}

absl::StatusOr<std::string> Storage::MakeStagingDir(const std::string& prefix) {
  std::string path = state_dir_ + "/tmp/" + prefix + "XXXXXX";
  if (mkdtemp(path.data()) == nullptr) return LastErrnoStatus("create staging directory");
  return path;
}

absl::Status Storage::Discard(const std::string& path) {
  if (!PathExists(path)) return absl::OkStatus();
  ASSIGN_OR_RETURN(std::string trash, MakeStagingDir("rm-"));
  std::string target = trash + "/x";
  if (rename(path.c_str(), target.c_str()) != 0) return LastErrnoStatus("move away " + path);
  return RemoveAll(trash);
}

absl::StatusOr<std::optional<LayerInfo>> Storage::StatLayer(const std::string& chain_id) {
  RETURN_IF_ERROR(ValidateChainId(chain_id, "chain ID"));
  ASSIGN_OR_RETURN(std::optional<LayerRow> layer, FindLayer(chain_id));
  if (!layer || layer->removing) return std::optional<LayerInfo>();
  return std::optional<LayerInfo>(layer->info);
}

absl::StatusOr<LayerInfo> Storage::ApplyLayer(const ApplyLayerHeader& header,
                                              layers::ByteSource& source) {
  RETURN_IF_ERROR(ValidateChainId(header.chain_id, "chain ID"));
  if (!header.parent_chain_id.empty()) {
    RETURN_IF_ERROR(ValidateChainId(header.parent_chain_id, "parent chain ID"));
  }
  RETURN_IF_ERROR(ValidateChainId(header.diff_id, "diff ID"));

  // Already there: wanted again, so no longer to be deleted.
  auto existing = [&]() -> absl::StatusOr<std::optional<LayerInfo>> {
    std::lock_guard<std::mutex> lock(mu_);
    ASSIGN_OR_RETURN(std::optional<LayerRow> layer, FindLayer(header.chain_id));
    if (!layer) return std::optional<LayerInfo>();
    if (layer->removing) {
      ASSIGN_OR_RETURN(Statement keep, db_->Prepare("UPDATE layers SET removing = 0 WHERE id = ?"));
      RETURN_IF_ERROR(keep.Bind(1, layer->id).Run());
    }
    return std::optional<LayerInfo>(layer->info);
  };
  ASSIGN_OR_RETURN(std::optional<LayerInfo> found, existing());
  if (found) {
    RETURN_IF_ERROR(Drain(source));
    return *found;
  }

  layers::ExtractOptions options;
  options.expected_diff_id = header.diff_id;
  options.report_implicit_dirs = header.parent_pending;
  if (!header.parent_pending) {
    std::lock_guard<std::mutex> lock(mu_);
    if (!header.parent_chain_id.empty()) {
      ASSIGN_OR_RETURN(std::optional<LayerRow> parent, FindLayer(header.parent_chain_id));
      if (!parent) {
        return absl::FailedPreconditionError(absl::StrCat(
            "parent layer ", header.parent_chain_id, " of ", header.chain_id, " does not exist"));
      }
      ASSIGN_OR_RETURN(options.lower_dirs, LayerStack(header.parent_chain_id));
    }
  }

  ASSIGN_OR_RETURN(std::string staging, MakeStagingDir("a-"));
  auto discard_staging = [&] {
    absl::Status status = RemoveAll(staging);
    if (!status.ok()) spdlog::warn("cannot remove {}: {}", staging, status.ToString());
  };
  if (chmod(staging.c_str(), 0755) != 0) {
    absl::Status status = LastErrnoStatus("chmod " + staging);
    discard_staging();
    return status;
  }
  const auto began = std::chrono::steady_clock::now();
  auto seconds_since = [](std::chrono::steady_clock::time_point since) {
    return std::chrono::duration<double>(std::chrono::steady_clock::now() - since).count();
  };
  absl::StatusOr<layers::ExtractResult> extracted = layers::ExtractLayer(source, staging, options);
  const double extract_seconds = seconds_since(began);
  const auto sync_began = std::chrono::steady_clock::now();
  absl::Status synced = extracted.ok() ? SyncFilesystemOf(staging) : absl::OkStatus();
  const double sync_seconds = seconds_since(sync_began);
  const auto wait_began = std::chrono::steady_clock::now();
  if (synced.ok() && extracted.ok() && header.parent_pending) {
    synced = PrepareOnParent(header, staging, extracted->implicit_dirs);
  }
  // Where an apply's time goes (received and unpacked, synced, waited for
  // the parent and prepared on it).
  spdlog::debug("layer {}: unpacked in {:.2f} s, synced in {:.2f} s, published after {:.2f} s",
                header.chain_id, extract_seconds, sync_seconds, seconds_since(wait_began));
  if (!extracted.ok() || !synced.ok()) {
    discard_staging();
    return extracted.ok() ? synced : extracted.status();
  }

  std::lock_guard<std::mutex> lock(mu_);
  std::optional<LayerInfo> result;
  bool published = false;
  absl::Status status = db_->Transaction([&]() -> absl::Status {
    ASSIGN_OR_RETURN(std::optional<LayerRow> raced, FindLayer(header.chain_id));
    if (raced) {
      result = raced->info;
      return absl::OkStatus();
    }
    if (!header.parent_chain_id.empty()) {
      ASSIGN_OR_RETURN(std::optional<LayerRow> parent, FindLayer(header.parent_chain_id));
      if (!parent) {
        return absl::FailedPreconditionError(
            absl::StrCat("parent layer ", header.parent_chain_id, " of ", header.chain_id,
                         " was removed while the layer was applied"));
      }
    }
    ASSIGN_OR_RETURN(Statement insert,
                     db_->Prepare("INSERT INTO layers (chain_id, parent_chain_id, diff_id, size, "
                                  "created_at) VALUES (?, ?, ?, ?, ?) RETURNING id"));
    insert.Bind(1, header.chain_id)
        .Bind(2, header.parent_chain_id)
        .Bind(3, extracted->diff_id)
        .Bind(4, extracted->size)
        .Bind(5, static_cast<int64_t>(time(nullptr)));
    ASSIGN_OR_RETURN(bool row, insert.Step());
    if (!row) return absl::InternalError("insert layer returned no id");
    const int64_t id = insert.ColumnInt(0);
    RETURN_IF_ERROR(insert.Run());
    const std::string dir = LayerDir(id);
    if (rename(staging.c_str(), dir.c_str()) != 0) return LastErrnoStatus("publish " + dir);
    published = true;
    result =
        LayerInfo{header.chain_id, header.parent_chain_id, extracted->diff_id, extracted->size};
    return absl::OkStatus();
  });
  if (!published) discard_staging();
  RETURN_IF_ERROR(status);
  if (published) {
    spdlog::info("applied layer {} ({} bytes)", header.chain_id, result->size);
  }
  return *result;
}

absl::Status Storage::PrepareOnParent(const ApplyLayerHeader& header, const std::string& staging,
                                      const std::vector<std::string>& implicit_dirs) {
  if (!header.await_publish) {
    return absl::InvalidArgumentError("ApplyLayer: parent_pending without a way to publish");
  }
  RETURN_IF_ERROR(header.await_publish());
  if (header.parent_chain_id.empty() || implicit_dirs.empty()) return absl::OkStatus();
  std::vector<std::string> lower_dirs;
  {
    std::lock_guard<std::mutex> lock(mu_);
    ASSIGN_OR_RETURN(std::optional<LayerRow> parent, FindLayer(header.parent_chain_id));
    if (!parent) {
      return absl::FailedPreconditionError(absl::StrCat(
          "parent layer ", header.parent_chain_id, " of ", header.chain_id, " does not exist"));
    }
    ASSIGN_OR_RETURN(lower_dirs, LayerStack(header.parent_chain_id));
  }
  // Outside mu_: the client holds the parent chain until its image is
  // committed; were the stack removed meanwhile, the publish below refuses
  // the layer anyway (its parent row is gone).
  UniqueFd root(open(staging.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
  if (!root.valid()) return LastErrnoStatus("open " + staging);
  for (const std::string& dir : implicit_dirs) {
    RETURN_IF_ERROR(layers::CopyLowerDirAttributes(root.get(), dir, lower_dirs));
  }
  return SyncFilesystemOf(staging);
}

absl::Status Storage::RemoveLayer(const std::string& chain_id) {
  RETURN_IF_ERROR(ValidateChainId(chain_id, "chain ID"));
  std::lock_guard<std::mutex> lock(mu_);
  ASSIGN_OR_RETURN(std::optional<LayerRow> layer, FindLayer(chain_id));
  if (!layer) return absl::NotFoundError(NotFoundLayer(chain_id));
  ASSIGN_OR_RETURN(Statement mark, db_->Prepare("UPDATE layers SET removing = 1 WHERE id = ?"));
  RETURN_IF_ERROR(mark.Bind(1, layer->id).Run());
  return CollectLayers(chain_id);
}

absl::Status Storage::CollectLayers(std::string chain_id) {
  while (!chain_id.empty()) {
    ASSIGN_OR_RETURN(std::optional<LayerRow> layer, FindLayer(chain_id));
    if (!layer || !layer->removing) return absl::OkStatus();
    ASSIGN_OR_RETURN(Statement users,
                     db_->Prepare("SELECT (SELECT COUNT(*) FROM layers WHERE parent_chain_id = ?1)"
                                  " + (SELECT COUNT(*) FROM rootfs WHERE parent_chain_id = ?1)"));
    users.Bind(1, chain_id);
    ASSIGN_OR_RETURN(bool row, users.Step());
    if (row && users.ColumnInt(0) > 0) {
      spdlog::info("layer {} is still in use, deleting it later", chain_id);
      return absl::OkStatus();
    }
    ASSIGN_OR_RETURN(Statement del, db_->Prepare("DELETE FROM layers WHERE id = ?"));
    RETURN_IF_ERROR(del.Bind(1, layer->id).Run());
    // The row is gone first: after a crash here the directory is an orphan
    // that the next start deletes.
    RETURN_IF_ERROR(Discard(LayerDir(layer->id)));
    spdlog::info("removed layer {}", chain_id);
    chain_id = layer->info.parent_chain_id;
  }
  return absl::OkStatus();
}

absl::Status Storage::PrepareRootfs(const std::string& container_id,
                                    const std::string& parent_chain_id) {
  RETURN_IF_ERROR(ValidateContainerId(container_id));
  if (!parent_chain_id.empty()) RETURN_IF_ERROR(ValidateChainId(parent_chain_id, "chain ID"));
  std::lock_guard<std::mutex> lock(mu_);
  ASSIGN_OR_RETURN(std::optional<RootfsRow> existing, FindRootfs(container_id));
  if (existing) {
    return absl::AlreadyExistsError(
        absl::StrCat("root filesystem for container ", container_id, " already exists"));
  }
  if (!parent_chain_id.empty()) {
    ASSIGN_OR_RETURN(std::optional<LayerRow> parent, FindLayer(parent_chain_id));
    if (!parent) return absl::NotFoundError(NotFoundLayer(parent_chain_id));
  }
  ASSIGN_OR_RETURN(std::string staging, MakeStagingDir("c-"));
  bool published = false;
  absl::Status status = db_->Transaction([&]() -> absl::Status {
    if (chmod(staging.c_str(), 0700) != 0) return LastErrnoStatus("chmod " + staging);
    for (const char* sub : {"/diff", "/work", "/merged"}) {
      if (mkdir((staging + sub).c_str(), 0755) != 0) return LastErrnoStatus("mkdir " + staging);
    }
    ASSIGN_OR_RETURN(Statement insert,
                     db_->Prepare("INSERT INTO rootfs (container_id, parent_chain_id, created_at) "
                                  "VALUES (?, ?, ?) RETURNING id"));
    insert.Bind(1, container_id)
        .Bind(2, parent_chain_id)
        .Bind(3, static_cast<int64_t>(time(nullptr)));
    ASSIGN_OR_RETURN(bool row, insert.Step());
    if (!row) return absl::InternalError("insert rootfs returned no id");
    const int64_t id = insert.ColumnInt(0);
    RETURN_IF_ERROR(insert.Run());
    const std::string dir = RootfsDir(id);
    if (rename(staging.c_str(), dir.c_str()) != 0) return LastErrnoStatus("publish " + dir);
    published = true;
    return absl::OkStatus();
  });
  if (!published) RemoveAll(staging).IgnoreError();
  return status;
}

absl::StatusOr<std::string> Storage::MountRootfs(const std::string& container_id,
                                                 const std::function<bool()>& abandoned) {
  RETURN_IF_ERROR(ValidateContainerId(container_id));
  std::unique_ptr<ContainerLocks::Held> held = container_locks_.Lock(container_id);
  if (abandoned && abandoned()) {
    return absl::CancelledError("the caller went away while a copy held container " + container_id);
  }
  std::lock_guard<std::mutex> lock(mu_);
  ASSIGN_OR_RETURN(std::optional<RootfsRow> rootfs, FindRootfs(container_id));
  if (!rootfs) return absl::NotFoundError(NotFoundRootfs(container_id));
  const std::string dir = RootfsDir(rootfs->id);
  const std::string merged = dir + "/merged";
  ASSIGN_OR_RETURN(bool mounted, mounter_->IsMounted(merged));
  if (mounted) return merged;
  rootfs::OverlaySpec spec;
  if (rootfs->parent_chain_id.empty()) {
    spec.lower_dirs = {state_dir_ + "/empty"};
  } else {
    ASSIGN_OR_RETURN(spec.lower_dirs, LayerStack(rootfs->parent_chain_id));
  }
  spec.upper_dir = dir + "/diff";
  spec.work_dir = dir + "/work";
  RETURN_IF_ERROR(mounter_->MountOverlay(spec, merged));
  return merged;
}

absl::Status Storage::UnmountRootfs(const std::string& container_id) {
  RETURN_IF_ERROR(ValidateContainerId(container_id));
  std::lock_guard<std::mutex> lock(mu_);
  ASSIGN_OR_RETURN(std::optional<RootfsRow> rootfs, FindRootfs(container_id));
  if (!rootfs) return absl::NotFoundError(NotFoundRootfs(container_id));
  RETURN_IF_ERROR(mounter_->Unmount(RootfsDir(rootfs->id) + "/merged"));
  return volumes_->Deactivate(container_id);
}

absl::Status Storage::RemoveRootfs(const std::string& container_id) {
  RETURN_IF_ERROR(ValidateContainerId(container_id));
  std::unique_ptr<ContainerLocks::Held> held = container_locks_.Lock(container_id);
  std::lock_guard<std::mutex> lock(mu_);
  ASSIGN_OR_RETURN(std::optional<RootfsRow> rootfs, FindRootfs(container_id));
  if (!rootfs) return absl::OkStatus();
  const std::string dir = RootfsDir(rootfs->id);
  RETURN_IF_ERROR(mounter_->Unmount(dir + "/merged"));
  RETURN_IF_ERROR(volumes_->Deactivate(container_id));
  // Out of sight now, deleted in the background (or by the next startup).
  if (PathExists(dir)) {
    ASSIGN_OR_RETURN(std::string trash, MakeStagingDir("rm-"));
    if (rename(dir.c_str(), (trash + "/x").c_str()) != 0) {
      absl::Status status = LastErrnoStatus("move away " + dir);
      (void)rmdir(trash.c_str());
      return status;
    }
    reaper_.Reap(trash);
  }
  {
    // Unsynced: a row whose directory is gone is dropped at startup
    // (Reconcile), so a power loss may take the deletion.
    RETURN_IF_ERROR(db_->WriteUnsynced([&]() -> absl::Status {
      ASSIGN_OR_RETURN(Statement del, db_->Prepare("DELETE FROM rootfs WHERE id = ?"));
      return del.Bind(1, rootfs->id).Run();
    }));
  }
  return CollectLayers(rootfs->parent_chain_id);
}

}  // namespace berth::stored

namespace berth::stored {

absl::StatusOr<std::string> Storage::MountVolume(const std::string& name,
                                                 const std::string& container_id,
                                                 const std::string& container_path,
                                                 bool copy_image_data) {
  ASSIGN_OR_RETURN(volumes::Volume volume, volumes_->Get(name));
  if (std::find(volume.users.begin(), volume.users.end(), container_id) == volume.users.end()) {
    return absl::FailedPreconditionError(
        absl::StrCat("volume ", name, " is not acquired by container ", container_id));
  }
  RETURN_IF_ERROR(volumes_->Activate(name, container_id).status());
  if (!copy_image_data) return volume.mountpoint;
  ASSIGN_OR_RETURN(bool empty, volumes::DirIsEmpty(volume.mountpoint));
  if (!empty) return volume.mountpoint;
  std::string merged;
  {
    std::lock_guard<std::mutex> lock(mu_);
    ASSIGN_OR_RETURN(std::optional<RootfsRow> row, FindRootfs(container_id));
    if (!row) return absl::NotFoundError(NotFoundRootfs(container_id));
    merged = RootfsDir(row->id) + "/merged";
  }
  RETURN_IF_ERROR(volumes::CopyTreeBeneath(merged, container_path, volume.mountpoint));
  return volume.mountpoint;
}

}  // namespace berth::stored

namespace berth::stored {

absl::StatusOr<std::vector<std::string>> Storage::MountedContainers() {
  std::lock_guard<std::mutex> lock(mu_);
  ASSIGN_OR_RETURN(Statement query, db_->Prepare("SELECT id, container_id FROM rootfs"));
  std::vector<std::string> mounted;
  while (true) {
    ASSIGN_OR_RETURN(bool row, query.Step());
    if (!row) break;
    ASSIGN_OR_RETURN(bool is_mounted,
                     mounter_->IsMounted(RootfsDir(query.ColumnInt(0)) + "/merged"));
    if (is_mounted) mounted.push_back(query.ColumnText(1));
  }
  return mounted;
}

absl::StatusOr<Storage::RootfsPaths> Storage::Rootfs(const std::string& container_id) {
  RETURN_IF_ERROR(ValidateContainerId(container_id));
  std::lock_guard<std::mutex> lock(mu_);
  ASSIGN_OR_RETURN(std::optional<RootfsRow> rootfs, FindRootfs(container_id));
  if (!rootfs) return absl::NotFoundError(NotFoundRootfs(container_id));
  const std::string dir = RootfsDir(rootfs->id);
  RootfsPaths paths;
  paths.merged = dir + "/merged";
  if (rootfs->parent_chain_id.empty()) {
    paths.overlay.lower_dirs = {state_dir_ + "/empty"};
  } else {
    ASSIGN_OR_RETURN(paths.overlay.lower_dirs, LayerStack(rootfs->parent_chain_id));
  }
  paths.overlay.upper_dir = dir + "/diff";
  paths.overlay.work_dir = dir + "/work";
  return paths;
}

absl::StatusOr<std::vector<containerfs::Change>> Storage::Changes(const std::string& container_id) {
  ASSIGN_OR_RETURN(RootfsPaths paths, Rootfs(container_id));
  return containerfs::ComputeChanges(paths.overlay.upper_dir, paths.overlay.lower_dirs);
}

absl::StatusOr<Storage::RootfsSize> Storage::Size(const std::string& container_id) {
  RETURN_IF_ERROR(ValidateContainerId(container_id));
  std::string upper;
  int64_t layers = 0;
  {
    std::lock_guard<std::mutex> lock(mu_);
    ASSIGN_OR_RETURN(std::optional<RootfsRow> rootfs, FindRootfs(container_id));
    if (!rootfs) return absl::NotFoundError(NotFoundRootfs(container_id));
    upper = RootfsDir(rootfs->id) + "/diff";
    std::string current = rootfs->parent_chain_id;
    for (int depth = 0; !current.empty() && depth < 1000; ++depth) {
      ASSIGN_OR_RETURN(std::optional<LayerRow> layer, FindLayer(current));
      if (!layer) break;
      layers += layer->info.size;
      current = layer->info.parent_chain_id;
    }
  }
  RootfsSize size;
  ASSIGN_OR_RETURN(size.rw, containerfs::DirectorySize(upper));
  size.root_fs = size.rw + layers;
  return size;
}

absl::StatusOr<std::map<std::string, int64_t>> Storage::VolumeUsage() {
  ASSIGN_OR_RETURN(std::vector<volumes::Volume> all, volumes_->List());
  std::map<std::string, int64_t> sizes;
  for (const volumes::Volume& volume : all) {
    ASSIGN_OR_RETURN(sizes[volume.name], containerfs::DirectorySize(volume.mountpoint));
  }
  return sizes;
}

}  // namespace berth::stored
