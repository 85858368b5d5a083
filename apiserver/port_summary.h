// `docker ps`'s Ports column: the list form of NetworkSettings.Ports.
#pragma once

#include "common/json.h"

namespace berth::apiserver {

// {"80/tcp": [{"HostIp": "0.0.0.0", "HostPort": "8080"}], "443/tcp": null} ->
// [{"IP": "0.0.0.0", "PrivatePort": 80, "PublicPort": 8080, "Type": "tcp"},
//  {"PrivatePort": 443, "Type": "tcp"}]. Malformed entries are skipped.
Json PortSummaries(const Json& ports);

}  // namespace berth::apiserver
