// Creating a container process from a parsed spec: the libcrun-style core
// the shim (and a future runc-compatible CLI) sit on.
//
// CreateContainer clones the init with its new namespaces, puts it into its
// cgroup, and lets it build its root filesystem, drop privileges and resolve
// its executable; the init then reports "created" and blocks until Start.
// Any error in the init travels back over the sync socket as a status, so
// the caller learns exactly what failed.
#pragma once

#include <sys/types.h>

#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "runtimed/runtime/cgroups.h"
#include "runtimed/runtime/hooks.h"
#include "runtimed/runtime/process.h"
#include "runtimed/runtime/spec.h"

namespace berth::runtime {

struct CreateOptions {
  // The bundle; a relative root.path is relative to it.
  std::string bundle;
  ContainerIo io;
  // Created, limited and joined before the init runs anything of its own;
  // optional (nullptr: the init stays in the caller's cgroups).
  CgroupManager* cgroup = nullptr;
  // Where compiled seccomp programs are kept between containers ("" none).
  std::string seccomp_cache_dir;
  // The container's ID, for the state the hooks receive.
  std::string id;
};

// A created container: its init is alive and waiting to exec.
class Container {
 public:
  Container(pid_t pid, int sync_fd) : pid_(pid), sync_fd_(sync_fd) {}
  ~Container();
  Container(const Container&) = delete;
  Container& operator=(const Container&) = delete;

  // The init's pid, as seen from the caller's pid namespace.
  pid_t pid() const { return pid_; }

  // Lets the init exec. Returns once it has (or with the reason it could not);
  // runs the startContainer (in the container) and poststart hooks.
  absl::Status Start();

  void set_lifecycle(Hooks hooks, ContainerState state) {
    hooks_ = std::move(hooks);
    state_ = std::move(state);
  }

 private:
  pid_t pid_;
  int sync_fd_;
  Hooks hooks_;
  ContainerState state_;
};

// On error the init is killed and reaped and the cgroup destroyed.
absl::StatusOr<std::unique_ptr<Container>> CreateContainer(const Spec& spec,
                                                           const CreateOptions& options);

}  // namespace berth::runtime
