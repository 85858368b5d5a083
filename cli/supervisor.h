// `berth daemon`: starts the daemons as separate processes, each with its own
// privileges, restarts one that dies, and stops them on SIGTERM/SIGINT.
// Containers are not touched: their shims outlive every daemon.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "cli/components.h"

namespace berth::cli {

struct SupervisorOptions {
  std::string root = "/var/lib/berth";
  std::string exec_root = "/run/berth";
  // Where the berth-* binaries are; default: beside the berth binary.
  std::string bin_dir;
  // The unprivileged user for apiserver and imaged (nobody when missing).
  std::string user = "berth";
  // Group owning the Docker API socket ("docker" when it exists, else the
  // berth user's group).
  std::string socket_group;
  std::string log_level = "info";
  std::string cgroup_parent = "berth";
  std::string config_file;
  // netd's default bridge and its address (dockerd's --bridge and --bip);
  // empty: daemon.json's or netd's defaults.
  std::string bridge;
  std::string bip;
};

class Supervisor {
 public:
  explicit Supervisor(SupervisorOptions options) : options_(std::move(options)) {}

  // Creates directories with the right owners and binds the Docker socket.
  absl::Status Prepare();
  // Starts every component and supervises them until SIGTERM or SIGINT.
  absl::Status Run();

 private:
  struct Child {
    const ComponentSpec* spec;
    pid_t pid = -1;
    std::chrono::steady_clock::time_point started;
    std::chrono::steady_clock::time_point restart_at;
    std::chrono::milliseconds backoff{100};
    int restarts = 0;
  };

  absl::Status Spawn(Child& child);
  void OnExit(pid_t pid, int status);
  void StopAll();
  // Whether the component accepts connections on its gRPC socket.
  bool Accepts(const ComponentSpec& spec) const;
  // Announces readiness once every daemon accepts connections, or gives up
  // (with an error naming the missing ones) after the deadline.
  void CheckReady(std::chrono::steady_clock::time_point deadline);
  std::vector<std::string> ArgsFor(const ComponentSpec& spec) const;

  SupervisorOptions options_;
  uid_t user_uid_ = 65534;
  gid_t user_gid_ = 65534;
  int docker_socket_fd_ = -1;
  bool ready_announced_ = false;
  std::vector<Child> children_;
};

}  // namespace berth::cli
