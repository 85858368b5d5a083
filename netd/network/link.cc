#include "netd/network/link.h"

#include "absl/strings/str_cat.h"

namespace berth::netd {

absl::StatusOr<Link> ParseLink(const std::string& text) {
  const size_t colon = text.find(':');
  Link link{text.substr(0, colon), colon == std::string::npos ? "" : text.substr(colon + 1)};
  if (!link.name.empty() && link.name[0] == '/') link.name.erase(0, 1);
  if (colon == std::string::npos) link.alias = link.name;
  if (const size_t slash = link.alias.rfind('/'); slash != std::string::npos) {
    link.alias.erase(0, slash + 1);
  }
  if (link.name.empty() || link.alias.empty()) {
    return absl::InvalidArgumentError(absl::StrCat("invalid link: ", text));
  }
  return link;
}

}  // namespace berth::netd
