// Execs through a real shim: output and exit code over the exec's own
// connection, never in the container's log; stdin; a terminal with resize;
// errors; the container's death ends its execs; a client that goes away
// leaves the exec running.
#include <signal.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <chrono>
#include <thread>

#include "common/fs.h"
#include "common/json.h"
#include "runtimed/shim/shim_client.h"
#include "tests/runtimed/shim/test_bundle.h"

namespace berth::runtime {
namespace {

using testing::TestBundle;

struct Running {
  explicit Running(const std::vector<std::string>& args, const Json& seccomp = Json()) {
    Json config = bundle.Config(args);
    if (!seccomp.is_null()) config["linux"]["seccomp"] = seccomp;
    bundle.WriteConfig(config);
    ShimLaunchOptions options;
    options.shim_binary = testing::RunfilePath("runtimed/berth-shim");
    options.bootstrap = bundle.Bootstrap();
    absl::StatusOr<int64_t> pid = LaunchShim(options);
    REQUIRE(pid.ok());
    shim_pid = *pid;
    client = std::make_unique<ShimClient>(bundle.Bootstrap().socket_path());
  }
  ~Running() {
    client->Kill(SIGKILL).IgnoreError();
    client->Wait().IgnoreError();
    client->Shutdown().IgnoreError();
    for (int i = 0; i < 100 && kill(static_cast<pid_t>(shim_pid), 0) == 0; ++i) {
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
  }
  TestBundle bundle;
  int64_t shim_pid = 0;
  std::unique_ptr<ShimClient> client;
};

std::string ProcessJson(const std::vector<std::string>& args, bool terminal = false) {
  Json process = {{"args", args},
                  {"env", {"PATH=/bin", "WHO=exec"}},
                  {"cwd", "/tmp"},
                  {"terminal", terminal},
                  {"user", {{"uid", 0}, {"gid", 0}}}};
  return process.dump();
}

struct Result {
  std::string out;
  std::string err;
  int exit_code = -1;
};

Result ReadToExit(ShimExecution& execution) {
  Result result;
  while (true) {
    absl::StatusOr<ShimExecution::Event> event = execution.Read();
    REQUIRE(event.ok());
    if (event->exit) {
      result.exit_code = event->exit->exit_code();
      return result;
    }
    REQUIRE(event->output.has_value());
    (event->output->stream() == 2 ? result.err : result.out) += event->output->data();
  }
}

TEST_CASE("exec: output, stderr, exit code; not in the container's log") {
  Running running({"sh", "-c", "echo init; exec sleep 1000"});
  REQUIRE(running.client->Start().ok());
  auto execution = running.client->Exec(
      "e1", ProcessJson({"sh", "-c", "echo out $WHO $(pwd); echo err >&2; exit 3"}), false);
  REQUIRE(execution.ok());
  CHECK((*execution)->pid() > 0);
  Result result = ReadToExit(**execution);
  CHECK(result.out == "out exec /tmp\n");
  CHECK(result.err == "err\n");
  CHECK(result.exit_code == 3);
  absl::StatusOr<std::string> log = ReadFile(running.bundle.bundle() + "/json.log");
  REQUIRE(log.ok());
  CHECK(log->find("init") != std::string::npos);
  CHECK(log->find("out exec") == std::string::npos);
  // The container is untouched.
  absl::StatusOr<shim::v1::Reply> state = running.client->State();
  REQUIRE(state.ok());
  CHECK(state->status() == "running");
}

TEST_CASE("exec: stdin is piped and closed") {
  Running running({"sleep", "1000"});
  REQUIRE(running.client->Start().ok());
  auto execution = running.client->Exec("e1", ProcessJson({"sh", "-c", "cat; echo done"}), true);
  REQUIRE(execution.ok());
  REQUIRE((*execution)->WriteStdin("hello\n").ok());
  REQUIRE((*execution)->CloseStdin().ok());
  Result result = ReadToExit(**execution);
  CHECK(result.out == "hello\ndone\n");
  CHECK(result.exit_code == 0);
}

TEST_CASE("exec: a terminal of the container's devpts, resizable") {
  Running running({"sleep", "1000"});
  REQUIRE(running.client->Start().ok());
  auto execution = running.client->Exec(
      "t1", ProcessJson({"sh", "-c", "tty; read x; stty size"}, /*terminal=*/true), true);
  REQUIRE(execution.ok());
  REQUIRE(running.client->ResizeExec("t1", 33, 77).ok());
  CHECK(absl::IsNotFound(running.client->ResizeExec("nope", 1, 1)));
  std::string first;
  while (first.find("\n") == std::string::npos) {
    absl::StatusOr<ShimExecution::Event> event = (*execution)->Read();
    REQUIRE(event.ok());
    REQUIRE(event->output.has_value());
    first += event->output->data();
  }
  CHECK(first == "/dev/pts/0\r\n");
  REQUIRE((*execution)->WriteStdin("x\n").ok());
  Result result = ReadToExit(**execution);
  CHECK(result.out == "x\r\n33 77\r\n");
  CHECK(result.exit_code == 0);
}

TEST_CASE("exec: the terminal has the size asked for from the first byte") {
  Running running({"sleep", "1000"});
  REQUIRE(running.client->Start().ok());
  auto execution =
      running.client->Exec("t2", ProcessJson({"stty", "size"}, /*terminal=*/true), false, 33, 77);
  REQUIRE(execution.ok());
  Result result = ReadToExit(**execution);
  CHECK(result.out == "33 77\r\n");
}

TEST_CASE("exec: errors in Docker's words; refused before start") {
  Running running({"sleep", "1000"});
  auto refused = running.client->Exec("e0", ProcessJson({"true"}), false);
  CHECK(absl::IsFailedPrecondition(refused.status()));
  REQUIRE(running.client->Start().ok());
  auto missing = running.client->Exec("e1", ProcessJson({"nosuch"}), false);
  REQUIRE_FALSE(missing.ok());
  CHECK(absl::IsNotFound(missing.status()));
  CHECK(missing.status().message() == "exec: \"nosuch\": executable file not found in $PATH");
  auto denied = running.client->Exec("e2", ProcessJson({"/bin/notexec"}), false);
  CHECK(absl::IsPermissionDenied(denied.status()));
  auto invalid = running.client->Exec("e3", "{\"args\": []}", false);
  CHECK(absl::IsInvalidArgument(invalid.status()));
  // The shim is still serving.
  auto ok = running.client->Exec("e4", ProcessJson({"true"}), false);
  REQUIRE(ok.ok());
  CHECK(ReadToExit(**ok).exit_code == 0);
}

TEST_CASE("exec: confined by the container's seccomp profile") {
  Json seccomp = {
      {"defaultAction", "SCMP_ACT_ALLOW"},
      {"syscalls",
       {{{"names", {"mkdir", "mkdirat"}}, {"action", "SCMP_ACT_ERRNO"}, {"errnoRet", 1}}}}};
  Running running({"sleep", "1000"}, seccomp);
  REQUIRE(running.client->Start().ok());
  auto execution =
      running.client->Exec("s1", ProcessJson({"sh", "-c", "mkdir /tmp/d && echo made"}), false);
  REQUIRE(execution.ok());
  Result result = ReadToExit(**execution);
  CHECK(result.out == "");
  CHECK(result.err.find("Operation not permitted") != std::string::npos);
  CHECK(result.exit_code == 1);
}

TEST_CASE("exec: outlives its client, dies with the container") {
  Running running({"sleep", "1000"});
  REQUIRE(running.client->Start().ok());
  int64_t pid = 0;
  {
    auto execution = running.client->Exec("bg", ProcessJson({"sleep", "1000"}), true);
    REQUIRE(execution.ok());
    pid = (*execution)->pid();
  }  // the client hangs up (runtimed restarting)
  std::this_thread::sleep_for(std::chrono::milliseconds(200));
  CHECK(kill(static_cast<pid_t>(pid), 0) == 0);
  auto watched = running.client->Exec("fg", ProcessJson({"sleep", "1000"}), false);
  REQUIRE(watched.ok());
  REQUIRE(running.client->Kill(SIGKILL).ok());
  Result result = ReadToExit(**watched);
  CHECK(result.exit_code == 137);
  for (int i = 0; i < 50 && kill(static_cast<pid_t>(pid), 0) == 0; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  CHECK(kill(static_cast<pid_t>(pid), 0) != 0);
}

}  // namespace
}  // namespace berth::runtime
