#include "common/privileges.h"

#include <grp.h>
#include <linux/capability.h>
#include <pwd.h>
#include <sys/capability.h>
#include <sys/prctl.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <set>

#include "common/status.h"

namespace berth {

absl::StatusOr<Identity> LookupUser(const std::string& name) {
  struct passwd entry;
  struct passwd* result = nullptr;
  std::vector<char> buffer(16384);
  int rc = getpwnam_r(name.c_str(), &entry, buffer.data(), buffer.size(), &result);
  if (rc != 0) return ErrnoStatus(rc, "look up user " + name);
  if (result == nullptr) return absl::NotFoundError("no such user: " + name);
  return Identity{entry.pw_uid, entry.pw_gid, name};
}

absl::StatusOr<gid_t> LookupGroup(const std::string& name) {
  struct group entry;
  struct group* result = nullptr;
  std::vector<char> buffer(16384);
  int rc = getgrnam_r(name.c_str(), &entry, buffer.data(), buffer.size(), &result);
  if (rc != 0) return ErrnoStatus(rc, "look up group " + name);
  if (result == nullptr) return absl::NotFoundError("no such group: " + name);
  return entry.gr_gid;
}

absl::StatusOr<int> CapabilityFromName(const std::string& name) {
  std::string lower;
  for (char c : name) lower.push_back(static_cast<char>(std::tolower(c)));
  if (lower.rfind("cap_", 0) != 0) lower = "cap_" + lower;
  cap_value_t value;
  if (cap_from_name(lower.c_str(), &value) != 0) {
    return absl::InvalidArgumentError("unknown capability: " + name);
  }
  return static_cast<int>(value);
}

absl::Status ApplyPrivileges(const PrivilegeSpec& spec) {
  if (spec.keep_root) {
    if (spec.capabilities.empty()) return absl::OkStatus();
    std::set<int> keep;
    for (const std::string& name : spec.capabilities) {
      ASSIGN_OR_RETURN(int cap, CapabilityFromName(name));
      keep.insert(cap);
    }
    for (int cap = 0; cap <= CAP_LAST_CAP; ++cap) {
      if (keep.count(cap) != 0) continue;
      if (prctl(PR_CAPBSET_DROP, cap, 0, 0, 0) != 0 && errno != EINVAL) {
        return LastErrnoStatus("drop capability " + std::to_string(cap));
      }
    }
    return absl::OkStatus();
  }
  const std::vector<gid_t>& groups = spec.supplementary_groups;
  if (setgroups(groups.size(), groups.data()) != 0) return LastErrnoStatus("setgroups");
  if (setresgid(spec.user.gid, spec.user.gid, spec.user.gid) != 0) {
    return LastErrnoStatus("setresgid");
  }
  // Without PR_SET_KEEPCAPS, changing every uid away from 0 clears the
  // permitted and effective sets; clear the bounding set too so nothing can
  // regain a capability through a file with file capabilities.
  for (int cap = 0; cap <= CAP_LAST_CAP; ++cap) prctl(PR_CAPBSET_DROP, cap, 0, 0, 0);
  if (setresuid(spec.user.uid, spec.user.uid, spec.user.uid) != 0) {
    return LastErrnoStatus("setresuid");
  }
  if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0) return LastErrnoStatus("no_new_privs");
  return absl::OkStatus();
}

}  // namespace berth
