// ExecManager with a fake container table and a fake shim: Docker's checks
// and messages, exit codes, the process built from config.json.
#include "runtimed/daemon/exec_manager.h"

#include <unistd.h>

#include <catch2/catch.hpp>
#include <condition_variable>
#include <deque>
#include <mutex>

#include "common/fs.h"
#include "common/json.h"

namespace berth::runtimed {
namespace {

const std::string kId(64, 'a');

class FakeContainers : public ExecContainers {
 public:
  absl::StatusOr<ExecTarget> Find(const std::string& ref) override {
    if (ref != "c1" && ref != kId) return absl::NotFoundError("No such container: " + ref);
    return target;
  }
  ExecTarget target;
};

// Events are handed out as the test pushes them.
class FakeExecution : public runtime::ShimExecution {
 public:
  struct Shared {
    std::mutex mu;
    std::condition_variable cv;
    std::deque<Event> events;
    std::string stdin;
    bool stdin_closed = false;
    void Push(Event event) {
      std::lock_guard<std::mutex> lock(mu);
      events.push_back(std::move(event));
      cv.notify_all();
    }
  };
  explicit FakeExecution(std::shared_ptr<Shared> shared) : shared_(std::move(shared)) {
    REQUIRE(pipe(fds_) == 0);
  }
  ~FakeExecution() override {
    close(fds_[0]);
    close(fds_[1]);
  }
  int64_t pid() const override { return 42; }
  absl::StatusOr<Event> Read() override {
    std::unique_lock<std::mutex> lock(shared_->mu);
    shared_->cv.wait(lock, [&] { return !shared_->events.empty(); });
    Event event = shared_->events.front();
    shared_->events.pop_front();
    return event;
  }
  absl::Status WriteStdin(const std::string& data) override {
    std::lock_guard<std::mutex> lock(shared_->mu);
    shared_->stdin += data;
    return absl::OkStatus();
  }
  absl::Status CloseStdin() override {
    std::lock_guard<std::mutex> lock(shared_->mu);
    shared_->stdin_closed = true;
    return absl::OkStatus();
  }
  int fd() const override { return fds_[0]; }

 private:
  std::shared_ptr<Shared> shared_;
  int fds_[2];
};

class FakeShim : public ExecShim {
 public:
  absl::StatusOr<std::unique_ptr<runtime::ShimExecution>> Exec(const std::string& socket_path,
                                                               const std::string& exec_id,
                                                               const std::string& process_json,
                                                               bool stdin, uint32_t height,
                                                               uint32_t width) override {
    last_size = std::to_string(height) + "x" + std::to_string(width);
    last_socket = socket_path;
    last_process = process_json;
    last_stdin = stdin;
    last_exec_id = exec_id;
    if (!error.ok()) return error;
    return std::unique_ptr<runtime::ShimExecution>(new FakeExecution(shared));
  }
  absl::Status Resize(const std::string&, const std::string& exec_id, uint32_t height,
                      uint32_t width) override {
    resized = exec_id + ":" + std::to_string(height) + "x" + std::to_string(width);
    return absl::OkStatus();
  }
  std::shared_ptr<FakeExecution::Shared> shared = std::make_shared<FakeExecution::Shared>();
  absl::Status error;
  std::string last_socket, last_process, last_exec_id, resized;
  bool last_stdin = false;
  std::string last_size;
};

runtime::ShimExecution::Event Output(const std::string& data, int stream = 1) {
  runtime::ShimExecution::Event event;
  event.output.emplace();
  event.output->set_stream(stream);
  event.output->set_data(data);
  return event;
}

runtime::ShimExecution::Event Exit(int code) {
  runtime::ShimExecution::Event event;
  event.exit.emplace();
  event.exit->set_exit_code(code);
  return event;
}

constexpr char kConfig[] = R"({
  "ociVersion": "1.0.2",
  "process": {"args": ["sleep", "1000"], "cwd": "/app", "terminal": false,
              "env": ["PATH=/bin", "HOME=/root", "A=container"],
              "user": {"uid": 0, "gid": 0},
              "capabilities": {"bounding": ["CAP_KILL"]}, "noNewPrivileges": true},
  "root": {"path": "/r"}
})";

