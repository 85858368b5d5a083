// POST /commit (docker commit): the container is paused while imaged takes
// its changes from stored, as Docker does by default. POST /build (docker
// build, the legacy builder): the body (the context tar) is streamed to
// imaged and imaged's JSON messages are copied back as they come.
#pragma once

#include <string>
#include <vector>

#include "apiserver/backends/backends.h"
#include "apiserver/backends/build_backend.h"
#include "apiserver/router.h"
#include "common/json.h"

namespace berth::apiserver {

class BuildHandlers {
 public:
  // Not owned.
  BuildHandlers(BuildBackend* builds, ContainerBackend* containers)
      : builds_(builds), containers_(containers) {}

  void Register(Router& router);
  absl::Status Commit(Exchange& exchange);
  absl::Status Build(Exchange& exchange);
  // POST /build/prune (docker builder prune, docker system prune).
  absl::Status Prune(Exchange& exchange);
  // The BuildCache list of GET /system/df.
  absl::StatusOr<Json> DiskUsage();

 private:
  BuildBackend* builds_;
  ContainerBackend* containers_;
};

// The build's parameters from POST /build's query: t, buildargs, labels,
// dockerfile, target, nocache, pull, q, platform, and networkmode,
// extrahosts, memory, memswap, cpushares, cpusetcpus, cpuperiod, cpuquota,
// shmsize for the RUN containers' HostConfig.
absl::StatusOr<image::v1::BuildParameters> BuildParametersFrom(const Query& query);

// A build cache record as GET /system/df's BuildCache lists it.
Json RenderBuildCacheRecord(const image::v1::BuildCacheRecord& record);

// POST /build/prune's query: all, and filters until= (unused-for=, its old
// name); other filters are refused in Docker's words.
absl::StatusOr<image::v1::PruneBuildCacheRequest> BuildPruneRequestFrom(const Query& query,
                                                                        int64_t now_seconds);

// Container paths whose content is not the container's own: volumes, binds
// and tmpfs mounts, from its Config and HostConfig.
std::vector<std::string> MountPoints(const Json& config, const Json& host_config);

// The config a commit starts from: the container's, with the non-empty
// fields of the request body's Config over it (Moby's merge).
Json CommitConfig(const Json& container_config, const Json& body);

}  // namespace berth::apiserver
