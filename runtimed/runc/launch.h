// Creating and starting containers across berth-runc invocations.
//
// The library's Container keeps its init waiting on a sync socket and kills
// it when its creator goes away, so `create` cannot simply return: it forks
// a small holder that creates the container, owns that socket, and waits on
// <root>/<id>/start.sock (our exec.fifo) until `start` connects. The holder
// lets go of the caller's stdio so only the container keeps it.
#pragma once

#include <sys/types.h>

#include <string>

#include "absl/status/statusor.h"
#include "runtimed/runc/flags.h"
#include "runtimed/runc/runc.h"
#include "runtimed/runc/store.h"
#include "runtimed/runtime/spec.h"

namespace berth::runc {

struct LaunchOptions {
  std::string root;
  std::string id;
  std::string bundle;
  std::string pid_file;
  std::string console_socket;
  // `run -d`: start as soon as created.
  bool start_now = false;
  bool systemd_cgroup = false;
};

// What `create` and `run` share: their flags (`run` adds --detach) and the
// LaunchOptions those flags and the one positional argument (the id) make.
std::vector<FlagSpec> LaunchFlags();
absl::StatusOr<LaunchOptions> LaunchOptionsFromArgs(const std::string& verb,
                                                    const GlobalOptions& global,
                                                    const ParsedFlags& flags);

// `create` and `run -d`: returns once the container is created (or started).
absl::Status LaunchDetached(const LaunchOptions& options);

// `run`: create, start, wait, remove; returns the container's exit code
// (128 + signal when killed).
absl::StatusOr<int> RunForeground(const LaunchOptions& options);

// `start`: lets a created container's init exec.
absl::Status StartCreated(const std::string& root, const ContainerRecord& record);

// Until called again with 0, the signals a terminal or a supervisor sends
// (INT, TERM, HUP, QUIT, USR1, USR2, WINCH) go to `pid`, as runc forwards
// them to the container's process.
void ForwardSignalsTo(pid_t pid);

// Kills what is left (SIGKILL to the cgroup and the init), removes the cgroup
// and the state directory.
absl::Status Destroy(const std::string& root, const ContainerRecord& record);

// The spec's poststop hooks, once the container is gone (failures are
// warnings on stderr).
void RunPoststopHooks(const runtime::Spec& spec, const ContainerRecord& record);

}  // namespace berth::runc
