// Legacy links (docker run --link name:alias) on the default bridge: the
// linked container's address under the alias in the linking container's
// /etc/hosts, as Docker writes it ("<address>\t<alias> <hostname> <name>").
// On user-defined networks links are DNS aliases instead (netd/dns).
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "common/json.h"

namespace berth::netd {

struct LinkTarget {
  std::string container_id;
  // Its address on the default bridge; 0 when it is not on it.
  uint32_t address = 0;
};

// `links`: HostConfig.Links ("name:alias", "/name:/me/alias" or "name").
// `find` returns the running container of that name (without "/"), if any.
absl::StatusOr<std::vector<std::string>> LegacyLinkHosts(
    const Json& links, const std::string& container_name,
    const std::function<std::optional<LinkTarget>(const std::string&)>& find);

}  // namespace berth::netd
