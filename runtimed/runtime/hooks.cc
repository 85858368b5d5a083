#include "runtimed/runtime/hooks.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <thread>

#include "absl/strings/str_cat.h"
#include "common/json.h"
#include "common/status.h"

namespace berth::runtime {
namespace {

absl::Status RunHook(const Hook& hook, const std::string& state_json, const std::string& kind) {
  const std::string name = absl::StrCat(kind, " hook ", hook.path);
  // A socket rather than a pipe: a hook that does not read its stdin must
  // not kill the runtime (or the container's init) with SIGPIPE, and the
  // signal's disposition must not change for what runs later.
  int input[2];
  if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, input) != 0) {
    return LastErrnoStatus(name + ": socketpair");
  }
  std::vector<char*> argv, envp;
  std::vector<std::string> args =
      hook.args.empty() ? std::vector<std::string>{hook.path} : hook.args;
  for (std::string& arg : args) argv.push_back(arg.data());
  argv.push_back(nullptr);
  std::vector<std::string> env = hook.env;
  for (std::string& var : env) envp.push_back(var.data());
  envp.push_back(nullptr);
  pid_t pid = fork();
  if (pid < 0) {
    close(input[0]);
    close(input[1]);
    return LastErrnoStatus(name + ": fork");
  }
  if (pid == 0) {
    dup2(input[0], 0);
    execve(hook.path.c_str(), argv.data(), envp.data());
    _exit(127);
  }
  close(input[0]);
  for (size_t sent = 0; sent < state_json.size();) {
    ssize_t n = send(input[1], state_json.data() + sent, state_json.size() - sent, MSG_NOSIGNAL);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;  // the hook closed its stdin: its business
    sent += static_cast<size_t>(n);
  }
  close(input[1]);
  const auto deadline = std::chrono::steady_clock::now() +
                        std::chrono::seconds(hook.timeout.value_or(0) > 0 ? *hook.timeout : 0);
  int status = 0;
  while (true) {
    pid_t done = waitpid(pid, &status, hook.timeout ? WNOHANG : 0);
    if (done == pid) break;
    if (done < 0 && errno != EINTR) return LastErrnoStatus(name + ": waitpid");
    if (hook.timeout && std::chrono::steady_clock::now() >= deadline) {
      kill(pid, SIGKILL);
      waitpid(pid, &status, 0);
      return absl::DeadlineExceededError(
          absl::StrCat(name, ": timed out after ", *hook.timeout, "s"));
    }
    if (hook.timeout) std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  if (WIFEXITED(status) && WEXITSTATUS(status) == 0) return absl::OkStatus();
  if (WIFSIGNALED(status)) {
    return absl::FailedPreconditionError(
        absl::StrCat(name, ": killed by signal ", WTERMSIG(status)));
  }
  return absl::FailedPreconditionError(
      absl::StrCat(name, ": exited with status ", WEXITSTATUS(status)));
}

}  // namespace

std::string StateJson(const ContainerState& state) {
  Json annotations = Json::object();
  for (const auto& [key, value] : state.annotations) annotations[key] = value;
  Json json = {{"ociVersion", "1.0.2"},
               {"id", state.id},
               {"status", state.status},
               {"bundle", state.bundle},
               {"annotations", annotations}};
  if (state.pid > 0) json["pid"] = state.pid;
  return json.dump();
}

absl::Status RunHooks(const std::vector<Hook>& hooks, const std::string& state_json,
                      const std::string& kind) {
  for (const Hook& hook : hooks) RETURN_IF_ERROR(RunHook(hook, state_json, kind));
  return absl::OkStatus();
}

}  // namespace berth::runtime
