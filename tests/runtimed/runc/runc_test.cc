// berth-runc's command-line contract, verb by verb, on real containers.
#include <fcntl.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <catch2/catch.hpp>
#include <chrono>
#include <functional>
#include <thread>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_split.h"
#include "common/fs.h"
#include "common/json.h"
#include "runtimed/runtime/console.h"
#include "runtimed/runtime/spec.h"
#include "tests/runtimed/shim/test_bundle.h"

namespace berth::runc {
namespace {

using runtime::testing::TestBundle;

struct Result {
  int code = -1;
  std::string out_path;  // the container's output, after create returned
  std::string out;
  std::string err;
};

// Runs berth-runc with --root under the bundle's temp dir. Output goes to
// files, not pipes: a container keeps the caller's stdout long after
// create returns.
Result Runc(const TestBundle& bundle, std::vector<std::string> args,
            const std::vector<std::string>& global = {}) {
  static int serial = 0;
  std::string out_path = bundle.dir() + "/out" + std::to_string(serial);
  std::string err_path = bundle.dir() + "/err" + std::to_string(serial++);
  std::string binary = runtime::testing::RunfilePath("runtimed/berth-runc");
  std::vector<std::string> argv = {binary, "--root", bundle.dir() + "/root"};
  argv.insert(argv.end(), global.begin(), global.end());
  argv.insert(argv.end(), args.begin(), args.end());
  pid_t pid = fork();
  REQUIRE(pid >= 0);
  if (pid == 0) {
    int out = open(out_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    int err = open(err_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    dup2(out, 1);
    dup2(err, 2);
    std::vector<char*> raw;
    for (std::string& arg : argv) raw.push_back(arg.data());
    raw.push_back(nullptr);
    execv(raw[0], raw.data());
    _exit(126);
  }
  int status = 0;
  waitpid(pid, &status, 0);
  Result result;
  result.code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  result.out_path = out_path;
  result.out = ReadFile(out_path).value_or("");
  result.err = ReadFile(err_path).value_or("");
  return result;
}

// What the container wrote on the stdout it inherited from `create`.
std::string OutputOf(const Result& create) { return ReadFile(create.out_path).value_or(""); }

std::string StatusOf(const TestBundle& bundle, const std::string& id) {
  Result state = Runc(bundle, {"state", id});
  if (state.code != 0) return "error: " + state.err;
  absl::StatusOr<Json> json = ParseJson(state.out);
  REQUIRE(json.ok());
  return (*json)["status"].get<std::string>();
}

bool WaitForStatus(const TestBundle& bundle, const std::string& id, const std::string& want) {
  for (int i = 0; i < 200; ++i) {
    if (StatusOf(bundle, id) == want) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(25));
  }
  return false;
}

bool Alive(pid_t pid) {
  absl::StatusOr<std::string> stat = ReadFile("/proc/" + std::to_string(pid) + "/stat");
  if (!stat.ok()) return false;
  size_t paren = stat->rfind(')');
  return paren != std::string::npos && stat->substr(paren + 2, 1) != "Z";
}

TEST_CASE("spec writes a config.json the runtime accepts, and refuses to overwrite it") {
  TestBundle bundle;
  std::string dir = bundle.dir() + "/spec";
  REQUIRE(MakeDirs(dir).ok());
  REQUIRE(Runc(bundle, {"spec", "--bundle", dir}).code == 0);
  absl::StatusOr<std::string> text = ReadFile(dir + "/config.json");
  REQUIRE(text.ok());
  absl::StatusOr<runtime::Spec> spec = runtime::ParseSpec(*text);
  REQUIRE(spec.ok());
  CHECK(spec->process.args == std::vector<std::string>{"sh"});
  CHECK(spec->process.terminal);
  CHECK(spec->root_path == "rootfs");
  CHECK(spec->FindNamespace("mount") != nullptr);
  Result again = Runc(bundle, {"spec", "--bundle", dir});
  CHECK(again.code != 0);
  CHECK(again.err.find("exists") != std::string::npos);
}

TEST_CASE("create blocks the process until start; pid file; state; stopped after exit; delete") {
  TestBundle bundle;
  bundle.WriteConfig(bundle.Config({"sh", "-c", "echo started; exit 0"}));
  const std::string id = "c1";
  std::string pid_file = bundle.dir() + "/pid";
  Result create = Runc(bundle, {"create", "--bundle", bundle.bundle(), "--pid-file", pid_file, id});
  REQUIRE(create.code == 0);
  absl::StatusOr<std::string> pid_text = ReadFile(pid_file);
  REQUIRE(pid_text.ok());
  CHECK(!pid_text->empty());
  CHECK(std::all_of(pid_text->begin(), pid_text->end(), ::isdigit));
  int pid = 0;
  REQUIRE(absl::SimpleAtoi(*pid_text, &pid));
  CHECK(Alive(pid));

  Result state = Runc(bundle, {"state", id});
  REQUIRE(state.code == 0);
  absl::StatusOr<Json> json = ParseJson(state.out);
  REQUIRE(json.ok());
  CHECK((*json)["status"] == "created");
  CHECK((*json)["id"] == id);
  CHECK((*json)["pid"] == pid);
  CHECK((*json)["bundle"] == bundle.bundle());
  CHECK((*json)["rootfs"] == bundle.bundle() + "/rootfs");
  CHECK((*json).contains("ociVersion"));
  CHECK((*json).contains("created"));
  CHECK((*json)["annotations"].is_object());
  // Blocked: nothing ran yet (the container inherited create's stdout).
  std::this_thread::sleep_for(std::chrono::milliseconds(100));
  CHECK(OutputOf(create).empty());
  CHECK(PathExists(bundle.CgroupDir("memory")));

  REQUIRE(Runc(bundle, {"start", id}).code == 0);
  REQUIRE(WaitForStatus(bundle, id, "stopped"));
  CHECK(OutputOf(create) == "started\n");
  CHECK_FALSE(Alive(pid));

  Result start_again = Runc(bundle, {"start", id});
  CHECK(start_again.code != 0);
  CHECK(start_again.err.find("stopped") != std::string::npos);
  Result kill_stopped = Runc(bundle, {"kill", id, "KILL"});
  CHECK(kill_stopped.code != 0);
  CHECK(kill_stopped.err.find("not running") != std::string::npos);

  REQUIRE(Runc(bundle, {"delete", id}).code == 0);
  CHECK_FALSE(PathExists(bundle.CgroupDir("memory")));
  CHECK_FALSE(PathExists(bundle.dir() + "/root/" + id));
  CHECK(Runc(bundle, {"state", id}).code != 0);
}

TEST_CASE("run waits and exits with the container's code, its output on the caller's stdout") {
  TestBundle bundle;
  bundle.WriteConfig(bundle.Config({"sh", "-c", "echo out; echo err >&2; exit 7"}));
  Result run = Runc(bundle, {"run", "--bundle", bundle.bundle(), "r1"});
  CHECK(run.code == 7);
  CHECK(run.out == "out\n");
  CHECK(run.err == "err\n");
  CHECK_FALSE(PathExists(bundle.CgroupDir("memory")));
  CHECK(Runc(bundle, {"state", "r1"}).code != 0);
}

TEST_CASE("run -d, kill by name with and without SIG and by number, delete --force") {
  TestBundle bundle;
  bundle.WriteConfig(bundle.Config({"sleep", "1000"}));
  std::string pid_file = bundle.dir() + "/pid";
  REQUIRE(
      Runc(bundle, {"run", "-d", "--pid-file", pid_file, "--bundle", bundle.bundle(), "d1"}).code ==
      0);
  CHECK(StatusOf(bundle, "d1") == "running");
  int pid = 0;
  REQUIRE(absl::SimpleAtoi(ReadFile(pid_file).value_or(""), &pid));

  Result refused = Runc(bundle, {"delete", "d1"});
  CHECK(refused.code != 0);
  CHECK(refused.err.find("not stopped") != std::string::npos);
  CHECK(Runc(bundle, {"kill", "d1", "BOGUS"}).code != 0);
  CHECK(Runc(bundle, {"kill", "d1", "SIGCONT"}).code == 0);
  CHECK(Runc(bundle, {"kill", "d1", "cont"}).code == 0);
  CHECK(Runc(bundle, {"kill", "d1", "18"}).code == 0);
  CHECK(StatusOf(bundle, "d1") == "running");

  SECTION("kill with the default TERM stops it") {
    // sleep as pid 1 of its namespace ignores TERM without a handler: KILL.
    REQUIRE(Runc(bundle, {"kill", "d1", "KILL"}).code == 0);
    REQUIRE(WaitForStatus(bundle, "d1", "stopped"));
    REQUIRE(Runc(bundle, {"delete", "d1"}).code == 0);
  }
  SECTION("delete --force kills it") {
    REQUIRE(Runc(bundle, {"delete", "--force", "d1"}).code == 0);
  }
  SECTION("kill --all signals every process of the cgroup") {
    REQUIRE(Runc(bundle, {"kill", "--all", "d1", "9"}).code == 0);
    REQUIRE(WaitForStatus(bundle, "d1", "stopped"));
    REQUIRE(Runc(bundle, {"delete", "d1"}).code == 0);
  }
  CHECK_FALSE(Alive(pid));
  CHECK_FALSE(PathExists(bundle.CgroupDir("memory")));
  CHECK_FALSE(PathExists(bundle.CgroupDir("pids")));
  CHECK_FALSE(PathExists(bundle.dir() + "/root/d1"));
}

TEST_CASE("a shell container stops on the default TERM") {
  TestBundle bundle;
  bundle.WriteConfig(
      bundle.Config({"sh", "-c", "trap 'exit 0' TERM; while true; do sleep 0.05; done"}));
  REQUIRE(Runc(bundle, {"run", "-d", "--bundle", bundle.bundle(), "t1"}).code == 0);
  std::this_thread::sleep_for(std::chrono::milliseconds(100));
  REQUIRE(Runc(bundle, {"kill", "t1"}).code == 0);
  CHECK(WaitForStatus(bundle, "t1", "stopped"));
  REQUIRE(Runc(bundle, {"delete", "t1"}).code == 0);
}

TEST_CASE("deleting a created container kills its blocked process") {
  TestBundle bundle;
  bundle.WriteConfig(bundle.Config({"true"}));
  std::string pid_file = bundle.dir() + "/pid";
  REQUIRE(Runc(bundle, {"create", "--bundle", bundle.bundle(), "--pid-file", pid_file, "x"}).code ==
          0);
  int pid = 0;
  REQUIRE(absl::SimpleAtoi(ReadFile(pid_file).value_or(""), &pid));
  REQUIRE(Runc(bundle, {"delete", "x"}).code == 0);
  CHECK_FALSE(Alive(pid));
  CHECK_FALSE(PathExists(bundle.CgroupDir("memory")));
}

TEST_CASE("every verb fails clearly on an unknown id") {
  TestBundle bundle;
  for (std::vector<std::string> args : {std::vector<std::string>{"state", "nope"},
                                        {"start", "nope"},
                                        {"kill", "nope"},
                                        {"kill", "nope", "KILL"},
                                        {"delete", "nope"},
                                        {"delete", "--force", "nope"}}) {
    Result result = Runc(bundle, args);
    CHECK(result.code != 0);
    CHECK(result.err.find("nope does not exist") != std::string::npos);
  }
  CHECK(Runc(bundle, {"state"}).code != 0);
  CHECK(Runc(bundle, {"bogus-verb"}).code != 0);
  CHECK(Runc(bundle, {"state", "../etc"}).code != 0);
}

TEST_CASE("create refuses an id in use") {
  TestBundle bundle;
  bundle.WriteConfig(bundle.Config({"true"}));
  REQUIRE(Runc(bundle, {"create", "--bundle", bundle.bundle(), "dup"}).code == 0);
  Result again = Runc(bundle, {"create", "--bundle", bundle.bundle(), "dup"});
  CHECK(again.code != 0);
  CHECK(again.err.find("exists") != std::string::npos);
  REQUIRE(Runc(bundle, {"delete", "dup"}).code == 0);
}

TEST_CASE("a config without namespaces, and a bundle that is its own rootfs (root.path \".\")") {
  TestBundle bundle;
  Json config = bundle.Config({"sh", "-c", "echo plain; exit 3"});
  config["linux"]["namespaces"] = Json::array();
  config["mounts"] = Json::array();
  config["linux"].erase("maskedPaths");
  config["linux"].erase("readonlyPaths");
  config["hostname"] = "";
  // No /proc in this root: the runtime sets the OOM score from outside.
  config["root"]["path"] = ".";
  std::string rootfs = bundle.bundle() + "/rootfs";
  {
    std::string text = config.dump();
    REQUIRE(WriteFileAtomic(rootfs + "/config.json", text).ok());
  }
  Result run = Runc(bundle, {"run", "--bundle", rootfs, "plain"});
  INFO(run.err);
  CHECK(run.code == 3);
  CHECK(run.out == "plain\n");
  CHECK(run.err.empty());
}

TEST_CASE("terminal: the pty master arrives over --console-socket") {
  TestBundle bundle;
  Json config = bundle.Config({"sh", "-c", "tty; exit 0"});
  config["process"]["terminal"] = true;
  bundle.WriteConfig(config);
  std::string socket_path = bundle.dir() + "/console.sock";
  int listener = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  REQUIRE(listener >= 0);
  sockaddr_un address{};
  address.sun_family = AF_UNIX;
  strncpy(address.sun_path, socket_path.c_str(), sizeof(address.sun_path) - 1);
  REQUIRE(bind(listener, reinterpret_cast<sockaddr*>(&address), sizeof(address)) == 0);
  REQUIRE(listen(listener, 1) == 0);

  Result missing = Runc(bundle, {"create", "--bundle", bundle.bundle(), "tty0"});
  CHECK(missing.code != 0);
  CHECK(missing.err.find("console socket") != std::string::npos);

  Result create = Runc(
      bundle, {"create", "--bundle", bundle.bundle(), "--console-socket", socket_path, "tty1"});
  REQUIRE(create.code == 0);
  int conn = accept4(listener, nullptr, nullptr, SOCK_CLOEXEC);
  REQUIRE(conn >= 0);
  absl::StatusOr<runtime::ReceivedFd> master = runtime::ReceiveFd(conn);
  REQUIRE(master.ok());
  REQUIRE(Runc(bundle, {"start", "tty1"}).code == 0);
  std::string output;
  char buffer[256];
  ssize_t n;
  while ((n = read(master->fd, buffer, sizeof(buffer))) > 0) output.append(buffer, n);
  CHECK(output.find("/dev/pts/0") != std::string::npos);
  close(master->fd);
  close(conn);
  close(listener);
  REQUIRE(WaitForStatus(bundle, "tty1", "stopped"));
  REQUIRE(Runc(bundle, {"delete", "tty1"}).code == 0);
}

TEST_CASE("list prints a table and JSON") {
  TestBundle bundle;
  bundle.WriteConfig(bundle.Config({"true"}));
  REQUIRE(Runc(bundle, {"create", "--bundle", bundle.bundle(), "l1"}).code == 0);
  Result table = Runc(bundle, {"list"});
  REQUIRE(table.code == 0);
  CHECK(table.out.rfind("ID", 0) == 0);
  CHECK(table.out.find("l1") != std::string::npos);
  CHECK(table.out.find("created") != std::string::npos);
  Result json = Runc(bundle, {"list", "--format", "json"});
  REQUIRE(json.code == 0);
  absl::StatusOr<Json> parsed = ParseJson(json.out);
  REQUIRE(parsed.ok());
  REQUIRE(parsed->size() == 1);
  CHECK((*parsed)[0]["id"] == "l1");
  CHECK((*parsed)[0]["status"] == "created");
  REQUIRE(Runc(bundle, {"delete", "l1"}).code == 0);
  Result empty = Runc(bundle, {"list", "--format", "json"});
  CHECK(absl::StripAsciiWhitespace(empty.out) == "[]");
}

TEST_CASE("--log with --log-format json records errors as JSON lines") {
  TestBundle bundle;
  std::string log = bundle.dir() + "/log.json";
  Result result = Runc(bundle, {"state", "missing"}, {"--log", log, "--log-format", "json"});
  CHECK(result.code != 0);
  absl::StatusOr<std::string> text = ReadFile(log);
  REQUIRE(text.ok());
  absl::StatusOr<Json> line = ParseJson(*text);
  REQUIRE(line.ok());
  CHECK((*line)["level"] == "error");
  CHECK((*line)["msg"].get<std::string>().find("missing does not exist") != std::string::npos);
}

}  // namespace
}  // namespace berth::runc

namespace berth::runc {
namespace {

TEST_CASE("exec: the process's exit code, output on the caller's stdout, in the container") {
  TestBundle bundle;
  bundle.WriteConfig(bundle.Config({"sleep", "1000"}));
  REQUIRE(Runc(bundle, {"run", "-d", "--bundle", bundle.bundle(), "e1"}).code == 0);
  Result exec = Runc(bundle, {"exec", "--cwd", "/tmp", "-e", "A=1", "--env", "B=2", "e1", "sh",
                              "-c", "echo $A$B $(pwd) $(hostname); cat /proc/1/cmdline; exit 4"});
  CHECK(exec.code == 4);
  CHECK(exec.out == std::string("12 /tmp berth-test\nsleep\0"
                                "1000\0",
                                30));
  Result user = Runc(bundle, {"exec", "--user", "1000:1001", "e1", "id", "-u"});
  CHECK(user.code == 0);
  CHECK(user.out == "1000\n");
  Result missing = Runc(bundle, {"exec", "e1", "nosuch"});
  CHECK(missing.code != 0);
  CHECK(missing.err.find("executable file not found") != std::string::npos);

  std::string process = bundle.dir() + "/process.json";
  REQUIRE(WriteFileAtomic(process, R"({"args": ["sh", "-c", "exit 9"], "cwd": "/",
                                       "env": ["PATH=/bin"]})")
              .ok());
  CHECK(Runc(bundle, {"exec", "--process", process, "e1"}).code == 9);

