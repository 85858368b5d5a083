// Docker's EndpointSettings for a network a container is on without an
// endpoint there (a stopped container, host and none modes): every field
// present, none filled but the network's ID. netd renders it for running
// containers, the apiserver for stopped ones; clients compare the two.
#pragma once

#include <string>

#include "common/json.h"

namespace berth {

inline Json EmptyEndpointSettings(const std::string& network_id) {
  return {
      {"IPAMConfig", nullptr},   {"Links", nullptr},         {"Aliases", nullptr},
      {"MacAddress", ""},        {"DriverOpts", nullptr},    {"GwPriority", 0},
      {"NetworkID", network_id}, {"EndpointID", ""},         {"Gateway", ""},
      {"IPAddress", ""},         {"IPPrefixLen", 0},         {"IPv6Gateway", ""},
      {"GlobalIPv6Address", ""}, {"GlobalIPv6PrefixLen", 0}, {"DNSNames", nullptr},
  };
}

}  // namespace berth
