// One entry of HostConfig.Links, which both legacy links on the default bridge
// (/etc/hosts lines) and links on user networks (DNS aliases) read.
#pragma once

#include <string>

#include "absl/status/statusor.h"

namespace berth::netd {

struct Link {
  std::string name;   // the linked container, without a leading "/"
  std::string alias;  // the name the linking container knows it by
};

// "name:alias", the daemon's own "/name:/container/alias", or "name" alone,
// which links under its own name as the CLI's --link does.
absl::StatusOr<Link> ParseLink(const std::string& text);

}  // namespace berth::netd