struct Fixture {
  Fixture() {
    char tmpl[] = "/tmp/bexXXXXXX";
    REQUIRE(mkdtemp(tmpl) != nullptr);
    dir = tmpl;
    REQUIRE(MakeDirs(dir + "/bundle").ok());
    REQUIRE(MakeDirs(dir + "/rootfs/etc").ok());
    REQUIRE(WriteFileAtomic(dir + "/bundle/config.json", kConfig).ok());
    REQUIRE(WriteFileAtomic(dir + "/rootfs/etc/passwd",
                            "root:x:0:0:root:/root:/bin/sh\n"
                            "nobody:x:65534:65534:nobody:/nonexistent:/bin/false\n")
                .ok());
    REQUIRE(WriteFileAtomic(dir + "/rootfs/etc/group", "root:x:0:\nnogroup:x:65534:\n").ok());
    containers.target = {kId, "running", "/run/s.sock", dir + "/bundle", dir + "/rootfs"};
  }
  ~Fixture() {
    manager.reset();
    RemoveAll(dir).IgnoreError();
  }
  std::string dir;
  FakeContainers containers;
  FakeShim shim;
  std::unique_ptr<ExecManager> manager = std::make_unique<ExecManager>(&containers, &shim);
};

TEST_CASE("create refuses what Docker refuses, in Docker's words") {
  Fixture f;
  auto missing = f.manager->Create("nope", R"({"Cmd":["ls"]})");
  CHECK(absl::IsNotFound(missing.status()));
  CHECK(absl::IsInvalidArgument(f.manager->Create("c1", R"({"Cmd":[]})").status()));
  CHECK(f.manager->Create("c1", R"({"Cmd":null})").status().message() ==
        "No exec command specified");
  CHECK(absl::IsInvalidArgument(
      f.manager->Create("c1", R"({"Cmd":["ls"],"WorkingDir":"tmp"})").status()));
  f.containers.target.status = "exited";
  auto stopped = f.manager->Create("c1", R"({"Cmd":["ls"]})");
  CHECK(absl::IsFailedPrecondition(stopped.status()));
  CHECK(stopped.status().message() == "Container " + kId + " is not running");
  f.containers.target.status = "paused";
  auto paused = f.manager->Create("c1", R"({"Cmd":["ls"]})");
  CHECK(absl::IsFailedPrecondition(paused.status()));
  CHECK(paused.status().message() ==
        "Container " + kId + " is paused, unpause the container before exec");
  auto unknown = f.manager->Inspect("feed");
  CHECK(absl::IsNotFound(unknown.status()));
  CHECK(unknown.status().message() == "No such exec instance: feed");
  CHECK(f.manager->Start("feed", false).status().message() == "No such exec instance: feed");
}

TEST_CASE("start streams the output and records the exit code") {
  Fixture f;
  auto id = f.manager->Create(
      "c1", R"({"Cmd":["sh","-c","cat"],"AttachStdin":true,"AttachStdout":true,"Tty":false})");
  REQUIRE(id.ok());
  CHECK(id->size() == 64);
  CHECK(f.manager->List(kId) == std::vector<std::string>{*id});
  auto info = f.manager->Inspect(*id);
  REQUIRE(info.ok());
  CHECK_FALSE(info->running());
  CHECK_FALSE(info->has_exit_code());
  CHECK(info->entrypoint() == "sh");
  CHECK(info->open_stdin());

  auto session = f.manager->Start(*id, false);
  REQUIRE(session.ok());
  CHECK(f.shim.last_socket == "/run/s.sock");
  CHECK(f.shim.last_exec_id == *id);
  CHECK(f.shim.last_stdin);
  REQUIRE(f.manager->Inspect(*id)->running());
  CHECK(f.manager->Inspect(*id)->pid() == 42);
  CHECK(absl::IsFailedPrecondition(f.manager->Start(*id, false).status()));
  REQUIRE((*session)->WriteStdin("in").ok());
  REQUIRE((*session)->CloseStdin().ok());
  REQUIRE(f.manager->Resize(*id, 24, 80).ok());
  CHECK(f.shim.resized == *id + ":24x80");

  f.shim.shared->Push(Output("hello"));
  f.shim.shared->Push(Output("oops", 2));
  f.shim.shared->Push(Exit(3));
  auto first = (*session)->Read();
  REQUIRE(first.has_value());
  CHECK(first->data() == "hello");
  auto second = (*session)->Read();
  REQUIRE(second.has_value());
  CHECK(second->stream() == 2);
  CHECK_FALSE((*session)->Read().has_value());
  info = f.manager->Inspect(*id);
  REQUIRE(info.ok());
  CHECK_FALSE(info->running());
  REQUIRE(info->has_exit_code());
  CHECK(info->exit_code() == 3);
  CHECK(info->can_remove());
  CHECK(f.shim.shared->stdin == "in");
  CHECK(f.shim.shared->stdin_closed);
  CHECK(f.manager->List(kId).empty());
  auto again = f.manager->Start(*id, false);
  CHECK(absl::IsFailedPrecondition(again.status()));
}

