// GET /containers/{name}/stats: docker stats. runtimed gives one sample of
// the counters; this handler samples once a second, pairs each sample with
// the previous one (precpu_stats, for the CLI's CPU percentage) and renders
// Docker's JSON.
#pragma once

#include "apiserver/backends/stats_backend.h"
#include "apiserver/router.h"
#include "common/json.h"

namespace berth::apiserver {

class StatsHandlers {
 public:
  explicit StatsHandlers(StatsBackend* stats) : stats_(stats) {}

  void Register(Router& router);
  absl::Status Stats(Exchange& exchange, const std::string& name);

 private:
  StatsBackend* stats_;
};

// Docker's ContainerStatsResponse for `sample`, with `previous` as
// precpu_stats / preread (nullptr: zeros).
Json RenderStats(const runtime::v1::ContainerStatsResponse& sample,
                 const runtime::v1::ContainerStatsResponse* previous);

}  // namespace berth::apiserver
