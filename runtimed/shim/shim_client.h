// runtimed's side of the shim protocol (proto/shim/v1/shim.proto): launching
// a shim for an OCI bundle and talking to a running one over its socket.
//
// Wire format: every message is a berth.shim.v1.ShimFrame, preceded by its
// length as a 4-byte big-endian integer. One connection carries one request.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>

#include "absl/status/statusor.h"
#include "proto/shim/v1/shim.pb.h"

namespace berth::runtime {

// Frame I/O shared by the shim and its clients. ReadFrame returns nullopt on
// a clean EOF between frames; a frame over 16 MiB is an error.
absl::Status WriteFrame(int fd, const shim::v1::ShimFrame& frame);
absl::StatusOr<std::optional<shim::v1::ShimFrame>> ReadFrame(int fd);

struct ShimLaunchOptions {
  // Path of the berth-shim binary.
  std::string shim_binary;
  // Written to <bundle>/bootstrap.pb before the shim starts.
  shim::v1::Bootstrap bootstrap;
};

// Starts a shim for the bundle: it detaches (new session, reparented away from
// runtimed so it survives runtimed's death), creates the container process
// from <bundle>/config.json held just before exec, and listens on
// bootstrap.socket_path. Returns the shim's pid once the socket accepts
// connections and the container process exists, or the error that stopped
// the container from being created (the message names what was wrong, e.g.
// `exec: "foo": executable file not found in $PATH`; codes: NotFound for a
// missing executable, PermissionDenied for one that is not executable,
// InvalidArgument for a bad config, Internal otherwise). On error nothing is
// left running and the container's cgroup is removed.
absl::StatusOr<int64_t> LaunchShim(const ShimLaunchOptions& options);

// An attach connection: output frames from the shim, stdin frames to it.
class ShimAttachment {
 public:
  virtual ~ShimAttachment() = default;
  // The next output chunk; nullopt when the container's output has ended.
  virtual absl::StatusOr<std::optional<shim::v1::Output>> Read() = 0;
  virtual absl::Status WriteStdin(const std::string& data) = 0;
  virtual absl::Status CloseStdin() = 0;
  // The descriptor of the connection, to poll on.
  virtual int fd() const = 0;
};

// A process started in the container (ShimClient::Exec): its output, then
// its exit status, over one connection.
class ShimExecution {
 public:
  struct Event {
    // Exactly one is set, unless the shim went away (then neither is).
    std::optional<shim::v1::Output> output;
    std::optional<shim::v1::ExitStatus> exit;
  };
  virtual ~ShimExecution() = default;
  virtual int64_t pid() const = 0;
  virtual absl::StatusOr<Event> Read() = 0;
  virtual absl::Status WriteStdin(const std::string& data) = 0;
  virtual absl::Status CloseStdin() = 0;
  // The descriptor of the connection, to poll on or shut down.
  virtual int fd() const = 0;
};

class ShimClient {
 public:
  explicit ShimClient(std::string socket_path) : socket_path_(std::move(socket_path)) {}

  // Lets the container process exec its entrypoint. Attachments made before
  // Start see all of its output.
  // The container's pid (0 from a shim that does not send it).
  absl::StatusOr<int64_t> Start();
  absl::Status Kill(int signal, bool all = false);
  absl::Status Resize(uint32_t height, uint32_t width);
  // pid and "created" / "running" / "stopped".
  absl::StatusOr<shim::v1::Reply> State();
  // Blocks until the container has exited (returns at once if it has).
  absl::StatusOr<shim::v1::ExitStatus> Wait();
  // Asks the shim to exit once the container has stopped and output is flushed.
  absl::Status Shutdown();
  absl::StatusOr<std::unique_ptr<ShimAttachment>> Attach(bool stdin, bool stdout, bool stderr);
  // Starts `process_json` (an OCI process) in the running container; returns
  // once it has exec'd, or the error that stopped it (NotFound for a missing
  // executable, PermissionDenied for one that cannot run, FailedPrecondition
  // when the container is not running).
  // height/width: the terminal's initial size (0: the kernel's default).
  absl::StatusOr<std::unique_ptr<ShimExecution>> Exec(const std::string& exec_id,
                                                      const std::string& process_json, bool stdin,
                                                      uint32_t height = 0, uint32_t width = 0);
  absl::Status ResizeExec(const std::string& exec_id, uint32_t height, uint32_t width);

  // Unavailable when nothing listens on the socket (the shim is gone).
  const std::string& socket_path() const { return socket_path_; }

 private:
  std::string socket_path_;
};

// Reads the exit status a shim recorded at bootstrap.exit_path; NotFound
// when the container has not exited (or the shim died before recording it).
absl::StatusOr<shim::v1::ExitStatus> ReadExitFile(const std::string& path);

}  // namespace berth::runtime