TEST_CASE("a command that cannot run gets Docker's exit codes") {
  Fixture f;
  auto id = f.manager->Create("c1", R"({"Cmd":["nosuch"]})");
  REQUIRE(id.ok());
  f.shim.error = absl::NotFoundError("exec: \"nosuch\": executable file not found in $PATH");
  auto session = f.manager->Start(*id, false);
  CHECK(absl::IsNotFound(session.status()));
  CHECK(f.manager->Inspect(*id)->exit_code() == 127);

  id = f.manager->Create("c1", R"({"Cmd":["/etc"]})");
  REQUIRE(id.ok());
  f.shim.error = absl::PermissionDeniedError("exec: \"/etc\": permission denied");
  CHECK(absl::IsPermissionDenied(f.manager->Start(*id, false).status()));
  CHECK(f.manager->Inspect(*id)->exit_code() == 126);

  // Moby reads the words: a missing working directory is 127 too.
  id = f.manager->Create("c1", R"({"Cmd":["ls"],"WorkingDir":"/nonexistent"})");
  REQUIRE(id.ok());
  f.shim.error = absl::NotFoundError(
      "chdir to cwd (\"/nonexistent\") set in config.json failed: no such file or directory");
  CHECK_FALSE(f.manager->Start(*id, false).ok());
  CHECK(f.manager->Inspect(*id)->exit_code() == 127);
  f.shim.error = absl::OkStatus();

  // The container stopped between create and start.
  id = f.manager->Create("c1", R"({"Cmd":["ls"]})");
  REQUIRE(id.ok());
  f.containers.target.status = "exited";
  auto stopped = f.manager->Start(*id, false);
  CHECK(stopped.status().message() == "Container " + kId + " is not running");
}

TEST_CASE("the console size comes from start, else from create") {
  Fixture f;
  auto id = f.manager->Create("c1", R"({"Cmd":["sh"],"Tty":true,"ConsoleSize":[30,100]})");
  REQUIRE(id.ok());
  REQUIRE(f.manager->Start(*id, false).ok());
  CHECK(f.shim.last_size == "30x100");
  f.shim.shared->Push(Exit(0));
  id = f.manager->Create("c1", R"({"Cmd":["sh"],"Tty":true,"ConsoleSize":[30,100]})");
  REQUIRE(id.ok());
  REQUIRE(f.manager->Start(*id, false, 40, 120).ok());
  CHECK(f.shim.last_size == "40x120");
  f.shim.shared->Push(Exit(0));
  for (int i = 0; i < 200 && f.manager->Inspect(*id)->running(); ++i) usleep(10000);
}

TEST_CASE("detached execs are followed to their exit without a reader") {
  Fixture f;
  auto id = f.manager->Create("c1", R"({"Cmd":["sleep","1"],"AttachStdin":true})");
  REQUIRE(id.ok());
  auto session = f.manager->Start(*id, true);
  REQUIRE(session.ok());
  CHECK_FALSE(f.shim.last_stdin);
  for (int i = 0; i < 100; ++i) f.shim.shared->Push(Output(std::string(100000, 'x')));
  f.shim.shared->Push(Exit(0));
  for (int i = 0; i < 200 && f.manager->Inspect(*id)->running(); ++i) usleep(10000);
  CHECK(f.manager->Inspect(*id)->exit_code() == 0);
}

