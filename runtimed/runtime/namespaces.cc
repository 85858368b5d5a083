#include "runtimed/runtime/namespaces.h"

#include <fcntl.h>
#include <grp.h>
#include <sched.h>
#include <stdlib.h>
#include <sys/prctl.h>
#include <unistd.h>

#include "absl/strings/str_cat.h"
#include "common/status.h"

namespace berth::runtime {
namespace {

absl::Status JoinNamespace(const Namespace& ns) {
  int fd = open(ns.path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return LastErrnoStatus(absl::StrCat("open ", ns.type, " namespace ", ns.path));
  int rc = setns(fd, ns.flag);
  int err = errno;
  close(fd);
  if (rc == 0) return absl::OkStatus();
  if (err == EINVAL) {
    // setns checks the type against the file: a path to another kind of
    // namespace (or no namespace at all) lands here.
    return absl::InvalidArgumentError(absl::StrCat("join ", ns.type, " namespace: ", ns.path,
                                                   " is not a ", ns.type, " namespace"));
  }
  return ErrnoStatus(err, absl::StrCat("join ", ns.type, " namespace ", ns.path));
}

absl::Status WriteProcFile(pid_t pid, const char* name, const std::string& text) {
  std::string path = absl::StrCat("/proc/", pid, "/", name);
  int fd = open(path.c_str(), O_WRONLY | O_CLOEXEC);
  if (fd < 0) return LastErrnoStatus("open " + path);
  // One write: the kernel takes a map in a single write(2) only.
  ssize_t n = write(fd, text.data(), text.size());
  int err = errno;
  close(fd);
  if (n != static_cast<ssize_t>(text.size())) {
    return ErrnoStatus(n < 0 ? err : EIO, absl::StrCat("write ", path, " (", text, ")"));
  }
  return absl::OkStatus();
}

}  // namespace

int CloneFlags(const Spec& spec) {
  int flags = 0;
  for (const Namespace& ns : spec.namespaces) {
    if (ns.path.empty() && ns.flag != CLONE_NEWCGROUP && ns.flag != kCloneNewTime) {
      flags |= ns.flag;
    }
  }
  return flags;
}

absl::Status JoinNamespaces(const Spec& spec) {
  if (const Namespace* user = spec.FindNamespace("user"); user != nullptr && !user->path.empty()) {
    RETURN_IF_ERROR(JoinNamespace(*user));
  }
  for (const Namespace& ns : spec.namespaces) {
    if (ns.path.empty() || ns.flag == CLONE_NEWPID || ns.flag == CLONE_NEWUSER) continue;
    RETURN_IF_ERROR(JoinNamespace(ns));
  }
  return absl::OkStatus();
}

bool NeedsJoinBeforeClone(const Spec& spec) {
  if (spec.FindNamespace("user") == nullptr) return false;
  for (const Namespace& ns : spec.namespaces) {
    if (!ns.path.empty()) return true;
  }
  return false;
}

absl::Status WriteIdMappings(pid_t pid, const Spec& spec) {
  const Namespace* user = spec.FindNamespace("user");
  if (user == nullptr || !user->path.empty()) return absl::OkStatus();
  if (geteuid() != 0) RETURN_IF_ERROR(WriteProcFile(pid, "setgroups", "deny"));
  RETURN_IF_ERROR(
      Annotate(WriteProcFile(pid, "uid_map", FormatIdMap(spec.uid_mappings)), "linux.uidMappings"));
  return Annotate(WriteProcFile(pid, "gid_map", FormatIdMap(spec.gid_mappings)),
                  "linux.gidMappings");
}

absl::Status BecomeNamespaceRoot(const Spec& spec) {
  if (spec.FindNamespace("user") == nullptr) return absl::OkStatus();
  // Without root mapped there is no namespace root to become; the process
  // switches to its own user later, as any other.
  if (setresgid(0, 0, 0) != 0 && errno != EINVAL)
    return LastErrnoStatus("setgid 0 in the user namespace");
  if (setgroups(0, nullptr) != 0 && errno != EPERM)
    return LastErrnoStatus("setgroups in the user namespace");
  if (setresuid(0, 0, 0) != 0 && errno != EINVAL)
    return LastErrnoStatus("setuid 0 in the user namespace");
  // The uid change made the init non-dumpable, which hands its /proc
  // entries to the host's root, unmapped here: the init could not open its
  // own /proc/self/* any more. exec sets this again from the binary.
  prctl(PR_SET_DUMPABLE, 1, 0, 0, 0);
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
    if (err == EINVAL) {
      return absl::InvalidArgumentError("join pid namespace: " + path + " is not a pid namespace");
    }
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

absl::Status UnshareTimeNamespace(const Spec& spec) {
  const Namespace* ns = spec.FindNamespace("time");
  if (ns == nullptr || !ns->path.empty()) return absl::OkStatus();
  if (unshare(kCloneNewTime) != 0) {
    if (errno == EINVAL) {
      return absl::InvalidArgumentError(
          "linux.namespaces: time namespaces are not supported by this kernel (5.6 or later)");
    }
    return LastErrnoStatus("unshare the time namespace");
  }
  if (spec.time_offsets.empty()) return absl::OkStatus();
  // Only until a process enters the namespace, hence now, before the init
  // forks anything; execve then moves the init itself into it.
  std::string text;
  for (const auto& [clock, offset] : spec.time_offsets) {
    absl::StrAppend(&text, clock, " ", offset.secs, " ", offset.nanosecs, "\n");
  }
  // /proc/self, not /proc/<getpid()>: the init may be pid 1 of a new pid
  // namespace while /proc is still the host's.
  int fd = open("/proc/self/timens_offsets", O_WRONLY | O_CLOEXEC);
  if (fd < 0) return LastErrnoStatus("linux.timeOffsets: open /proc/self/timens_offsets");
  ssize_t n = write(fd, text.data(), text.size());
  int err = errno;
  close(fd);
  if (n != static_cast<ssize_t>(text.size())) {
    return ErrnoStatus(n < 0 ? err : EIO, "linux.timeOffsets: write " + text);
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
