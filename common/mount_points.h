// The mounts a container asks for, as Docker reads them from its create
// request: HostConfig.Binds ("src:dst[:opts]"), HostConfig.Mounts
// (type=bind|volume|tmpfs) and Config.Volumes (anonymous volumes). Shared by
// runtimed, which mounts them, and the apiserver, which renders inspect's
// "Mounts" from the same container record, so both read the request alike.
//
// Anonymous volumes get a name derived from the container ID and the mount
// destination (64 hex digits, like Docker's random ones): it is the same
// every time the record is read, so nothing else needs to remember it.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "common/json.h"

namespace berth {

struct MountPoint {
  // "bind", "volume" or "tmpfs".
  std::string type;
  // Volumes: the volume's name.
  std::string name;
  // Binds: the host path.
  std::string source;
  std::string destination;
  bool read_write = true;
  // Docker's "Mode" and "Propagation" as inspect shows them.
  std::string mode;
  std::string propagation;
  bool anonymous = false;
  // Volumes: copy the image's content on first use (false for "nocopy").
  bool copy_data = true;
  // Binds from -v: a missing source is created; from --mount it is an error.
  bool create_source = false;
  // tmpfs: mount options such as "size=65536k", "mode=1777".
  std::vector<std::string> tmpfs_options;
};

// The name an anonymous volume of container_id at destination gets.
std::string AnonymousVolumeName(const std::string& container_id, const std::string& destination);

// Parses and validates; errors are InvalidArgument in Docker's words. The
// result is sorted so that parents come before the mounts beneath them.
absl::StatusOr<std::vector<MountPoint>> ParseMountPoints(const Json& config,
                                                         const Json& host_config,
                                                         const std::string& container_id);

}  // namespace berth
