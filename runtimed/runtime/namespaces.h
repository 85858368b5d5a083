// Linux namespaces of a container: the ones created by clone and the ones
// joined by path (e.g. the network namespace netd prepared).
#pragma once

#include "absl/status/status.h"
#include "runtimed/runtime/spec.h"

namespace berth::runtime {

// CLONE_NEW* flags for clone(2): namespaces to create, not those joined by
// path. The cgroup namespace is left out: it is unshared once the process is
// in its cgroup, so that the cgroup becomes the namespace's root.
int CloneFlags(const Spec& spec);

// setns(2) into every namespace the spec names by path. Runs in the
// container's init before anything else.
absl::Status JoinNamespaces(const Spec& spec);

// unshare(CLONE_NEWCGROUP) when the spec asks for a new cgroup namespace.
absl::Status UnshareCgroupNamespace(const Spec& spec);

}  // namespace berth::runtime
