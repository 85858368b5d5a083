#include "runtimed/runtime/namespaces.h"

#include <fcntl.h>
#include <sched.h>
#include <stdlib.h>
#include <unistd.h>

#include "absl/strings/str_cat.h"
#include "common/status.h"

namespace berth::runtime {

int CloneFlags(const Spec& spec) {
  int flags = 0;
  for (const Namespace& ns : spec.namespaces) {
    if (ns.path.empty() && ns.flag != CLONE_NEWCGROUP) flags |= ns.flag;
  }
  return flags;
}

absl::Status JoinNamespaces(const Spec& spec) {
  for (const Namespace& ns : spec.namespaces) {
    if (ns.path.empty() || ns.flag == CLONE_NEWPID) continue;
    int fd = open(ns.path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) return LastErrnoStatus(absl::StrCat("open ", ns.type, " namespace ", ns.path));
    int rc = setns(fd, ns.flag);
    int err = errno;
    close(fd);
    if (rc != 0) return ErrnoStatus(err, absl::StrCat("join ", ns.type, " namespace ", ns.path));
  }
  return absl::OkStatus();
}

absl::StatusOr<std::unique_ptr<ChildPidNamespace>> ChildPidNamespace::Enter(
    const std::string& path) {
  if (path.empty()) return std::unique_ptr<ChildPidNamespace>(new ChildPidNamespace(-1));
  int own = open("/proc/self/ns/pid", O_RDONLY | O_CLOEXEC);
  if (own < 0) return LastErrnoStatus("open /proc/self/ns/pid");
  int target = open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (target < 0) {
    absl::Status status = LastErrnoStatus("open pid namespace " + path);
    close(own);
    return status;
  }
  int rc = setns(target, CLONE_NEWPID);
  int err = errno;
  close(target);
  if (rc != 0) {
    close(own);
    return ErrnoStatus(err, "join pid namespace " + path);
  }
  return std::unique_ptr<ChildPidNamespace>(new ChildPidNamespace(own));
}

ChildPidNamespace::~ChildPidNamespace() {
  if (own_ < 0) return;
  // Cannot fail: returning to one's own active namespace is always allowed.
  // If it did, every later child would be born in the container.
  if (setns(own_, CLONE_NEWPID) != 0) abort();
  close(own_);
}

absl::Status UnshareCgroupNamespace(const Spec& spec) {
  const Namespace* ns = spec.FindNamespace("cgroup");
  if (ns == nullptr || !ns->path.empty()) return absl::OkStatus();
  if (unshare(CLONE_NEWCGROUP) != 0) return LastErrnoStatus("unshare the cgroup namespace");
  return absl::OkStatus();
}

}  // namespace berth::runtime
