// runtimed's stats call as the stats handler needs it.
#pragma once

#include <string>

#include "absl/status/statusor.h"
#include "proto/runtime/v1/runtime.pb.h"

namespace berth::apiserver {

class StatsBackend {
 public:
  virtual ~StatsBackend() = default;
  // One sample; `running` false (and zero counters) for a stopped container.
  virtual absl::StatusOr<runtime::v1::ContainerStatsResponse> ContainerStats(
      const std::string& container) = 0;
};

}  // namespace berth::apiserver
