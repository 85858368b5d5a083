// Linux namespaces of a container: the ones created by clone and the ones
// joined by path (e.g. the network namespace netd prepared).
#pragma once

#include <memory>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "runtimed/runtime/spec.h"

namespace berth::runtime {

// CLONE_NEW* flags for clone(2): namespaces to create, not those joined by
// path. The cgroup namespace is left out: it is unshared once the process is
// in its cgroup, so that the cgroup becomes the namespace's root; and the
// time namespace (UnshareTimeNamespace).
int CloneFlags(const Spec& spec);

// setns(2) into every namespace the spec names by path, but the pid
// namespace (ChildPidNamespace); a user namespace first, since the others
// are checked against it. Runs in the container's init before anything else
// (or, see NeedsJoinBeforeClone, in the process that clones the init).
absl::Status JoinNamespaces(const Spec& spec);

// Whether namespaces joined by path must be joined before the init is
// cloned rather than by the init itself: with a user namespace, new
// namespaces belong to the user namespace current at their birth, and once
// in a new user namespace the init may no longer join one the host owns
// (runc's nsexec joins first, then unshares, for the same reason).
bool NeedsJoinBeforeClone(const Spec& spec);

// Writes /proc/<pid>/uid_map and gid_map from the spec's mappings, for an
// init born in a new user namespace (setgroups "deny" first when the caller
// lacks CAP_SETGID over the parent namespace, as the kernel requires then).
absl::Status WriteIdMappings(pid_t pid, const Spec& spec);

// In a user namespace, the init starts as the host's root, which the
// namespace may not map (it then acts as the overflow id and can create no
// file). It becomes the namespace's root, and drops the host's supplementary
// groups; no-op without a user namespace.
absl::Status BecomeNamespaceRoot(const Spec& spec);

// A pid namespace can only be entered at birth: while one of these lives,
// the caller's children are born in the namespace at `path` (setns on its
// pid_for_children); destruction restores the caller's own. The caller must
// not fork from other threads meanwhile.
class ChildPidNamespace {
 public:
  // An empty path changes nothing.
  static absl::StatusOr<std::unique_ptr<ChildPidNamespace>> Enter(const std::string& path);
  ~ChildPidNamespace();
  ChildPidNamespace(const ChildPidNamespace&) = delete;
  ChildPidNamespace& operator=(const ChildPidNamespace&) = delete;

 private:
  explicit ChildPidNamespace(int own) : own_(own) {}
  int own_;  // the caller's pid namespace, -1 when unchanged
};

// CLONE_NEWTIME, which older headers lack. clone(2) cannot take it (the
// bit is part of the exit signal there): the init unshares it instead.
inline constexpr int kCloneNewTime = 0x00000080;

// For a new time namespace: unshare(CLONE_NEWTIME) and the spec's
// linux.timeOffsets written for it. The caller stays in its own time
// namespace; its children, and itself once it execs, are in the new one.
absl::Status UnshareTimeNamespace(const Spec& spec);

// unshare(CLONE_NEWCGROUP) when the spec asks for a new cgroup namespace.
absl::Status UnshareCgroupNamespace(const Spec& spec);

}  // namespace berth::runtime
