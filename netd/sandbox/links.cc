#include "netd/sandbox/links.h"

#include "absl/strings/str_cat.h"
#include "common/status.h"
#include "netd/ipam/address.h"
#include "netd/network/link.h"

namespace berth::netd {

absl::StatusOr<std::vector<std::string>> LegacyLinkHosts(
    const Json& links, const std::string& container_name,
    const std::function<std::optional<LinkTarget>(const std::string&)>& find) {
  std::vector<std::string> lines;
  if (!links.is_array()) return lines;
  for (const Json& link : links) {
    if (!link.is_string() || link.get<std::string>().empty()) continue;
    ASSIGN_OR_RETURN(Link parsed, ParseLink(link.get<std::string>()));
    const std::string& name = parsed.name;
    const std::string& alias = parsed.alias;
    std::optional<LinkTarget> target = find(name);
    if (!target) {
      return absl::FailedPreconditionError(absl::StrCat("Cannot link to a non running container: /",
                                                        name, " AS /", container_name, "/", alias));
    }
    if (target->address == 0) {
      return absl::InvalidArgumentError(
          absl::StrCat("Cannot link to /", name, ", as it does not belong to the default network"));
    }
    // The alias, the target's hostname (its short ID unless set) and its
    // name when the alias is not already that.
    std::string names = absl::StrCat(alias, " ", target->container_id.substr(0, 12));
    if (alias != name) absl::StrAppend(&names, " ", name);
    lines.push_back(absl::StrCat(FormatIpv4(target->address), "\t", names));
  }
  return lines;
}

}  // namespace berth::netd
