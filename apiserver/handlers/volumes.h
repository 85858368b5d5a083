// /volumes/...: create, list, inspect, remove and prune volumes of the local
// driver (kept by stored), and the "Mounts" of container inspect.
#pragma once

#include <string>

#include "apiserver/backends/backends.h"
#include "apiserver/router.h"
#include "common/json.h"

namespace berth::apiserver {

class VolumeHandlers {
 public:
  explicit VolumeHandlers(VolumeBackend* volumes) : volumes_(volumes) {}

  void Register(Router& router);

  absl::Status Create(Exchange& exchange);
  absl::Status List(Exchange& exchange);
  absl::Status Inspect(Exchange& exchange, const std::string& name);
  absl::Status Remove(Exchange& exchange, const std::string& name);
  absl::Status Prune(Exchange& exchange);

 private:
  VolumeBackend* volumes_;
};

// Docker's Volume object.
Json RenderVolume(const storage::v1::Volume& volume);

// Inspect's "Mounts" from the container's Config and HostConfig, as Docker
// shows them (Type, Name, Source, Destination, Driver, Mode, RW,
// Propagation). volumes_dir is where stored keeps volumes (<root>/stored/volumes).
Json RenderMounts(const runtime::v1::Container& container, const std::string& volumes_dir);

}  // namespace berth::apiserver
