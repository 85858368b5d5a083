// The per-container shim: owns the container's stdio, log and exit status,
// and serves the shim protocol (proto/shim/v1/shim.proto) on a unix socket
// from one epoll loop, without threads.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <map>
#include <memory>
#include <string>

#include "absl/status/status.h"
#include "proto/shim/v1/shim.pb.h"
#include "runtimed/runtime/cgroups.h"
#include "runtimed/runtime/container.h"
#include "runtimed/shim/json_log.h"
#include "runtimed/shim/oom_latch.h"

namespace berth::runtime {

class Shim {
 public:
  // How long a shim whose container has exited stays to answer late `wait`
  // and `state` requests, unless told to shut down.
  static constexpr int kLingerMs = 3000;

  explicit Shim(shim::v1::Bootstrap bootstrap);
  ~Shim();
  Shim(const Shim&) = delete;
  Shim& operator=(const Shim&) = delete;

  // Sets up stdio, the cgroup and the container (waiting to exec), then
  // listens on the socket. SIGCHLD must be blocked by the caller. On error
  // nothing is left: no process, no cgroup, no socket.
  absl::Status Create();

  // Serves until the container has exited, everything is flushed and
  // recorded, and the linger time (or a shutdown request) has passed.
  void Run();

 private:
  struct Client {
    enum class Kind { kNew, kAttach, kWait, kExec };
    Kind kind = Kind::kNew;
    bool stdout = false;
    bool stderr = false;
    bool stdin = false;
    bool writable = false;  // EPOLLOUT registered
    bool close_when_flushed = false;
    bool dead = false;
    std::string in;
    std::string out;
    std::string exec_id;  // kExec
  };

  // A process started in the container by an ExecRequest. Its output goes
  // only to the client that started it, never to the log.
  struct Exec {
    pid_t pid = 0;
    int client_fd = -1;  // -1 once the client has gone away
    int stdout_fd = -1;  // pty master with a terminal
    int stderr_fd = -1;
    int stdin_fd = -1;
    int tty_master = -1;
    std::string stdin_buffer;
    bool stdin_writable = false;
    bool exited = false;
    shim::v1::ExitStatus exit;
    int64_t output_deadline_ms = -1;
  };

  absl::Status SetupIo();
  // With a tty: takes the pty master the container's init sent.
  absl::Status AdoptConsole();
  absl::Status Listen();
  void Abort();
  std::string SeccompCacheDir() const;

  void Watch(int fd, uint32_t events);
  void OnEvent(int fd, uint32_t events);
  void OnAccept();
  void OnSignal();
  void OnOom();
  void OnOomTimer(int64_t now);
  void OnOutput(int fd);
  void CloseOutput(int fd);
  void OnClientReadable(int fd);
  void OnClientWritable(int fd);
  void HandleFrame(Client& client, const shim::v1::ShimFrame& frame);
  void HandleRequest(int fd, Client& client, const shim::v1::ShimFrame& frame);
  void Send(int fd, const shim::v1::ShimFrame& frame);
  void FlushClient(int fd);
  void SendReply(int fd, const absl::Status& status);
  absl::Status KillContainer(int signal, bool all);

  // Exec handling (shim_exec.cc).
  absl::Status StartExec(int fd, Client& client, const shim::v1::ExecRequest& request);
  void HandleExecFrame(Client& client, const shim::v1::ShimFrame& frame);
  void OnExecFd(int fd, uint32_t events);
  void OnExecExit(const std::string& id, int status);
  void CloseExecFd(Exec& exec, int* fd);
  void FlushExecStdin(Exec& exec);
  void CloseExecStdin(Exec& exec);
  void MaybeFinishExec(const std::string& id);
  void DetachExecClient(const std::string& id);
  void KillExecs();
  absl::Status ResizeExec(const std::string& id, const shim::v1::ResizeRequest& request);
  // Ends the output of execs whose process exited kOutputGraceMs ago.
  void ExpireExecOutput(int64_t now);

  void QueueStdin(const std::string& data);
  void FlushStdin();
  void CloseStdin();

  void MaybeFinish();
  void Finish();
  int64_t NextTimeoutMs() const;

  shim::v1::Bootstrap bootstrap_;
  std::unique_ptr<CgroupManager> cgroup_;
  std::unique_ptr<Container> container_;
  OomLatch oom_;
  JsonLogWriter log_;
  pid_t pid_ = 0;
  std::string status_ = "created";

  int epoll_fd_ = -1;
  int listen_fd_ = -1;
  int signal_fd_ = -1;
  int stdout_fd_ = -1;  // pty master with a tty
  int stderr_fd_ = -1;
  int stdin_fd_ = -1;  // write side: a pipe, or a dup of the pty master
  int tty_master_ = -1;
  // The container's ends, closed once the container holds them.
  int child_stdin_ = -1, child_stdout_ = -1, child_stderr_ = -1;
  // With a tty, the socketpair over which the init sends the pty master.
  int console_socket_ = -1, child_console_ = -1;

  std::string stdin_buffer_;
  bool stdin_closing_ = false;
  bool stdin_writable_ = false;

  std::map<int, Client> clients_;
  std::map<std::string, Exec> execs_;
  // An exec's stdio descriptors in epoll, to its id.
  std::map<int, std::string> exec_fds_;

  bool exited_ = false;
  shim::v1::ExitStatus exit_;
  int64_t output_deadline_ms_ = -1;  // after init's exit, stop waiting for EOF
  bool finished_ = false;
  bool shutdown_requested_ = false;
  int64_t exit_deadline_ms_ = -1;
};

}  // namespace berth::runtime
