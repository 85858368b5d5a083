// docker exec in runtimed: exec records (in memory, as Docker keeps them),
// Docker's checks and messages, the OCI process built from the container's
// own config.json, and one reader per started exec that follows the process
// to its exit whether or not a client is still listening.
//
// The process itself runs in the container's shim (ShimClient::Exec): a
// runtimed restart closes the connection but does not kill it.
#pragma once

#include <condition_variable>
#include <cstdint>
#include <deque>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "proto/runtime/v1/runtime.pb.h"
#include "proto/shim/v1/shim.pb.h"
#include "runtimed/daemon/event_sink.h"
#include "runtimed/shim/shim_client.h"

namespace berth::runtimed {

// What exec needs to know about a container.
struct ExecTarget {
  std::string id;
  // Docker's State.Status: "running", "paused", "exited", ...
  std::string status;
  std::string socket_path;  // the shim's
  std::string bundle_dir;   // holds config.json
  std::string rootfs;       // mounted root, for /etc/passwd and /etc/group
  std::string name;
  int64_t pid = 0;  // the init's, 0 when not running
};

class ExecContainers {
 public:
  virtual ~ExecContainers() = default;
  // By name, ID or unique prefix; NotFound "No such container: <ref>".
  virtual absl::StatusOr<ExecTarget> Find(const std::string& ref) = 0;
};

// The shim side, a seam for tests.
class ExecShim {
 public:
  virtual ~ExecShim() = default;
  // height/width: the terminal's initial size (0: the kernel's default).
  virtual absl::StatusOr<std::unique_ptr<runtime::ShimExecution>> Exec(
      const std::string& socket_path, const std::string& exec_id, const std::string& process_json,
      bool stdin, uint32_t height, uint32_t width) = 0;
  virtual absl::Status Resize(const std::string& socket_path, const std::string& exec_id,
                              uint32_t height, uint32_t width) = 0;
};

// The real one, over the shim protocol.
class ShimExecShim : public ExecShim {
 public:
  absl::StatusOr<std::unique_ptr<runtime::ShimExecution>> Exec(const std::string& socket_path,
                                                               const std::string& exec_id,
                                                               const std::string& process_json,
                                                               bool stdin, uint32_t height,
                                                               uint32_t width) override;
  absl::Status Resize(const std::string& socket_path, const std::string& exec_id, uint32_t height,
                      uint32_t width) override;
};

// A started exec as its caller sees it.
class ExecSession {
 public:
  // The next output chunk; nullopt once the output has ended (the exit code
  // is then recorded) or after Cancel.
  std::optional<shim::v1::Output> Read();
  absl::Status WriteStdin(const std::string& data);
  absl::Status CloseStdin();
  // The caller went away: the process keeps running, its output is dropped.
  void Cancel();

 private:
  friend class ExecManager;
  void Push(shim::v1::Output output);
  void End();

  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<shim::v1::Output> queue_;
  size_t queued_bytes_ = 0;
  bool ended_ = false;
  bool cancelled_ = false;
  // Owned by the reader; stdin writes go straight to it.
  runtime::ShimExecution* execution_ = nullptr;
  bool stdin_open_ = false;
};

class ExecManager {
 public:
  ExecManager(ExecContainers* containers, ExecShim* shim) : containers_(containers), shim_(shim) {}
  // Docker's exec_create, exec_start and exec_die events go to `events`
  // (set before the first exec; none without).
  void SetEvents(ContainerEventSink* events) { events_ = events; }
  // Stops following the processes (they keep running in their shims).
  ~ExecManager();

  // config_json: Docker's ExecConfig. Conflict-class errors (FailedPrecondition)
  // for a container that is not running or is paused.
  absl::StatusOr<std::string> Create(const std::string& container_ref,
                                     const std::string& config_json);
  // Returns once the process runs, or with the reason it could not start
  // (NotFound / PermissionDenied from the runtime; the exec then has exit
  // code 127 / 126, as Docker records). With `detach` nobody reads the
  // session; the output is dropped.
  // height/width: ExecStartConfig.ConsoleSize (0: ExecConfig's, if any).
  absl::StatusOr<std::shared_ptr<ExecSession>> Start(const std::string& id, bool detach,
                                                     uint32_t height = 0, uint32_t width = 0);
  absl::StatusOr<runtime::v1::ExecInfo> Inspect(const std::string& id);
  absl::Status Resize(const std::string& id, uint32_t height, uint32_t width);
  // The execs of a container (full ID), oldest first.
  std::vector<std::string> List(const std::string& container_id);

  // The OCI process for an exec: the container's (config.json) with the
  // exec's command, environment, directory, user and terminal. Public for
  // tests.
  static absl::StatusOr<std::string> BuildProcess(const std::string& config_json,
                                                  const runtime::v1::ExecInfo& exec,
                                                  const std::vector<std::string>& env,
                                                  const std::string& rootfs);

 private:
  struct Record {
    runtime::v1::ExecInfo info;
    std::vector<std::string> env;
    uint32_t console_height = 0;
    uint32_t console_width = 0;
    uint64_t sequence = 0;
    std::string socket_path;
  };

  void Publish(const std::string& container_id, const std::string& action,
               std::map<std::string, std::string> attributes);
  absl::StatusOr<Record*> FindLocked(const std::string& id);
  void Follow(std::string id, std::unique_ptr<runtime::ShimExecution> execution,
              std::shared_ptr<ExecSession> session);

  // Keeps at most kMaxFinished exited records (Docker forgets them too).
  void PruneLocked();

  ExecContainers* const containers_;
  ExecShim* const shim_;
  ContainerEventSink* events_ = nullptr;
  std::mutex mu_;
  std::condition_variable cv_;
  std::map<std::string, Record> execs_;
  uint64_t next_sequence_ = 0;
  // Connections being followed, by exec id, to end them at destruction.
  std::map<std::string, int> following_;
  bool stopping_ = false;
  // Follow threads still publishing an exec_die, which the destructor waits for.
  int publishing_ = 0;
};

}  // namespace berth::runtimed
