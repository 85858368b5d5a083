// ExecInContainer against a real container created by the library: the exec'd
// process shares the init's namespaces, root and cgroup, runs as the user and
// in the directory asked for, and inherits no descriptor of the caller.
#include "runtimed/runtime/exec.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <memory>
#include <string>

#include "common/fs.h"
#include "runtimed/runtime/cgroups.h"
#include "runtimed/runtime/console.h"
#include "runtimed/runtime/container.h"
#include "tests/runtimed/shim/test_bundle.h"

namespace berth::runtime {
namespace {

using testing::TestBundle;

struct Running {
  std::unique_ptr<CgroupManager> cgroup;
  std::unique_ptr<Container> container;

  ~Running() {
    if (container != nullptr) {
      kill(container->pid(), SIGKILL);
      waitpid(container->pid(), nullptr, 0);
    }
    if (cgroup != nullptr) cgroup->Destroy().IgnoreError();
  }
};

void StartSleeper(const TestBundle& bundle, Running* running) {
  absl::StatusOr<Spec> spec = LoadSpec(bundle.bundle());
  REQUIRE(spec.ok());
  auto cgroup = NewCgroupManager(spec->cgroups_path);
  REQUIRE(cgroup.ok());
  running->cgroup = *std::move(cgroup);
  CreateOptions options;
  options.bundle = bundle.bundle();
  options.cgroup = running->cgroup.get();
  auto container = CreateContainer(*spec, options);
  REQUIRE(container.ok());
  running->container = *std::move(container);
  REQUIRE(running->container->Start().ok());
}

Process ShellProcess(const std::string& script) {
  Process process;
  process.args = {"sh", "-c", script};
  process.env = {"PATH=/bin", "GREETING=hello"};
  return process;
}

// Runs `process` in the container with stdout and stderr on a pipe; returns
// the output and sets the exit code.
std::string RunExec(const Process& process, pid_t init, CgroupManager* cgroup, int* exit_code) {
  int out[2];
  REQUIRE(pipe2(out, O_CLOEXEC) == 0);
  ExecOptions options;
  options.init_pid = init;
  options.io.stdout_fd = out[1];
  options.io.stderr_fd = out[1];
  options.cgroup = cgroup;
  absl::StatusOr<pid_t> pid = ExecInContainer(process, options);
  close(out[1]);
  if (!pid.ok()) close(out[0]);
  REQUIRE(pid.ok());
  std::string output;
  char buffer[4096];
  ssize_t n;
  while ((n = read(out[0], buffer, sizeof(buffer))) > 0) output.append(buffer, n);
  close(out[0]);
  int status;
  REQUIRE(waitpid(*pid, &status, 0) == *pid);
  *exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  return output;
}

TEST_CASE("exec joins the container's namespaces, root, cgroup; no host fd leaks in") {
  TestBundle bundle;
  bundle.WriteConfig(bundle.Config({"sleep", "1000"}));
  Running running;
  StartSleeper(bundle, &running);
  pid_t init = running.container->pid();

  // Descriptors a careless runtime would hand over (CVE-2024-21626): one
  // inheritable, one of a host directory.
  // (Above 3, which `ls` itself uses.)
  int leaky = fcntl(open("/etc/hostname", O_RDONLY), F_DUPFD, 40);
  int leaky_dir = fcntl(open("/sys/fs/cgroup", O_RDONLY | O_DIRECTORY), F_DUPFD, 41);
  REQUIRE(leaky >= 0);
  REQUIRE(leaky_dir >= 0);

  Process process = ShellProcess(
      "ls /proc/self/fd | grep -v '^3$'; hostname; cat /proc/1/cmdline | tr '\\0' ' '; echo; "
      "readlink /proc/self/ns/mnt; echo $GREETING; pwd; id -u; test -e /bin/busybox && echo in");
  process.cwd = "/tmp";
  process.user.uid = 1000;
  process.user.gid = 1000;
  int exit_code = -1;
  std::string output = RunExec(process, init, running.cgroup.get(), &exit_code);
  close(leaky);
  close(leaky_dir);
  CHECK(exit_code == 0);

  char mnt[128] = {};
  REQUIRE(readlink(("/proc/" + std::to_string(init) + "/ns/mnt").c_str(), mnt, sizeof(mnt)) > 0);
  CHECK(output ==
        "0\n1\n2\nberth-test\nsleep 1000 \n" + std::string(mnt) + "\nhello\n/tmp\n1000\nin\n");
}

TEST_CASE("exec's process is in the container's cgroup and its exit code is its own") {
  TestBundle bundle;
  bundle.WriteConfig(bundle.Config({"sleep", "1000"}));
  Running running;
  StartSleeper(bundle, &running);
  int exit_code = -1;
  std::string output = RunExec(ShellProcess("cat /proc/self/cgroup | grep -c pids:/; exit 3"),
                               running.container->pid(), running.cgroup.get(), &exit_code);
  CHECK(exit_code == 3);
  // Inside the container's cgroup namespace its own cgroup is the root.
  CHECK(output == "1\n");
  absl::StatusOr<std::vector<pid_t>> pids = running.cgroup->Pids();
  REQUIRE(pids.ok());
  CHECK(pids->size() == 1);
}

TEST_CASE("exec errors come back in runc's words and leave no process") {
  TestBundle bundle;
  bundle.WriteConfig(bundle.Config({"sleep", "1000"}));
  Running running;
  StartSleeper(bundle, &running);
  ExecOptions options;
  options.init_pid = running.container->pid();
  options.cgroup = running.cgroup.get();
  Process missing;
  missing.args = {"nosuch"};
  missing.env = {"PATH=/bin"};
  absl::StatusOr<pid_t> pid = ExecInContainer(missing, options);
  REQUIRE_FALSE(pid.ok());
  CHECK(absl::IsNotFound(pid.status()));
  CHECK(pid.status().message() == "exec: \"nosuch\": executable file not found in $PATH");
  Process not_executable;
  not_executable.args = {"/bin/notexec"};
  pid = ExecInContainer(not_executable, options);
  REQUIRE_FALSE(pid.ok());
  CHECK(absl::IsPermissionDenied(pid.status()));
  // Unlike the init's, an exec's missing working directory is not created.
  Process elsewhere;
  elsewhere.args = {"true"};
  elsewhere.cwd = "/nonexistent";
  pid = ExecInContainer(elsewhere, options);
  REQUIRE_FALSE(pid.ok());
  CHECK(pid.status().message() ==
        "chdir to cwd (\"/nonexistent\") set in config.json failed: no such file or directory");
  absl::StatusOr<std::vector<pid_t>> pids = running.cgroup->Pids();
  REQUIRE(pids.ok());
  CHECK(pids->size() == 1);
  CHECK(waitpid(-1, nullptr, WNOHANG) == 0);
}

TEST_CASE("exec with a terminal gets a pty of the container's devpts") {
  TestBundle bundle;
  bundle.WriteConfig(bundle.Config({"sleep", "1000"}));
  Running running;
  StartSleeper(bundle, &running);
  int pair[2];
  REQUIRE(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, pair) == 0);
  ExecOptions options;
  options.init_pid = running.container->pid();
  options.io.terminal = true;
  options.io.console_socket = pair[1];
  absl::StatusOr<pid_t> pid = ExecInContainer(ShellProcess("tty; exit 5"), options);
  close(pair[1]);
  REQUIRE(pid.ok());
  absl::StatusOr<ReceivedFd> master = ReceiveFd(pair[0]);
  close(pair[0]);
  REQUIRE(master.ok());
  std::string output;
  char buffer[256];
  ssize_t n;
  while ((n = read(master->fd, buffer, sizeof(buffer))) > 0) output.append(buffer, n);
  close(master->fd);
  int status;
  REQUIRE(waitpid(*pid, &status, 0) == *pid);
  CHECK(WEXITSTATUS(status) == 5);
  // The init holds no pty: the exec's is the container's first.
  CHECK(output == "/dev/pts/0\r\n");
}

TEST_CASE("exec into a container that is gone is FailedPrecondition") {
  ExecOptions options;
  options.init_pid = 999999999;
  CHECK(absl::IsFailedPrecondition(ExecInContainer(ShellProcess("true"), options).status()));
}

}  // namespace
}  // namespace berth::runtime
