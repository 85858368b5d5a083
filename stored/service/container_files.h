// The files of a container as the container sees them: docker cp (stat,
// archive, extract) and docker export. Each operation runs in an archive
// helper process (stored/archive/helper.h) inside the container's view.
#pragma once

#include <functional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "common/userns_remap.h"
#include "stored/archive/helper.h"
#include "stored/archive/tar_io.h"
#include "stored/service/storage.h"

namespace berth::stored {

struct ContainerMountRef {
  // Binds: the host path; volumes: empty, with `volume` set.
  std::string source;
  std::string volume;
  std::string destination;
  bool read_only = false;
};

struct ContainerViewSpec {
  std::string container_id;
  // > 0 while the container runs.
  int64_t pid = 0;
  std::vector<ContainerMountRef> mounts;
  bool read_only_rootfs = false;
};

class ContainerFiles {
 public:
  // helper_exe: the binary run as "<exe> archive-helper <request>".
  ContainerFiles(Storage* storage, std::string helper_exe)
      : storage_(storage), helper_exe_(std::move(helper_exe)) {}
  // userns-remap: archives carry the container's ids, files extracted get
  // the host's (as with dockerd, for every container of a remapped engine).
  void set_userns_remap(const UsernsRemap* remap) { remap_ = remap; }

  absl::StatusOr<containerfs::PathStat> Stat(const ContainerViewSpec& view,
                                             const std::string& path);
  // Calls on_stat before the first byte of the archive goes to sink, so that
  // a missing path is an error with nothing sent.
  absl::Status Archive(const ContainerViewSpec& view, const std::string& path,
                       const std::function<absl::Status(const containerfs::PathStat&)>& on_stat,
                       containerfs::ByteSink& sink);
  absl::Status Extract(const ContainerViewSpec& view, const std::string& path,
                       const containerfs::ExtractOptions& options, layers::ByteSource& source);
  // The root filesystem alone, with bare entry names.
  absl::Status Export(const std::string& container_id, containerfs::ByteSink& sink);

 private:
  absl::StatusOr<containerfs::HelperRequest> Request(const ContainerViewSpec& view,
                                                     const std::string& op,
                                                     const std::string& path);
  absl::Status Pump(containerfs::HelperProcess& helper, containerfs::ByteSink& sink);
  // For a view the helper builds itself (a stopped container, export): the
  // container's lock, so that it is not started or removed meanwhile.
  std::unique_ptr<ContainerLocks::Held> LockOwnView(const ContainerViewSpec& view);

  Storage* storage_;
  const UsernsRemap* remap_ = nullptr;
  std::string helper_exe_;
};

}  // namespace berth::stored
