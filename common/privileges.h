// Reducing a process to the privileges its job needs, between fork and exec.
//
// A daemon either keeps uid 0 with a smaller capability bounding set (after
// exec, root's permitted set is limited by the bounding set, so dropping from
// the bounding set is enough), or becomes an unprivileged user with no
// capabilities at all.
#pragma once

#include <sys/types.h>

#include <string>
#include <vector>

#include "absl/status/statusor.h"

namespace berth {

struct Identity {
  uid_t uid = 0;
  gid_t gid = 0;
  std::string name;
};

// Looks up a user by name in the host's user database.
absl::StatusOr<Identity> LookupUser(const std::string& name);

// Looks up a group ID by name.
absl::StatusOr<gid_t> LookupGroup(const std::string& name);

struct PrivilegeSpec {
  // Keep uid 0 and only these capabilities (names like "CAP_SYS_ADMIN");
  // empty with keep_root means keep every capability.
  bool keep_root = true;
  std::vector<std::string> capabilities;
  // For !keep_root: the user to become, with these supplementary groups.
  Identity user;
  std::vector<gid_t> supplementary_groups;
};

// Applies spec to the calling process. Only async-signal-safe-ish work after
// the lookups the caller did before fork: meant for the child between fork and
// exec. Also sets no_new_privs for unprivileged daemons.
absl::Status ApplyPrivileges(const PrivilegeSpec& spec);

// The capability number for a name such as "CAP_NET_ADMIN" or "NET_ADMIN".
absl::StatusOr<int> CapabilityFromName(const std::string& name);

}  // namespace berth
