// The daemons' event streams (berth.events.v1.EventService) as the /events
// handler needs them.
#pragma once

#include <memory>
#include <vector>

#include "apiserver/backends/backends.h"
#include "proto/events/v1/events.pb.h"

namespace berth::apiserver {

class EventBackend {
 public:
  virtual ~EventBackend() = default;
  // One stream per daemon, each replaying its journal from since_nano (0:
  // none) and ending after until_nano (0: never).
  virtual std::vector<std::unique_ptr<ReadStream<events::v1::Event>>> Watch(int64_t since_nano,
                                                                            int64_t until_nano) = 0;
};

}  // namespace berth::apiserver