TEST_CASE("the process is the container's with the exec's settings") {
  Fixture f;
  auto id = f.manager->Create(
      "c1",
      R"({"Cmd":["id"],"Env":["A=exec","B=1"],"User":"nobody","WorkingDir":"/tmp","Tty":true})");
  REQUIRE(id.ok());
  auto session = f.manager->Start(*id, false);
  REQUIRE(session.ok());
  f.shim.shared->Push(Exit(0));
  absl::StatusOr<Json> process = ParseJson(f.shim.last_process);
  REQUIRE(process.ok());
  CHECK((*process)["args"] == Json({"id"}));
  CHECK((*process)["cwd"] == "/tmp");
  CHECK((*process)["terminal"] == true);
  CHECK((*process)["env"] == Json({"PATH=/bin", "HOME=/nonexistent", "A=exec", "B=1"}));
  CHECK((*process)["user"]["uid"] == 65534);
  CHECK((*process)["user"]["gid"] == 65534);
  CHECK((*process)["noNewPrivileges"] == true);
  CHECK((*process)["capabilities"]["bounding"] == Json({"CAP_KILL"}));

  runtime::v1::ExecInfo exec;
  exec.set_entrypoint("sh");
  exec.set_user("1000:1000");
  exec.set_privileged(true);
  auto built = ExecManager::BuildProcess(kConfig, exec, {}, f.dir + "/rootfs");
  REQUIRE(built.ok());
  Json privileged = Json::parse(*built);
  CHECK_FALSE(privileged.contains("capabilities"));
  CHECK(privileged["cwd"] == "/app");
  CHECK(privileged["user"]["uid"] == 1000);
  exec.set_user("nosuchuser");
  CHECK_FALSE(ExecManager::BuildProcess(kConfig, exec, {}, f.dir + "/rootfs").ok());
}

class RecordingSink : public ContainerEventSink {
 public:
  void Publish(const std::string& container_id, const std::string& action,
               std::map<std::string, std::string> attributes) override {
    std::lock_guard<std::mutex> lock(mu);
    std::string line = container_id.substr(0, 4) + " " + action;
    for (const auto& [key, value] : attributes) line += " " + key + "=" + value;
    events.push_back(line);
  }
  std::vector<std::string> Events() {
    std::lock_guard<std::mutex> lock(mu);
    return events;
  }
  std::mutex mu;
  std::vector<std::string> events;
};

TEST_CASE("execs publish Moby's exec_create, exec_start and exec_die") {
  Fixture f;
  RecordingSink sink;
  f.manager->SetEvents(&sink);
  auto id = f.manager->Create("c1", R"({"Cmd":["sh","-c","exit 3"]})");
  REQUIRE(id.ok());
  auto session = f.manager->Start(*id, false);
  REQUIRE(session.ok());
  f.shim.shared->Push(Exit(3));
  while ((*session)->Read().has_value()) {
  }
  for (int i = 0; i < 200 && sink.Events().size() < 3; ++i) usleep(10000);
  CHECK(sink.Events() == std::vector<std::string>{
                             "aaaa exec_create: sh -c exit 3 execID=" + *id,
                             "aaaa exec_start: sh -c exit 3 execID=" + *id,
                             "aaaa exec_die execID=" + *id + " exitCode=3",
                         });

  // Without arguments Moby's action keeps the space after the entrypoint; a
  // refused exec publishes nothing, one that cannot run has no exec_die.
  sink.events.clear();
  CHECK_FALSE(f.manager->Create("c1", R"({"Cmd":[]})").ok());
  id = f.manager->Create("c1", R"({"Cmd":["nosuch"]})");
  REQUIRE(id.ok());
  f.shim.error = absl::NotFoundError("exec: \"nosuch\": executable file not found in $PATH");
  CHECK_FALSE(f.manager->Start(*id, false).ok());
  CHECK(sink.Events() == std::vector<std::string>{"aaaa exec_create: nosuch  execID=" + *id,
                                                  "aaaa exec_start: nosuch  execID=" + *id});
}

}  // namespace
}  // namespace berth::runtimed
