#include "stored/service/container_files.h"

#include <unistd.h>

#include "absl/strings/str_cat.h"
#include "common/fs.h"
#include "common/status.h"
#include "stored/volumes/local_mount.h"

namespace berth::stored {

std::unique_ptr<ContainerLocks::Held> ContainerFiles::LockOwnView(const ContainerViewSpec& view) {
  // A running container's view is its own namespace, which the helper joins.
  if (view.pid > 0) return nullptr;
  return storage_->container_locks().Lock(view.container_id);
}

absl::StatusOr<containerfs::HelperRequest> ContainerFiles::Request(const ContainerViewSpec& view,
                                                                   const std::string& op,
                                                                   const std::string& path) {
  containerfs::HelperRequest request;
  request.op = op;
  request.path = path;
  request.pid = view.pid;
  request.read_only_rootfs = view.read_only_rootfs;
  ASSIGN_OR_RETURN(Storage::RootfsPaths rootfs, storage_->Rootfs(view.container_id));
  request.merged = rootfs.merged;
  request.overlay = rootfs.overlay;
  if (remap_ != nullptr) {
    request.uids = remap_->uids;
    request.gids = remap_->gids;
  }
  for (const ContainerMountRef& m : view.mounts) {
    containerfs::ViewMount mount{m.source, m.destination, m.read_only};
    if (!m.volume.empty()) {
      ASSIGN_OR_RETURN(volumes::Volume volume, storage_->volumes().Get(m.volume));
      mount.source = volume.mountpoint;
      // A volume with driver options is only mounted while a container runs:
      // for a stopped one, a bind volume is its device and a tmpfs is empty.
      std::optional<volumes::LocalMount> local = volumes::ParseLocalOptions(volume.options);
      if (local && view.pid == 0 && !volumes::IsMountPoint(volume.mountpoint)) {
        if (!local->bind) continue;
        mount.source = local->device;
      }
    }
    if (mount.source.empty() || mount.source[0] != '/') {
      return absl::InvalidArgumentError(
          absl::StrCat("mount at ", m.destination, " has no absolute source"));
    }
    request.mounts.push_back(std::move(mount));
  }
  return request;
}

absl::StatusOr<containerfs::PathStat> ContainerFiles::Stat(const ContainerViewSpec& view,
                                                           const std::string& path) {
  std::unique_ptr<ContainerLocks::Held> held = LockOwnView(view);
  ASSIGN_OR_RETURN(containerfs::HelperRequest request, Request(view, "stat", path));
  ASSIGN_OR_RETURN(std::unique_ptr<containerfs::HelperProcess> helper,
                   containerfs::HelperProcess::Start(helper_exe_, request));
  ASSIGN_OR_RETURN(containerfs::PathStat stat, helper->ReadStat());
  RETURN_IF_ERROR(helper->Finish());
  return stat;
}

absl::Status ContainerFiles::Pump(containerfs::HelperProcess& helper, containerfs::ByteSink& sink) {
  // Full 1 MiB messages: a pipe read returns what is there, often much less.
  std::string buffer(1 << 20, '\0');
  size_t filled = 0;
  while (true) {
    ssize_t n = read(helper.output_fd(), buffer.data() + filled, buffer.size() - filled);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return LastErrnoStatus("read archive");
    filled += static_cast<size_t>(n);
    if (filled == buffer.size() || (n == 0 && filled > 0)) {
      RETURN_IF_ERROR(sink.Write(buffer.data(), filled));
      filled = 0;
    }
    if (n == 0) return absl::OkStatus();
  }
}

absl::Status ContainerFiles::Archive(
    const ContainerViewSpec& view, const std::string& path,
    const std::function<absl::Status(const containerfs::PathStat&)>& on_stat,
    containerfs::ByteSink& sink) {
  std::unique_ptr<ContainerLocks::Held> held = LockOwnView(view);
  ASSIGN_OR_RETURN(containerfs::HelperRequest request, Request(view, "get", path));
  ASSIGN_OR_RETURN(std::unique_ptr<containerfs::HelperProcess> helper,
                   containerfs::HelperProcess::Start(helper_exe_, request));
  ASSIGN_OR_RETURN(containerfs::PathStat stat, helper->ReadStat());
  RETURN_IF_ERROR(on_stat(stat));
  absl::Status pumped = Pump(*helper, sink);
  absl::Status finished = helper->Finish();
  // The helper's own error explains a cut stream better than the pipe does.
  return finished.ok() ? pumped : finished;
}

absl::Status ContainerFiles::Extract(const ContainerViewSpec& view, const std::string& path,
                                     const containerfs::ExtractOptions& options,
                                     layers::ByteSource& source) {
  std::unique_ptr<ContainerLocks::Held> held = LockOwnView(view);
  ASSIGN_OR_RETURN(containerfs::HelperRequest request, Request(view, "put", path));
  request.extract = options;
  ASSIGN_OR_RETURN(std::unique_ptr<containerfs::HelperProcess> helper,
                   containerfs::HelperProcess::Start(helper_exe_, request));
  absl::Status fed = absl::OkStatus();
  std::string chunk;
  while (true) {
    absl::StatusOr<bool> more = source.Next(&chunk);
    if (!more.ok()) {
      fed = more.status();
      break;
    }
    if (!*more) break;
    absl::Status written = WriteFull(helper->input_fd(), chunk.data(), chunk.size());
    // The helper stopped reading: it failed, or the tar ended before the
    // stream's padding did. Its report says which.
    if (!written.ok()) break;
  }
  if (!fed.ok()) return fed;  // the helper is killed: a cut upload writes nothing more
  helper->CloseInput();
  return helper->Finish();
}

absl::Status ContainerFiles::Export(const std::string& container_id, containerfs::ByteSink& sink) {
  ContainerViewSpec view;
  view.container_id = container_id;
  std::unique_ptr<ContainerLocks::Held> held = LockOwnView(view);
  ASSIGN_OR_RETURN(containerfs::HelperRequest request, Request(view, "export", "/"));
  ASSIGN_OR_RETURN(std::unique_ptr<containerfs::HelperProcess> helper,
                   containerfs::HelperProcess::Start(helper_exe_, request));
  absl::Status pumped = Pump(*helper, sink);
  absl::Status finished = helper->Finish();
  return finished.ok() ? pumped : finished;
}

}  // namespace berth::stored
