// Real containers through LaunchShim + ShimClient: root, namespaces, cgroups.
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <chrono>
#include <set>
#include <thread>

#include "absl/strings/numbers.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "common/fs.h"
#include "runtimed/shim/shim_client.h"
#include "tests/runtimed/shim/test_bundle.h"

namespace berth::runtime {
namespace {

using testing::TestBundle;

ShimLaunchOptions Options(const TestBundle& bundle, bool tty = false, bool open_stdin = false,
                          bool stdin_once = false) {
  ShimLaunchOptions options;
  options.shim_binary = testing::RunfilePath("runtimed/berth-shim");
  options.bootstrap = bundle.Bootstrap(tty, open_stdin, stdin_once);
  return options;
}

struct Captured {
  std::string out;
  std::string err;
};

Captured ReadAll(ShimAttachment& attachment) {
  Captured captured;
  while (true) {
    absl::StatusOr<std::optional<shim::v1::Output>> output = attachment.Read();
    REQUIRE(output.ok());
    if (!output->has_value()) return captured;
    ((*output)->stream() == 2 ? captured.err : captured.out) += (*output)->data();
  }
}

// Reads until the output so far contains `want` (which is returned with
// everything before it), or has ended.
std::string ReadUntil(ShimAttachment& attachment, const std::string& want) {
  std::string out;
  while (out.find(want) == std::string::npos) {
    absl::StatusOr<std::optional<shim::v1::Output>> output = attachment.Read();
    REQUIRE(output.ok());
    if (!output->has_value()) break;
    out += (*output)->data();
  }
  return out;
}

bool ProcessAlive(pid_t pid) { return kill(pid, 0) == 0; }

// Waits for the shim to go away (it lingers briefly after the exit).
void ShutdownAndWait(ShimClient& client, int64_t shim_pid) {
  client.Shutdown().IgnoreError();
  for (int i = 0; i < 100 && ProcessAlive(static_cast<pid_t>(shim_pid)); ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  CHECK_FALSE(ProcessAlive(static_cast<pid_t>(shim_pid)));
}

std::string NsOf(pid_t pid, const std::string& ns) {
  char target[256];
  std::string path =
      "/proc/" + (pid == 0 ? std::string("self") : std::to_string(pid)) + "/ns/" + ns;
  ssize_t n = readlink(path.c_str(), target, sizeof(target) - 1);
  REQUIRE(n > 0);
  return std::string(target, static_cast<size_t>(n));
}

std::string Trim(std::string s) {
  while (!s.empty() && (s.back() == '\n' || s.back() == '\r' || s.back() == ' ')) s.pop_back();
  return s;
}

TEST_CASE("output reaches an early attach and the json log; exit code and exit file") {
  TestBundle bundle;
  bundle.WriteConfig(bundle.Config({"sh", "-c", "echo hello; echo oops >&2; exit 3"}));
  absl::StatusOr<int64_t> shim_pid = LaunchShim(Options(bundle));
  REQUIRE(shim_pid.ok());
  ShimClient client(bundle.Bootstrap().socket_path());

  absl::StatusOr<shim::v1::Reply> state = client.State();
  REQUIRE(state.ok());
  CHECK(state->status() == "created");
  CHECK(state->pid() > 0);
  CHECK(PathExists(bundle.CgroupDir("memory")));

  auto attachment = client.Attach(false, true, true);
  REQUIRE(attachment.ok());
  absl::StatusOr<int64_t> started = client.Start();
  REQUIRE(started.ok());
  CHECK(*started == state->pid());  // the start reply carries the container's pid
  Captured captured = ReadAll(**attachment);
  CHECK(captured.out == "hello\n");
  CHECK(captured.err == "oops\n");

  absl::StatusOr<shim::v1::ExitStatus> exit = client.Wait();
  REQUIRE(exit.ok());
  CHECK(exit->exit_code() == 3);
  CHECK(exit->exited_at() > 0);

  absl::StatusOr<shim::v1::ExitStatus> recorded = ReadExitFile(bundle.bundle() + "/exit.pb");
  REQUIRE(recorded.ok());
  CHECK(recorded->exit_code() == 3);

  absl::StatusOr<std::string> log = ReadFile(bundle.bundle() + "/json.log");
  REQUIRE(log.ok());
  std::vector<std::string> lines = absl::StrSplit(*log, '\n', absl::SkipEmpty());
  REQUIRE(lines.size() == 2);
  std::set<std::string> entries;
  for (const std::string& line : lines) {
    absl::StatusOr<Json> json = ParseJson(line);
    REQUIRE(json.ok());
    entries.insert((*json)["stream"].get<std::string>() + ":" + (*json)["log"].get<std::string>());
    std::string time = (*json)["time"].get<std::string>();
    CHECK(time.size() > 20);
    CHECK(time.back() == 'Z');
  }
  CHECK(entries == std::set<std::string>{"stdout:hello\n", "stderr:oops\n"});

  // Stopped: the cgroup is gone, state says so.
  CHECK_FALSE(PathExists(bundle.CgroupDir("memory")));
  CHECK_FALSE(PathExists(bundle.CgroupDir("pids")));
  state = client.State();
  REQUIRE(state.ok());
  CHECK(state->status() == "stopped");
  ShutdownAndWait(client, *shim_pid);
  CHECK(absl::IsUnavailable(client.State().status()));
}

TEST_CASE("kill -9 gives 137; namespaces, hostname, limits") {
  TestBundle bundle;
  bundle.WriteConfig(bundle.Config({"sleep", "100"}));
  absl::StatusOr<int64_t> shim_pid = LaunchShim(Options(bundle));
  REQUIRE(shim_pid.ok());
  ShimClient client(bundle.Bootstrap().socket_path());
  REQUIRE(client.Start().ok());
  absl::StatusOr<shim::v1::Reply> state = client.State();
  REQUIRE(state.ok());
  CHECK(state->status() == "running");
  auto pid = static_cast<pid_t>(state->pid());
  for (const char* ns : {"pid", "mnt", "uts", "ipc", "net"}) {
    INFO(ns);
    CHECK(NsOf(pid, ns) != NsOf(0, ns));
  }
  CHECK(Trim(*ReadFile(bundle.CgroupDir("memory") + "/memory.limit_in_bytes")) == "67108864");
  CHECK(Trim(*ReadFile(bundle.CgroupDir("pids") + "/pids.max")) == "50");
  absl::StatusOr<std::string> procs = ReadFile(bundle.CgroupDir("pids") + "/cgroup.procs");
  REQUIRE(procs.ok());
  CHECK(Trim(*procs) == std::to_string(pid));
  CHECK(Trim(*ReadFile("/proc/" + std::to_string(pid) + "/oom_score_adj")) == "100");

  REQUIRE(client.Kill(SIGKILL).ok());
  absl::StatusOr<shim::v1::ExitStatus> exit = client.Wait();
  REQUIRE(exit.ok());
  CHECK(exit->exit_code() == 137);
  CHECK(absl::IsFailedPrecondition(client.Kill(SIGTERM)));
  CHECK_FALSE(PathExists(bundle.CgroupDir("memory")));
  ShutdownAndWait(client, *shim_pid);
}

TEST_CASE("inside: hostname, only fds 0-2, read-only and masked paths, user") {
  TestBundle bundle;
  bundle.WriteConfig(bundle.Config(
      {"sh", "-c",
       "hostname; ls /proc/self/fd | grep -v '^3$'; (echo x > /proc/sys/kernel/domainname) "
       "2>/dev/null || echo ro; wc -c < /proc/keys; id -u; test -c /dev/null && echo devnull; "
       "readlink /dev/ptmx"}));
  absl::StatusOr<int64_t> shim_pid = LaunchShim(Options(bundle));
  REQUIRE(shim_pid.ok());
  ShimClient client(bundle.Bootstrap().socket_path());
  auto attachment = client.Attach(false, true, true);
  REQUIRE(attachment.ok());
  REQUIRE(client.Start().ok());
  Captured captured = ReadAll(**attachment);
  CHECK(captured.err == "");
  CHECK(captured.out == "berth-test\n0\n1\n2\nro\n0\n0\ndevnull\npts/ptmx\n");
  REQUIRE(client.Wait().ok());
  ShutdownAndWait(client, *shim_pid);
}

TEST_CASE("a missing executable is NotFound in Docker's words and leaves nothing") {
  TestBundle bundle;
  bundle.WriteConfig(bundle.Config({"nope"}));
  absl::StatusOr<int64_t> shim_pid = LaunchShim(Options(bundle));
  REQUIRE_FALSE(shim_pid.ok());
  CHECK(absl::IsNotFound(shim_pid.status()));
  CHECK(shim_pid.status().message() == "exec: \"nope\": executable file not found in $PATH");
  CHECK_FALSE(PathExists(bundle.CgroupDir("memory")));
  CHECK_FALSE(PathExists(bundle.CgroupDir("pids")));
  CHECK_FALSE(PathExists(bundle.Bootstrap().socket_path()));
  absl::StatusOr<std::string> mounts = ReadFile("/proc/self/mountinfo");
  REQUIRE(mounts.ok());
  CHECK(mounts->find(bundle.dir()) == std::string::npos);

  bundle.WriteConfig(bundle.Config({"/bin/notexec"}));
  shim_pid = LaunchShim(Options(bundle));
  REQUIRE_FALSE(shim_pid.ok());
  CHECK(absl::IsPermissionDenied(shim_pid.status()));
  CHECK(shim_pid.status().message() == "exec: \"/bin/notexec\": permission denied");

  Json config = bundle.Config({"true"});
  config["linux"]["resources"]["cpu"] = {{"quota", 1}};  // below the kernel's minimum
  bundle.WriteConfig(config);
  shim_pid = LaunchShim(Options(bundle));
  REQUIRE_FALSE(shim_pid.ok());
  CHECK(shim_pid.status().message().find("cpu.cfs_quota_us") != absl::string_view::npos);
  CHECK_FALSE(PathExists(bundle.CgroupDir("memory")));
}

TEST_CASE("stdin is piped through and closed by close_stdin with stdin_once") {
  TestBundle bundle;
  bundle.WriteConfig(bundle.Config({"cat"}));
  absl::StatusOr<int64_t> shim_pid = LaunchShim(Options(bundle, false, true, true));
  REQUIRE(shim_pid.ok());
  ShimClient client(bundle.Bootstrap().socket_path());
  auto attachment = client.Attach(true, true, true);
  REQUIRE(attachment.ok());
  REQUIRE(client.Start().ok());
  REQUIRE((*attachment)->WriteStdin("abc\n").ok());
  REQUIRE((*attachment)->WriteStdin("def").ok());
  REQUIRE((*attachment)->CloseStdin().ok());
  Captured captured = ReadAll(**attachment);
  CHECK(captured.out == "abc\ndef");
  absl::StatusOr<shim::v1::ExitStatus> exit = client.Wait();
  REQUIRE(exit.ok());
  CHECK(exit->exit_code() == 0);
  // The unterminated last line is logged at the end of the stream.
  absl::StatusOr<std::string> log = ReadFile(bundle.bundle() + "/json.log");
  REQUIRE(log.ok());
  CHECK(log->find("{\"log\":\"def\",\"stream\":\"stdout\"") != std::string::npos);
  ShutdownAndWait(client, *shim_pid);
}

TEST_CASE("tty mode: the container's stdio is a terminal") {
  TestBundle bundle;
  Json config = bundle.Config({"sh", "-c", "test -t 0 && test -t 1 && echo is-a-tty"});
  config["process"]["terminal"] = true;
  bundle.WriteConfig(config);
  absl::StatusOr<int64_t> shim_pid = LaunchShim(Options(bundle, true, true, false));
  REQUIRE(shim_pid.ok());
  ShimClient client(bundle.Bootstrap().socket_path());
  auto attachment = client.Attach(true, true, true);
  REQUIRE(attachment.ok());
  REQUIRE(client.Resize(40, 100).ok());
  REQUIRE(client.Start().ok());
  Captured captured = ReadAll(**attachment);
  CHECK(captured.out == "is-a-tty\r\n");
  CHECK(captured.err == "");
  absl::StatusOr<shim::v1::ExitStatus> exit = client.Wait();
  REQUIRE(exit.ok());
  CHECK(exit->exit_code() == 0);
  ShutdownAndWait(client, *shim_pid);
}

TEST_CASE("tty mode: the pty is the container's own, resizable, and logged") {
  TestBundle bundle;
  Json config = bundle.Config(
      {"sh", "-c",
       "tty; ls /proc/self/fd | grep -v '^3$'; test -c /dev/console && echo console; stty size; "
       "read line; stty size"});
  config["process"]["terminal"] = true;
  bundle.WriteConfig(config);
  absl::StatusOr<int64_t> shim_pid = LaunchShim(Options(bundle, true, true, false));
  REQUIRE(shim_pid.ok());
  ShimClient client(bundle.Bootstrap().socket_path());
  auto attachment = client.Attach(true, true, true);
  REQUIRE(attachment.ok());
  // Before start: the size must already be the container's first view.
  REQUIRE(client.Resize(40, 100).ok());
  REQUIRE(client.Start().ok());
  std::string out = ReadUntil(**attachment, "40 100\r\n");
  // Docker's answer: the slave of the container's own devpts instance, and
  // no descriptor but the three stdio ones.
  CHECK(out == "/dev/pts/0\r\n0\r\n1\r\n2\r\nconsole\r\n40 100\r\n");
  REQUIRE(client.Resize(50, 120).ok());
  REQUIRE((*attachment)->WriteStdin("go\n").ok());
  Captured rest = ReadAll(**attachment);
  CHECK(rest.out == "go\r\n50 120\r\n");  // the line discipline echoes the input
  CHECK(rest.err == "");
  absl::StatusOr<shim::v1::ExitStatus> exit = client.Wait();
  REQUIRE(exit.ok());
  CHECK(exit->exit_code() == 0);

  absl::StatusOr<std::string> log = ReadFile(bundle.bundle() + "/json.log");
  REQUIRE(log.ok());
  std::string logged;
  for (absl::string_view line : absl::StrSplit(*log, '\n', absl::SkipEmpty())) {
    absl::StatusOr<Json> json = ParseJson(std::string(line));
    REQUIRE(json.ok());
    CHECK((*json)["stream"].get<std::string>() == "stdout");
    logged += (*json)["log"].get<std::string>();
  }
  CHECK(logged == out + rest.out);
  ShutdownAndWait(client, *shim_pid);
}

TEST_CASE("the shim survives its launcher being killed") {
  TestBundle bundle;
  bundle.WriteConfig(bundle.Config({"sh", "-c", "sleep 1; exit 7"}));
  int pipe_fds[2];
  REQUIRE(pipe(pipe_fds) == 0);
  pid_t launcher = fork();
  REQUIRE(launcher >= 0);
  if (launcher == 0) {
    absl::StatusOr<int64_t> pid = LaunchShim(Options(bundle));
    int64_t value = pid.ok() ? *pid : -1;
    if (write(pipe_fds[1], &value, sizeof(value)) < 0) _exit(1);
    pause();
    _exit(0);
  }
  close(pipe_fds[1]);
  int64_t shim_pid = -1;
  REQUIRE(read(pipe_fds[0], &shim_pid, sizeof(shim_pid)) == sizeof(shim_pid));
  close(pipe_fds[0]);
  REQUIRE(shim_pid > 0);
  kill(launcher, SIGKILL);
  waitpid(launcher, nullptr, 0);
  REQUIRE(ProcessAlive(static_cast<pid_t>(shim_pid)));

  ShimClient client(bundle.Bootstrap().socket_path());
  REQUIRE(client.Start().ok());
  absl::StatusOr<shim::v1::ExitStatus> exit = client.Wait();
  REQUIRE(exit.ok());
  CHECK(exit->exit_code() == 7);
  // A second client asking after the exit gets it at once.
  absl::StatusOr<shim::v1::ExitStatus> again = ShimClient(client.socket_path()).Wait();
  REQUIRE(again.ok());
  CHECK(again->exit_code() == 7);
  ShutdownAndWait(client, shim_pid);
  CHECK(ReadExitFile(bundle.bundle() + "/exit.pb")->exit_code() == 7);
}

TEST_CASE("the shim stays small") {
  TestBundle bundle;
  bundle.WriteConfig(bundle.Config({"sleep", "100"}));
  absl::StatusOr<int64_t> shim_pid = LaunchShim(Options(bundle));
  REQUIRE(shim_pid.ok());
  ShimClient client(bundle.Bootstrap().socket_path());
  REQUIRE(client.Start().ok());
  absl::StatusOr<std::string> status = ReadFile("/proc/" + std::to_string(*shim_pid) + "/status");
  REQUIRE(status.ok());
  int64_t rss_kb = -1;
  for (absl::string_view line : absl::StrSplit(*status, '\n')) {
    if (absl::ConsumePrefix(&line, "VmRSS:")) {
      REQUIRE(absl::SimpleAtoi(absl::StripAsciiWhitespace(absl::StripSuffix(line, "kB")), &rss_kb));
    }
  }
  INFO("shim VmRSS " << rss_kb << " kB");
  CHECK(rss_kb > 0);
  // Brief's budget: well under 2 MB (see ReleaseStartupPages in shim_main.cc).
  CHECK(rss_kb < 2048);
  REQUIRE(client.Kill(SIGKILL).ok());
  REQUIRE(client.Wait().ok());
  ShutdownAndWait(client, *shim_pid);
}

}  // namespace
}  // namespace berth::runtime
