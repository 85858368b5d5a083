// The container process's own settings, applied by its init just before
// exec: stdio, executable lookup, rlimits, OOM score, sysctls, descriptors.
#pragma once

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "runtimed/runtime/seccomp.h"
#include "runtimed/runtime/spec.h"

namespace berth::runtime {

// The container's stdio. A descriptor of -1 becomes /dev/null. With
// `terminal`, stdin is a pty slave that becomes the controlling terminal.
struct ContainerIo {
  int stdin_fd = -1;
  int stdout_fd = -1;
  int stderr_fd = -1;
  bool terminal = false;
  // With `terminal` for a new container, the three descriptors above are
  // unused: its init allocates the pty in the container's own devpts and
  // sends the master over this unix socket (see console.h), which the init
  // inherits and closes. The caller keeps its own end.
  int console_socket = -1;
};

// Finds args[0] the way Go's exec.LookPath does (runc and Docker's wording):
// through PATH from `env` unless it contains a '/'. NotFound
// `exec: "foo": executable file not found in $PATH`, PermissionDenied
// `exec: "/etc/passwd": permission denied`.
absl::StatusOr<std::string> LookPath(const std::string& file, const std::vector<std::string>& env);

// Puts io on descriptors 0-2 and starts a new session (whose controlling
// terminal is the pty with io.terminal).
absl::Status SetupStdio(const ContainerIo& io);

// Sets each rlimit; a hard limit above what may be raised is capped at the
// current hard limit rather than failing.
absl::Status ApplyRlimits(const std::vector<Rlimit>& rlimits);

// Of the process `pid` (0: the caller).
absl::Status SetOomScoreAdj(int value, pid_t pid = 0);

// Writes net.ipv4.ip_forward=1 to /proc/sys/net/ipv4/ip_forward, etc.
absl::Status ApplySysctls(const std::map<std::string, std::string>& sysctl);

// Closes every descriptor except 0-2 and `keep` (no host descriptor may
// reach the container: CVE-2024-21626).
void CloseDescriptorsExcept(int keep);

// The last steps before exec shared by a container's init and a process
// exec'd into it, run inside the container's root: OOM score, rlimits,
// umask, working directory, bounding set, user switch, capabilities,
// executable lookup, no_new_privs, seccomp. Returns the executable to pass
// to ExecveProcess. A missing working directory is created for an init
// (create_cwd), an error for an exec'd process, as runc does.
absl::StatusOr<std::string> PrepareProcess(const Process& process,
                                           const SeccompFilter* seccomp = nullptr,
                                           bool create_cwd = true);

// execve(2) of the prepared process; returns only on failure, in runc's
// words (`exec: "x": permission denied`).
absl::Status ExecveProcess(const Process& process, const std::string& executable);

// Default dispositions and an empty mask: the caller's (the shim blocks
// SIGCHLD and ignores SIGPIPE) must not leak into the container.
void ResetSignals();

}  // namespace berth::runtime