  std::string pid_file = bundle.dir() + "/exec.pid";
  REQUIRE(Runc(bundle, {"exec", "-d", "--pid-file", pid_file, "e1", "sleep", "1000"}).code == 0);
  int pid = 0;
  REQUIRE(absl::SimpleAtoi(ReadFile(pid_file).value_or(""), &pid));
  CHECK(Alive(pid));
  REQUIRE(Runc(bundle, {"delete", "--force", "e1"}).code == 0);
  for (int i = 0; i < 100 && Alive(pid); ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  CHECK_FALSE(Alive(pid));
  Result gone = Runc(bundle, {"exec", "e1", "true"});
  CHECK(gone.code != 0);
  CHECK(gone.err.find("does not exist") != std::string::npos);
}

TEST_CASE("exec forwards the signals it gets to the process") {
  TestBundle bundle;
  bundle.WriteConfig(bundle.Config({"sleep", "1000"}));
  REQUIRE(Runc(bundle, {"run", "-d", "--bundle", bundle.bundle(), "f1"}).code == 0);
  std::string binary = runtime::testing::RunfilePath("runtimed/berth-runc");
  std::string root = bundle.dir() + "/root";
  pid_t runc = fork();
  REQUIRE(runc >= 0);
  if (runc == 0) {
    execl(binary.c_str(), binary.c_str(), "--root", root.c_str(), "exec", "f1", "sh", "-c",
          "trap 'exit 42' TERM; touch /tmp/ready; while true; do sleep 0.05; done",
          static_cast<char*>(nullptr));
    _exit(126);
  }
  bool ready = false;
  for (int i = 0; i < 200 && !ready; ++i) {
    ready = Runc(bundle, {"exec", "f1", "test", "-f", "/tmp/ready"}).code == 0;
    if (!ready) std::this_thread::sleep_for(std::chrono::milliseconds(25));
  }
  REQUIRE(ready);
  kill(runc, SIGTERM);
  int status = 0;
  REQUIRE(waitpid(runc, &status, 0) == runc);
  CHECK(WIFEXITED(status));
  CHECK(WEXITSTATUS(status) == 42);
  REQUIRE(Runc(bundle, {"delete", "--force", "f1"}).code == 0);
}

TEST_CASE("exec into a stopped container is refused") {
  TestBundle bundle;
  bundle.WriteConfig(bundle.Config({"true"}));
  REQUIRE(Runc(bundle, {"run", "-d", "--bundle", bundle.bundle(), "s1"}).code == 0);
  REQUIRE(WaitForStatus(bundle, "s1", "stopped"));
  Result exec = Runc(bundle, {"exec", "s1", "true"});
  CHECK(exec.code != 0);
  CHECK(exec.err.find("cannot exec in a stopped container") != std::string::npos);
  REQUIRE(Runc(bundle, {"delete", "s1"}).code == 0);
}

}  // namespace
}  // namespace berth::runc

namespace berth::runc {
namespace {

using runtime::testing::TestBundle;

// A hook that appends "<kind> <status> <pid or nopid>" to `log` from the
// state on its stdin.
Json LoggingHook(const std::string& kind, const std::string& log) {
  return {{"path", "/bin/sh"},
          {"args",
           {"sh", "-c",
            "s=$(cat); st=$(echo \"$s\" | sed 's/.*\"status\":\"\\([a-z]*\\)\".*/\\1/'); "
            "case \"$s\" in *'\"pid\":'*) p=pid;; *) p=nopid;; esac; "
            "echo \"" +
                kind + " $st $p\" >> " + log}}};
}

TEST_CASE("hooks run in order with the state on stdin, in the right namespaces") {
  TestBundle bundle;
  Json config = bundle.Config({"sh", "-c", "cat /tmp/hooks.log"});
  const std::string host_log = bundle.dir() + "/hooks.log";
  config["hooks"] = {
      {"prestart", {LoggingHook("prestart", host_log)}},
      {"createRuntime", {LoggingHook("createRuntime", host_log)}},
      // In the container's mount namespace before pivot_root: the host path
      // still resolves.
      {"createContainer", {LoggingHook("createContainer", host_log)}},
      // In the container, after pivot_root: /tmp is the container's.
      {"startContainer", {LoggingHook("startContainer", "/tmp/hooks.log")}},
      {"poststart", {LoggingHook("poststart", host_log)}},
      {"poststop", {LoggingHook("poststop", host_log)}},
  };
  config["annotations"] = {{"org.example", "x"}};
  bundle.WriteConfig(config);
  Result run = Runc(bundle, {"run", "--bundle", bundle.bundle(), "h1"});
  CHECK(run.code == 0);
  CHECK(run.out == "startContainer created pid\n");
  CHECK(ReadFile(host_log).value_or("") ==
        "prestart creating pid\ncreateRuntime creating pid\ncreateContainer creating pid\n"
        "poststart running pid\npoststop stopped nopid\n");
}

TEST_CASE("a failing creation hook fails create and leaves nothing") {
  TestBundle bundle;
  Json config = bundle.Config({"true"});
  config["hooks"] = {{"createRuntime", {{{"path", "/bin/sh"}, {"args", {"sh", "-c", "exit 3"}}}}}};
  bundle.WriteConfig(config);
  Result create = Runc(bundle, {"create", "--bundle", bundle.bundle(), "h2"});
  CHECK(create.code != 0);
  CHECK(create.err.find("createRuntime hook /bin/sh: exited with status 3") != std::string::npos);
  CHECK(Runc(bundle, {"state", "h2"}).code != 0);
  CHECK_FALSE(PathExists(bundle.CgroupDir("memory")));

  config["hooks"] = {
      {"prestart", {{{"path", "/bin/sh"}, {"args", {"sh", "-c", "sleep 5"}}, {"timeout", 1}}}}};
  bundle.WriteConfig(config);
  create = Runc(bundle, {"create", "--bundle", bundle.bundle(), "h3"});
  CHECK(create.code != 0);
  CHECK(create.err.find("prestart hook /bin/sh: timed out after 1s") != std::string::npos);
}

}  // namespace
}  // namespace berth::runc

namespace berth::runc {
namespace {

TEST_CASE("ps, pause, resume, update and features, as containerd's shim calls them") {
  runtime::testing::TestBundle bundle;
  bundle.WriteConfig(bundle.Config({"sleep", "1000"}));
  std::string pid_file = bundle.dir() + "/pid";
  REQUIRE(
      Runc(bundle, {"run", "-d", "--pid-file", pid_file, "--bundle", bundle.bundle(), "m1"}).code ==
      0);
  int pid = 0;
  REQUIRE(absl::SimpleAtoi(ReadFile(pid_file).value_or(""), &pid));

  Result ps = Runc(bundle, {"ps", "--format", "json", "m1"});
  REQUIRE(ps.code == 0);
  CHECK(Json::parse(ps.out) == Json::array({pid}));
  Result table = Runc(bundle, {"ps", "m1"});
  CHECK(table.code == 0);
  CHECK(table.out.find("PID") != std::string::npos);
  CHECK(table.out.find("sleep 1000") != std::string::npos);

  REQUIRE(Runc(bundle, {"pause", "m1"}).code == 0);
  CHECK(StatusOf(bundle, "m1") == "paused");
  REQUIRE(Runc(bundle, {"resume", "m1"}).code == 0);
  CHECK(StatusOf(bundle, "m1") == "running");
  CHECK(Runc(bundle, {"resume", "m1"}).code != 0);  // not paused

  const std::string resources = bundle.dir() + "/resources.json";
  REQUIRE(WriteFileAtomic(resources, R"({"memory":{"limit":33554432},"pids":{"limit":7}})").ok());
  REQUIRE(Runc(bundle, {"update", "--resources", resources, "m1"}).code == 0);
  CHECK(ReadFile(bundle.CgroupDir("memory") + "/memory.limit_in_bytes").value_or("") ==
        "33554432\n");
  REQUIRE(Runc(bundle, {"update", "--pids-limit", "9", "m1"}).code == 0);
  CHECK(ReadFile(bundle.CgroupDir("pids") + "/pids.max").value_or("") == "9\n");

  Result features = Runc(bundle, {"features"});
  REQUIRE(features.code == 0);
  Json parsed = Json::parse(features.out);
  CHECK(parsed["linux"]["seccomp"]["enabled"] == true);
  CHECK(parsed["hooks"].size() == 6);

  REQUIRE(Runc(bundle, {"delete", "--force", "m1"}).code == 0);
  CHECK(Runc(bundle, {"pause", "m1"}).code != 0);
}

}  // namespace
}  // namespace berth::runc

namespace berth::runc {
namespace {

bool MountsUnder(const std::string& dir);

// Whitespace collapsed, for /proc/self/uid_map's column padding.
std::string Squeeze(const std::string& text) {
  std::string out;
  for (char c : text) {
    if (c == ' ' || c == '\t') {
      if (!out.empty() && out.back() != ' ' && out.back() != '\n') out.push_back(' ');
    } else {
      if (c == '\n' && !out.empty() && out.back() == ' ') out.pop_back();
      out.push_back(c);
    }
  }
  return out;
}

// A user namespace mapping container ids 0-65535 to host ids 100000-165535,
// with a rootfs the mapped root owns (the caller's job, as with runc).
Json UserNamespaceConfig(const TestBundle& bundle, const std::vector<std::string>& args) {
  Json config = bundle.Config(args);
  config["linux"]["namespaces"].push_back({{"type", "user"}});
  config["linux"]["namespaces"].push_back({{"type", "cgroup"}});
  config["linux"]["uidMappings"] = {{{"containerID", 0}, {"hostID", 100000}, {"size", 65536}}};
  config["linux"]["gidMappings"] = {{{"containerID", 0}, {"hostID", 100000}, {"size", 65536}}};
  // The mapped root must be able to reach the bundle.
  chmod(bundle.dir().c_str(), 0755);
  chmod(bundle.bundle().c_str(), 0755);
  std::string chown = "chown -R 100000:100000 " + bundle.bundle() + "/rootfs";
  REQUIRE(system(chown.c_str()) == 0);
  return config;
}

std::string HostNamespace(pid_t pid, const std::string& type) {
  char target[64] = {};
  std::string path = "/proc/" + std::to_string(pid) + "/ns/" + type;
  ssize_t n = readlink(path.c_str(), target, sizeof(target) - 1);
  return n > 0 ? std::string(target, static_cast<size_t>(n)) : "";
}

TEST_CASE("user namespace: mappings written, the mapped root owns what it creates, cgroup ns") {
  TestBundle bundle;
  bundle.WriteConfig(UserNamespaceConfig(
      bundle, {"sh", "-c",
               "cat /proc/self/uid_map /proc/self/gid_map; id -u; id -g; "
               "grep -E ':(memory|pids):' /proc/self/cgroup; touch /made; readlink "
               "/proc/self/ns/user"}));
  Result run = Runc(bundle, {"run", "--bundle", bundle.bundle(), "u1"});
  INFO(run.err);
  REQUIRE(run.code == 0);
  std::vector<std::string> lines = absl::StrSplit(Squeeze(run.out), '\n');
  REQUIRE(lines.size() >= 7);
  CHECK(lines[0] == "0 100000 65536");
  CHECK(lines[1] == "0 100000 65536");
  CHECK(lines[2] == "0");
  CHECK(lines[3] == "0");
  // The cgroup namespace: the container's own cgroup is its root.
  CHECK(absl::EndsWith(lines[4], ":/"));
  CHECK(absl::EndsWith(lines[5], ":/"));
  CHECK(lines[6] != HostNamespace(getpid(), "user"));
  struct stat st;
  REQUIRE(stat((bundle.bundle() + "/rootfs/made").c_str(), &st) == 0);
  CHECK(st.st_uid == 100000);
  CHECK(st.st_gid == 100000);
}

TEST_CASE("user namespace joined by path, with the network namespace its owner holds") {
  TestBundle bundle;
  Json first = UserNamespaceConfig(bundle, {"sleep", "1000"});
  bundle.WriteConfig(first);
  std::string pid_file = bundle.dir() + "/pid";
  REQUIRE(Runc(bundle, {"run", "-d", "--pid-file", pid_file, "--bundle", bundle.bundle(), "owner"})
              .code == 0);
  int owner = 0;
  REQUIRE(absl::SimpleAtoi(ReadFile(pid_file).value_or(""), &owner));

  Json second = bundle.Config({"sh", "-c",
                               "cat /proc/self/uid_map; id -u; readlink /proc/self/ns/user; "
                               "readlink /proc/self/ns/net; touch /joined"});
  second["linux"]["cgroupsPath"] = bundle.cgroups_path() + "-2";
  for (Json& ns : second["linux"]["namespaces"]) {
    if (ns["type"] == "network") ns["path"] = "/proc/" + std::to_string(owner) + "/ns/net";
  }
  second["linux"]["namespaces"].push_back(
      {{"type", "user"}, {"path", "/proc/" + std::to_string(owner) + "/ns/user"}});
  bundle.WriteConfig(second);
  Result run = Runc(bundle, {"run", "--bundle", bundle.bundle(), "joiner"});
  INFO(run.err);
  CHECK(run.code == 0);
  std::vector<std::string> lines = absl::StrSplit(Squeeze(run.out), '\n');
  REQUIRE(lines.size() >= 4);
  CHECK(lines[0] == "0 100000 65536");
  CHECK(lines[1] == "0");
  CHECK(lines[2] == HostNamespace(owner, "user"));
  CHECK(lines[3] == HostNamespace(owner, "net"));
  struct stat st;
  REQUIRE(stat((bundle.bundle() + "/rootfs/joined").c_str(), &st) == 0);
  CHECK(st.st_uid == 100000);

  // An exec'd process lands in the same user namespace, as its root.
  Result exec = Runc(bundle, {"exec", "owner", "sh", "-c", "id -u; touch /by-exec"});
  INFO(exec.err);
  CHECK(exec.code == 0);
  CHECK(exec.out == "0\n");
  REQUIRE(stat((bundle.bundle() + "/rootfs/by-exec").c_str(), &st) == 0);
  CHECK(st.st_uid == 100000);
  REQUIRE(Runc(bundle, {"delete", "--force", "owner"}).code == 0);
}

TEST_CASE("idmapped bind mounts: the host's root owns what the container's root makes there") {
  TestBundle bundle;
  std::string share = bundle.dir() + "/share";
  REQUIRE(MakeDirs(share).ok());
  REQUIRE(WriteFileAtomic(share + "/host-file", "x").ok());
  Json config = UserNamespaceConfig(
      bundle, {"sh", "-c", "stat -c %u /share/host-file /plain/host-file; touch /share/made"});
  config["mounts"].push_back({{"destination", "/share"},
                              {"type", "bind"},
                              {"source", share},
                              {"options", {"rbind", "idmap"}}});
  config["mounts"].push_back(
      {{"destination", "/plain"}, {"type", "bind"}, {"source", share}, {"options", {"rbind"}}});
  bundle.WriteConfig(config);
  Result run = Runc(bundle, {"run", "--bundle", bundle.bundle(), "idm"});
  INFO(run.err);
  REQUIRE(run.code == 0);
  // Through the idmapped mount the host's root is the container's; through
  // the plain bind it is unmapped (the overflow id).
  CHECK(run.out == "0\n65534\n");
  struct stat st;
  REQUIRE(stat((share + "/made").c_str(), &st) == 0);
  CHECK(st.st_uid == 0);
  CHECK(st.st_gid == 0);
  CHECK_FALSE(MountsUnder(share));
}

TEST_CASE("time namespace: offsets when created, joined by path, exec lands in it") {
  TestBundle bundle;
  Json first = bundle.Config({"sleep", "1000"});
  first["linux"]["namespaces"].push_back({{"type", "time"}});
  first["linux"]["timeOffsets"] = {{"monotonic", {{"secs", 864000}, {"nanosecs", 7}}},
                                   {"boottime", {{"secs", 86400}}}};
  bundle.WriteConfig(first);
  std::string pid_file = bundle.dir() + "/pid";
  REQUIRE(Runc(bundle, {"run", "-d", "--pid-file", pid_file, "--bundle", bundle.bundle(), "tns"})
              .code == 0);
  int owner = 0;
  REQUIRE(absl::SimpleAtoi(ReadFile(pid_file).value_or(""), &owner));
  CHECK(HostNamespace(owner, "time") != HostNamespace(getpid(), "time"));

  const std::vector<std::string> show = {
      "sh", "-c", "cat /proc/self/timens_offsets; readlink /proc/self/ns/time"};
  // An exec'd process is in the container's time namespace, offsets and all.
  std::vector<std::string> exec_args = {"exec", "tns"};
  exec_args.insert(exec_args.end(), show.begin(), show.end());
  Result exec = Runc(bundle, exec_args);
  INFO(exec.err);
  REQUIRE(exec.code == 0);
  std::vector<std::string> lines = absl::StrSplit(Squeeze(exec.out), '\n');
  REQUIRE(lines.size() >= 3);
  CHECK(lines[0] == "monotonic 864000 7");
  CHECK(lines[1] == "boottime 86400 0");
  CHECK(lines[2] == HostNamespace(owner, "time"));

  // Another container joins it by path and sees the same clocks.
  const std::string path = "/proc/" + std::to_string(owner) + "/ns/time";
  Json second = bundle.Config(show);
  second["linux"]["cgroupsPath"] = bundle.cgroups_path() + "-2";
  second["linux"]["namespaces"].push_back({{"type", "time"}, {"path", path}});
  bundle.WriteConfig(second);
  Result run = Runc(bundle, {"run", "--bundle", bundle.bundle(), "tjoin"});
  INFO(run.err);
  CHECK(run.code == 0);
  CHECK(Squeeze(run.out) == Squeeze(exec.out));

  // Offsets belong to the namespace's creation; a path of another type is
  // refused by name; neither leaves anything behind.
  Json offsets = second;
  offsets["linux"]["timeOffsets"] = {{"monotonic", {{"secs", 1}}}};
  offsets["linux"]["cgroupsPath"] = bundle.cgroups_path() + "-3";
  Json wrong = bundle.Config({"true"});
  wrong["linux"]["cgroupsPath"] = bundle.cgroups_path() + "-3";
  wrong["linux"]["namespaces"].push_back({{"type", "time"}, {"path", "/proc/self/ns/uts"}});
  for (const auto& [config, error] : std::vector<std::pair<Json, std::string>>{
           {offsets, "linux.timeOffsets: a time namespace joined by path keeps its own offsets"},
           {wrong, "join time namespace: /proc/self/ns/uts is not a time namespace"}}) {
    bundle.WriteConfig(config);
    Result create = Runc(bundle, {"create", "--bundle", bundle.bundle(), "tbad"});
    INFO(create.err);
    CHECK(create.code != 0);
    CHECK(create.err.find(error) != std::string::npos);
    CHECK(Runc(bundle, {"state", "tbad"}).code != 0);
    CHECK_FALSE(PathExists(bundle.CgroupDir("memory") + "-3"));
  }
  REQUIRE(Runc(bundle, {"delete", "--force", "tns"}).code == 0);

  Json features = Json::parse(Runc(bundle, {"features"}).out);
  const Json& namespaces = features["linux"]["namespaces"];
  CHECK(std::find(namespaces.begin(), namespaces.end(), "time") != namespaces.end());
}

TEST_CASE("a namespace path of the wrong type is refused, leaving nothing") {
  TestBundle bundle;
  for (std::string type : {"network", "pid"}) {
    Json config = bundle.Config({"true"});
    for (Json& ns : config["linux"]["namespaces"]) {
      if (ns["type"] == type) ns["path"] = "/proc/self/ns/uts";
    }
    bundle.WriteConfig(config);
    Result create = Runc(bundle, {"create", "--bundle", bundle.bundle(), "wrong"});
    INFO(create.err);
    CHECK(create.code != 0);
    CHECK(create.err.find("/proc/self/ns/uts is not a") != std::string::npos);
    CHECK(Runc(bundle, {"state", "wrong"}).code != 0);
    CHECK_FALSE(PathExists(bundle.CgroupDir("memory")));
  }
}

}  // namespace
}  // namespace berth::runc

namespace berth::runc {
namespace {

bool MountsUnder(const std::string& dir) {
  return ReadFile("/proc/self/mountinfo").value_or("").find(dir) != std::string::npos;
}

TEST_CASE("bad input fails with an error naming it, and leaves nothing behind") {
  TestBundle bundle;
  struct Case {
    std::string what;
    std::function<void(Json&)> change;
    std::string error;
  };
  const std::vector<Case> cases = {
      {"not JSON", nullptr, "invalid config.json"},
      {"no args", [](Json& c) { c["process"]["args"] = Json::array(); },
       "process.args: must not be empty"},
      {"missing rootfs", [](Json& c) { c["root"]["path"] = "nowhere"; },
       "/nowhere\") does not exist"},
      {"missing executable", [](Json& c) { c["process"]["args"] = {"/bin/nope"}; },
       "exec: \"/bin/nope\": stat /bin/nope: no such file or directory"},
      {"a cpuset the kernel refuses",
       [](Json& c) {
         c["linux"]["resources"]["cpu"] = {{"cpus", "4095"}};
       },
       "cpuset"},
      {"a mount that fails",
       [](Json& c) {
         c["mounts"].push_back({{"destination", "/bad"},
                                {"type", "bind"},
                                {"source", "/nonexistent-source"},
                                {"options", {"rbind"}}});
       },
       "/nonexistent-source"},
  };
  for (const Case& c : cases) {
    INFO(c.what);
    if (c.change) {
      Json config = bundle.Config({"true"});
      c.change(config);
      bundle.WriteConfig(config);
    } else {
      REQUIRE(WriteFileAtomic(bundle.bundle() + "/config.json", "{\"process\": ").ok());
    }
    Result create = Runc(bundle, {"create", "--bundle", bundle.bundle(), "bad"});
    INFO(create.err);
    CHECK(create.code != 0);
    CHECK(create.err.find(c.error) != std::string::npos);
    CHECK(Runc(bundle, {"state", "bad"}).code != 0);
    CHECK_FALSE(PathExists(bundle.dir() + "/root/bad"));
    CHECK_FALSE(PathExists(bundle.CgroupDir("memory")));
    CHECK_FALSE(PathExists(bundle.CgroupDir("cpuset")));
    CHECK_FALSE(MountsUnder(bundle.bundle()));
  }

  bundle.WriteConfig(bundle.Config({"sleep", "1000"}));
  REQUIRE(Runc(bundle, {"run", "-d", "--bundle", bundle.bundle(), "sig"}).code == 0);
  Result bogus = Runc(bundle, {"kill", "sig", "SIGBOGUS"});
  CHECK(bogus.code != 0);
  CHECK(bogus.err.find("SIGBOGUS") != std::string::npos);
  CHECK(StatusOf(bundle, "sig") == "running");
  REQUIRE(Runc(bundle, {"delete", "--force", "sig"}).code == 0);
}

TEST_CASE("the other verbs fail on an unknown id too") {
  TestBundle bundle;
  for (std::vector<std::string> args : {std::vector<std::string>{"exec", "nope", "true"},
                                        {"ps", "nope"},
                                        {"pause", "nope"},
                                        {"resume", "nope"},
                                        {"update", "--memory", "1000000", "nope"},
                                        {"run", "--bundle", "/nonexistent", "nope"}}) {
    Result result = Runc(bundle, args);
    INFO(args[0] << ": " << result.err);
    CHECK(result.code != 0);
    CHECK_FALSE(result.err.empty());
  }
}

}  // namespace
}  // namespace berth::runc
