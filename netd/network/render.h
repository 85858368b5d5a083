// Docker's JSON shapes for networks (GET /networks/{id}) and for a
// container's NetworkSettings (container inspect), rendered by netd so the
// apiserver and runtimed pass them through untouched.
#pragma once

#include <string>
#include <utility>
#include <vector>

#include "common/json.h"
#include "netd/network/model.h"

namespace berth::netd {

// RFC 3339 with nanoseconds, UTC, as Docker prints times.
std::string FormatTime(int64_t unix_nanos);

Json RenderNetwork(const Network& network, const std::vector<Endpoint>& endpoints);

// One entry of NetworkSettings.Networks.
Json RenderEndpointSettings(const Network& network, const Endpoint& endpoint);

// NetworkSettings: `attached` lists the container's networks with their
// endpoints; the default bridge's endpoint also fills the top-level fields.
Json RenderNetworkSettings(const std::string& sandbox_id, const std::string& sandbox_key,
                           const std::vector<std::pair<Network, Endpoint>>& attached,
                           const std::vector<Network>& endpointless);

}  // namespace berth::netd
