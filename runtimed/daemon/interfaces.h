// The seams between the container lifecycle and everything it talks to:
// stored (root filesystems), netd (network sandboxes) and the per-container
// shims. The manager depends only on these, so its tests run in-process with
// fakes; the real implementations live in grpc_clients.h and shim_launcher.h.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "proto/shim/v1/shim.pb.h"

namespace berth::runtimed {

class Storage {
 public:
  virtual ~Storage() = default;
  virtual absl::Status PrepareRootfs(const std::string& container_id,
                                     const std::string& parent_chain_id) = 0;
  // The absolute path of the mounted root filesystem.
  virtual absl::StatusOr<std::string> MountRootfs(const std::string& container_id) = 0;
  virtual absl::Status UnmountRootfs(const std::string& container_id) = 0;
  virtual absl::Status RemoveRootfs(const std::string& container_id) = 0;
  // Records that the container uses the volume (at create), creating it when
  // missing; the volume cannot be removed while used.
  virtual absl::Status AcquireVolume(const std::string& name, const std::string& container_id,
                                     bool anonymous) = 0;
  // The host path to bind-mount (at start). An empty volume first gets the
  // image's content at container_path when copy_image_data.
  virtual absl::StatusOr<std::string> MountVolume(const std::string& name,
                                                  const std::string& container_id,
                                                  const std::string& container_path,
                                                  bool copy_image_data) = 0;
  // Drops the use (at remove); an anonymous volume nobody uses any more is
  // removed too when remove_anonymous. Releasing twice is fine.
  virtual absl::Status ReleaseVolume(const std::string& name, const std::string& container_id,
                                     bool remove_anonymous) = 0;
};

// What netd needs to know of a container to give it its networks: Docker's
// documents as stored with the container.
struct SandboxSpec {
  std::string container_id;
  std::string container_name;
  std::string config_json;
  std::string host_config_json;
  std::string networking_config_json;
};

struct SandboxResult {
  // The network namespace to join; "" means the host's.
  std::string netns_path;
  // Docker's NetworkSettings, for inspect (empty when netd gave none).
  std::string network_settings_json;
  // /etc/hosts lines for --link on the default bridge.
  std::vector<std::string> link_hosts;
};

class Network {
 public:
  virtual ~Network() = default;
  virtual absl::StatusOr<SandboxResult> CreateSandbox(const SandboxSpec& spec) = 0;
  virtual absl::Status RemoveSandbox(const std::string& container_id) = 0;
  // docker network connect / disconnect on a running container: the new
  // NetworkSettings.
  virtual absl::StatusOr<std::string> ConnectNetwork(const std::string& container_id,
                                                     const std::string& container_name,
                                                     const std::string& network,
                                                     const std::string& endpoint_config_json) = 0;
  virtual absl::StatusOr<std::string> DisconnectNetwork(const std::string& container_id,
                                                        const std::string& network) = 0;
  // docker rename of a running container: the new NetworkSettings; NotFound
  // when netd has no sandbox for it.
  virtual absl::StatusOr<std::string> RenameSandbox(const std::string& container_id,
                                                    const std::string& container_name) = 0;
};

// One attach connection to a shim.
class ShimStream {
 public:
  virtual ~ShimStream() = default;
  // The next chunk; nullopt once the container's output has ended (or after
  // Interrupt).
  virtual absl::StatusOr<std::optional<shim::v1::Output>> Read() = 0;
  virtual absl::Status WriteStdin(const std::string& data) = 0;
  virtual absl::Status CloseStdin() = 0;
  // Wakes a Read blocked in another thread and ends the stream; safe to call
  // from any thread, more than once.
  virtual void Interrupt() = 0;
};

struct ShimState {
  int64_t pid = 0;
  // "created", "running" or "stopped".
  std::string status;
};

// A running shim, reached through its socket.
class ShimHandle {
 public:
  virtual ~ShimHandle() = default;
  // The container's pid (0 when the shim does not say).
  virtual absl::StatusOr<int64_t> Start() = 0;
  virtual absl::Status Kill(int signal, bool all) = 0;
  virtual absl::Status Resize(uint32_t height, uint32_t width) = 0;
  // Unavailable when the shim is gone.
  virtual absl::StatusOr<ShimState> State() = 0;
  // Blocks until the container has exited. CancelWait (from another thread)
  // makes it return Cancelled.
  virtual absl::StatusOr<shim::v1::ExitStatus> Wait() = 0;
  virtual void CancelWait() = 0;
  virtual absl::Status Shutdown() = 0;
  virtual absl::StatusOr<std::unique_ptr<ShimStream>> Attach(bool stdin, bool stdout,
                                                             bool stderr) = 0;
};

class ShimLauncher {
 public:
  virtual ~ShimLauncher() = default;
  // Starts a shim for the bundle named in bootstrap and returns once the
  // container process exists (held before exec until Start). Errors keep the
  // shim's code: NotFound for a missing executable, PermissionDenied for one
  // that cannot be executed.
  virtual absl::Status Launch(const std::string& shim_binary,
                              const shim::v1::Bootstrap& bootstrap) = 0;
  virtual std::unique_ptr<ShimHandle> Connect(const std::string& socket_path) = 0;
  // NotFound when the shim recorded no exit.
  virtual absl::StatusOr<shim::v1::ExitStatus> ReadExitFile(const std::string& path) = 0;
};

}  // namespace berth::runtimed
