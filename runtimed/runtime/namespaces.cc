#include "runtimed/runtime/namespaces.h"

#include <fcntl.h>
#include <sched.h>
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
    if (ns.path.empty()) continue;
    int fd = open(ns.path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) return LastErrnoStatus(absl::StrCat("open ", ns.type, " namespace ", ns.path));
    int rc = setns(fd, ns.flag);
    int err = errno;
    close(fd);
    if (rc != 0) return ErrnoStatus(err, absl::StrCat("join ", ns.type, " namespace ", ns.path));
  }
  return absl::OkStatus();
}

absl::Status UnshareCgroupNamespace(const Spec& spec) {
  const Namespace* ns = spec.FindNamespace("cgroup");
  if (ns == nullptr || !ns->path.empty()) return absl::OkStatus();
  if (unshare(CLONE_NEWCGROUP) != 0) return LastErrnoStatus("unshare the cgroup namespace");
  return absl::OkStatus();
}

}  // namespace berth::runtime
