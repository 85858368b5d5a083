#include "runtimed/runtime/capabilities.h"

#include <grp.h>
#include <sys/capability.h>
#include <sys/prctl.h>
#include <unistd.h>

#include <algorithm>
#include <vector>

#include "absl/strings/str_cat.h"
#include "common/status.h"

namespace berth::runtime {
namespace {

bool Contains(const std::vector<int>& set, int cap) {
  return std::find(set.begin(), set.end(), cap) != set.end();
}

absl::Status SetFlag(cap_t state, cap_flag_t flag, const std::vector<int>& set) {
  if (set.empty()) return absl::OkStatus();
  std::vector<cap_value_t> values(set.begin(), set.end());
  if (cap_set_flag(state, flag, static_cast<int>(values.size()), values.data(), CAP_SET) != 0) {
    return LastErrnoStatus("cap_set_flag");
  }
  return absl::OkStatus();
}

}  // namespace

absl::Status DropBoundingSet(const Capabilities& caps) {
  int last = static_cast<int>(cap_max_bits()) - 1;
  for (int cap = 0; cap <= last; ++cap) {
    if (Contains(caps.bounding, cap)) continue;
    // EINVAL: a capability this kernel does not know, nothing to drop.
    if (prctl(PR_CAPBSET_DROP, cap, 0, 0, 0) != 0 && errno != EINVAL) {
      return LastErrnoStatus(absl::StrCat("drop capability ", cap, " from the bounding set"));
    }
  }
  return absl::OkStatus();
}

absl::Status ApplyCapabilities(const Capabilities& caps) {
  cap_t state = cap_init();
  if (state == nullptr) return LastErrnoStatus("cap_init");
  absl::Status status = SetFlag(state, CAP_EFFECTIVE, caps.effective);
  if (status.ok()) status = SetFlag(state, CAP_PERMITTED, caps.permitted);
  if (status.ok()) status = SetFlag(state, CAP_INHERITABLE, caps.inheritable);
  if (status.ok() && cap_set_proc(state) != 0) status = LastErrnoStatus("apply capabilities");
  cap_free(state);
  RETURN_IF_ERROR(status);
  prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0);
  for (int cap : caps.ambient) {
    // Like runc: an ambient capability missing from permitted or inheritable
    // cannot be raised, and that is not fatal.
    prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_RAISE, cap, 0, 0);
  }
  return absl::OkStatus();
}

absl::Status SwitchUser(const User& user, bool keep_caps) {
  if (keep_caps && prctl(PR_SET_KEEPCAPS, 1, 0, 0, 0) != 0) {
    return LastErrnoStatus("prctl(PR_SET_KEEPCAPS)");
  }
  if (setgroups(user.additional_gids.size(), user.additional_gids.data()) != 0) {
    return LastErrnoStatus("setgroups");
  }
  if (setresgid(user.gid, user.gid, user.gid) != 0) {
    return LastErrnoStatus(absl::StrCat("setgid ", user.gid));
  }
  if (setresuid(user.uid, user.uid, user.uid) != 0) {
    return LastErrnoStatus(absl::StrCat("setuid ", user.uid));
  }
  if (keep_caps && prctl(PR_SET_KEEPCAPS, 0, 0, 0, 0) != 0) {
    return LastErrnoStatus("prctl(PR_SET_KEEPCAPS)");
  }
  return absl::OkStatus();
}

}  // namespace berth::runtime
