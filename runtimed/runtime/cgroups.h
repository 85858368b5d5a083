// The container's cgroup, behind one interface with a cgroup v1 (one
// hierarchy per controller) and a cgroup v2 (unified) implementation.
//
// Plain cgroupfs file writes, not libcgroup: libcgroup keeps process-global
// state filled by cgroup_init() and wants its own configuration model, which
// buys nothing for "mkdir, write a few files, rmdir" and costs the shim
// resident memory.
#pragma once

#include <sys/types.h>

#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "common/unique_fd.h"
#include "runtimed/runtime/spec.h"

namespace berth::runtime {

// Watches a cgroup for OOM kills while it runs (CgroupManager::WatchOom), as
// containerd does: reading the counter only after the exit loses it when the
// cgroup is removed first, which systemd does to an empty scope at once.
// fd() becomes readable on an OOM (cgroup v1: an eventfd registered on
// memory.oom_control; v2: inotify IN_MODIFY on memory.events), and on v1 also
// when the cgroup is removed.
class OomWatch {
 public:
  enum class Seen {
    kNothing,  // a wake-up that was no OOM (v2: another memory event)
    kOom,      // the cgroup is out of memory, no kill counted yet
    kKilled,   // the OOM killer killed a process of the cgroup
    kGone,     // the cgroup was removed: the descriptor is of no more use
  };

  OomWatch(UniqueFd fd, std::string counter_file, bool events_file);

  int fd() const { return fd_.get(); }
  // Consumes what made fd() readable (never blocks), then reads the counter.
  Seen OnReadable();
  // Reads the counter without consuming anything.
  Seen Check() const;

 private:
  UniqueFd fd_;
  std::string counter_file_;
  bool events_file_;  // v2 memory.events, which counts OOMs too; else v1 memory.oom_control
};

class CgroupManager {
 public:
  virtual ~CgroupManager() = default;

  // Creates the cgroup and applies the limits. A limit the kernel refuses is
  // an error naming it, and leaves no cgroup behind.
  virtual absl::Status Create(const Resources& resources) = 0;
  // Changes the limits of an existing cgroup (docker update); the device
  // rules are left as they are.
  virtual absl::Status Update(const Resources& resources) = 0;
  // Freezes or thaws every process of the cgroup, returning once the kernel
  // reports it done (pause / resume).
  virtual absl::Status Freeze(bool frozen) = 0;
  virtual bool Frozen() const = 0;
  // Moves a process (and so its future children) into the cgroup.
  virtual absl::Status AddProcess(pid_t pid) = 0;
  // Files through which a process joins the cgroup itself, by writing "0"
  // into each (JoinSelf), opened here so that the kernel checks the opener's
  // credentials, not those of a process already in a user namespace. Moving
  // oneself as one thread skips the kernel's global threadgroup lock, whose
  // RCU grace period makes AddProcess of another process by pid wait 7-12 ms
  // on cgroup v1. For a single-threaded process only. Empty when the
  // implementation has no such files: then AddProcess.
  virtual absl::StatusOr<std::vector<UniqueFd>> OpenSelfJoin() { return std::vector<UniqueFd>(); }
  virtual absl::StatusOr<std::vector<pid_t>> Pids() const = 0;
  // True when the kernel's OOM killer killed a process of the cgroup.
  virtual bool OomKilled() const = 0;
  // Starts watching an existing cgroup for OOM kills; null when there is no
  // memory controller.
  virtual absl::StatusOr<std::unique_ptr<OomWatch>> WatchOom() = 0;
  // Removes the cgroup once its processes are gone (retrying briefly while
  // the kernel still reports it busy). Only the leaf goes: its parents (the
  // cgroup parent, e.g. "berth") are shared. A missing cgroup is fine.
  virtual absl::Status Destroy() = 0;
  // The directories this manager uses (one per v1 hierarchy), for tests and logs.
  virtual std::vector<std::string> Paths() const = 0;
};

// Picks the implementation for the host: v2 when `root` (normally
// /sys/fs/cgroup) is a cgroup2 filesystem, v1 otherwise. `cgroups_path` is
// relative to the hierarchy roots ("berth/<id>"; a leading '/' is ignored),
// or systemd's "slice:prefix:name", which selects the systemd driver
// (systemd_cgroup.h) talking to the manager at SystemdBusAddress().
absl::StatusOr<std::unique_ptr<CgroupManager>> NewCgroupManager(
    const std::string& cgroups_path, const std::string& root = "/sys/fs/cgroup");

// The cgroupfs implementation for a validated path relative to the roots.
std::unique_ptr<CgroupManager> NewCgroupfsManager(const std::string& relative,
                                                  const std::string& root);

// The container's cgroup directory relative to each hierarchy's mount point,
// for either form of `cgroups_path` (readers such as stats and pause need no
// manager).
absl::StatusOr<std::string> CgroupRelativePath(const std::string& cgroups_path,
                                               const std::string& root = "/sys/fs/cgroup",
                                               const std::string& proc = "/proc");

// True when `root` is a cgroup2 mount.
bool IsCgroup2(const std::string& root);

// Run by the joining process itself, single-threaded, before it runs anything
// of the container's: writes "0" into each of OpenSelfJoin's files and closes
// them.
absl::Status JoinSelf(std::vector<UniqueFd>* files);

}  // namespace berth::runtime
