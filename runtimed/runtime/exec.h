// Starting an extra process in a running container (docker exec, runc exec).
//
// The process joins every namespace of the container's init through
// /proc/<pid>/ns/* (the user namespace first, so that the others, owned by
// it, can be joined), the init's cgroup, and the init's root as seen through
// /proc/<pid>/root, which is right whether the init pivoted in its own mount
// namespace or only chrooted. From there it goes through the same final steps
// as the init (PrepareProcess): rlimits, user, capabilities, no_new_privs,
// and only descriptors 0-2 survive into it.
#pragma once

#include <sys/types.h>

#include "absl/status/statusor.h"
#include "runtimed/runtime/cgroups.h"
#include "runtimed/runtime/process.h"
#include "runtimed/runtime/spec.h"

namespace berth::runtime {

struct ExecOptions {
  // The container's init, as seen from the caller's pid namespace.
  pid_t init_pid = 0;
  // The process's stdio. With `terminal` the pty is allocated inside the
  // container's devpts and its master sent over io.console_socket, as for
  // an init (console.h).
  ContainerIo io;
  // With a terminal: its size before the process runs (0: the kernel's
  // default), so that the first `stty size` is already right.
  unsigned short rows = 0;
  unsigned short cols = 0;
  // The container's cgroup, joined before the process runs anything of its
  // own; nullptr leaves it in the caller's.
  CgroupManager* cgroup = nullptr;
  // The container's linux.seccomp: an exec'd process is confined as the
  // init is. nullptr for none.
  const Seccomp* seccomp = nullptr;
  std::string seccomp_cache_dir;  // as CreateOptions'
};

// Returns the pid (a child of the caller) once the process has exec'd, or
// the reason it could not, in runc's words (NotFound `exec: "x": executable
// file not found in $PATH`, PermissionDenied for one that is not
// executable); then nothing is left running. The caller must be single
// threaded: joining the pid namespace goes through its own
// pid_for_children for the duration of the fork.
absl::StatusOr<pid_t> ExecInContainer(const Process& process, const ExecOptions& options);

}  // namespace berth::runtime
