// docker run --volumes-from: the volumes and binds of other containers.
// Resolved once, at create: the donors' mounts are appended to the new
// container's HostConfig.Mounts, so that everything reading the record
// (start, rm -v, the apiserver's inspect, docker cp's view) sees the same
// mounts without knowing about VolumesFrom, and a donor removed later
// changes nothing (its volumes stay in use by this container).
#pragma once

#include <functional>
#include <string>

#include "absl/status/statusor.h"
#include "common/json.h"
#include "proto/runtime/v1/runtime.pb.h"

namespace berth::runtimed {

using ContainerLookup =
    std::function<absl::StatusOr<runtime::v1::Container>(const std::string& ref)>;

// HostConfig.VolumesFrom entries are "<container>[:ro|:rw]". Mounts of the
// new container itself win over a donor's at the same destination. tmpfs
// mounts are not shared, as in Docker.
absl::Status ExpandVolumesFrom(const Json& config, Json& host_config, const std::string& id,
                               const ContainerLookup& lookup);

// Refuses a bind whose source is the engine's data root or inside it (its
// databases, layers and other containers' files): a container must never
// reach them. Binds of a parent such as "/" stay allowed, as in Docker.
absl::Status CheckBindSource(const std::string& source, const std::string& engine_root);

}  // namespace berth::runtimed
