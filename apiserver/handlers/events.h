// GET /events: the daemons' events merged into Docker's stream of event
// messages, with --since/--until and filters.
#pragma once

#include "apiserver/backends/events_backend.h"
#include "apiserver/filters.h"
#include "apiserver/router.h"
#include "common/json.h"

namespace berth::apiserver {

class EventHandlers {
 public:
  explicit EventHandlers(EventBackend* events) : events_(events) {}
  void Register(Router& router);
  absl::Status Events(Exchange& exchange);

 private:
  EventBackend* events_;
};

// Docker's events.Message for an event (with the deprecated status/id/from
// of container and image events, which older clients still read).
Json RenderEvent(const events::v1::Event& event);

// Docker's event filters: type, event, container, image, label, network,
// volume, daemon, scope.
bool EventMatches(const Filters& filters, const events::v1::Event& event);

}  // namespace berth::apiserver
