// Resolving Docker's Config.User ("name", "uid", "uid:gid", "name:group")
// against the container's own /etc/passwd and /etc/group, with the rules of
// runc's libcontainer/user (which Docker uses).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"

namespace berth::runtimed {

struct ResolvedUser {
  uint32_t uid = 0;
  uint32_t gid = 0;
  std::vector<uint32_t> additional_gids;
  std::string home = "/";
};

// passwd / group: the files' contents, nullopt when the image has none.
// group_add: HostConfig.GroupAdd (names or numbers), appended to the
// supplementary groups.
absl::StatusOr<ResolvedUser> ResolveUser(const std::string& user,
                                         const std::optional<std::string>& passwd,
                                         const std::optional<std::string>& group,
                                         const std::vector<std::string>& group_add = {});

}  // namespace berth::runtimed
