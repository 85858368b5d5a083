#include "runtimed/daemon/container_manager.h"

#include <atomic>
#include <catch2/catch.hpp>
#include <future>
#include <thread>

#include "absl/time/clock.h"
#include "common/event_journal.h"
#include "common/fs.h"
#include "common/json.h"
#include "common/mount_points.h"
#include "runtimed/daemon/restart_policy.h"
#include "runtimed/daemon/top.h"
#include "tests/runtimed/daemon/fakes.h"
#include "tests/runtimed/daemon/test_util.h"

namespace berth::runtimed {
namespace {

using namespace std::chrono_literals;
using testing::FakeContainer;

const char kImage[] = R"({"config":{"Env":["PATH=/bin"],"Cmd":["sh"],"WorkingDir":"/srv"}})";

struct Fixture {
  testing::TempDir dir;
  testing::FakeStorage storage{dir.path() + "/mnt"};
  testing::FakeNetwork network;
  testing::FakeLauncher launcher;
  EventJournal events;
  std::unique_ptr<ContainerManager> manager;
  std::chrono::milliseconds restart_delay = 10ms;

  explicit Fixture(std::chrono::milliseconds delay = 10ms) : restart_delay(delay) { Reopen(); }

  ManagerOptions Options() {
    ManagerOptions options = testing::TestManagerOptions(dir.path());
    options.restart_delay = restart_delay;
    options.events = &events;
    return options;
  }

  // Simulates runtimed restarting: the shims stay.
  void Reopen() {
    manager.reset();
    auto opened = ContainerManager::Open(Options(), &storage, &network, &launcher);
    REQUIRE(opened.ok());
    manager = *std::move(opened);
    manager->DrainBackgroundWork();
  }

  std::string Create(const std::string& config, const std::string& host = "{}",
                     const std::string& name = "") {
    runtime::v1::CreateContainerRequest request;
    request.set_name(name);
    request.set_config_json(config);
    request.set_host_config_json(host);
    request.mutable_image()->set_id("sha256:" + std::string(64, 'e'));
    request.mutable_image()->set_reference("busybox");
    request.mutable_image()->set_config_json(kImage);
    request.mutable_image()->set_top_chain_id("sha256:" + std::string(64, 'c'));
    auto response = manager->Create(request);
    REQUIRE(response.ok());
    return response->id();
  }

  std::string Status(const std::string& id) { return manager->Get(id)->state().status(); }

  // Waits on a thread; the future's value is the result.
  std::future<absl::StatusOr<runtime::v1::WaitResult>> WaitAsync(const std::string& id,
                                                                 const std::string& condition) {
    auto registered = std::make_shared<std::promise<void>>();
    auto future = std::async(std::launch::async, [this, id, condition, registered] {
      return manager->Wait(
          id, condition, [&] { registered->set_value(); }, [] { return false; });
    });
    registered->get_future().wait();
    return future;
  }
};

template <typename F>
bool Eventually(F condition) {
  for (int i = 0; i < 500; ++i) {
    if (condition()) return true;
    std::this_thread::sleep_for(10ms);
  }
  return condition();
}

}  // namespace

TEST_CASE("create, start, exit, wait and remove", "[manager]") {
  Fixture f;
  REQUIRE(WriteFileAtomic(f.dir.path() + "/resolv.conf", "nameserver 10.0.0.1\n").ok());
  const std::string id = f.Create(
      R"({"Cmd":["echo","hi"],"Image":"busybox","User":"app","Labels":{"a":"b"},"Tty":true,
          "OpenStdin":true})",
      R"({"LogConfig":{"Type":"json-file","Config":{"max-size":"1m","max-file":"3"}}})", "web");
  CHECK(id.size() == 64);
  CHECK(f.storage.prepared.count(id));
  CHECK(f.storage.parents[id] == "sha256:" + std::string(64, 'c'));

  auto c = f.manager->Get("web");
  REQUIRE(c.ok());
  CHECK(c->name() == "web");
  CHECK(c->state().status() == "created");
  CHECK(c->path() == "echo");
  CHECK(c->image() == "busybox");
  CHECK(c->image_id() == "sha256:" + std::string(64, 'e'));
  Json config = Json::parse(c->config_json());
  CHECK(config["WorkingDir"] == "/srv");
  CHECK(config["Labels"]["a"] == "b");
  CHECK(Json::parse(c->host_config_json())["NetworkMode"] == "default");
  CHECK(c->log_path() == f.dir.path() + "/state/containers/" + id + "/" + id + "-json.log");
  CHECK(f.manager->Get(id.substr(0, 5))->id() == id);
  CHECK(f.manager->List(false).empty());
  CHECK(f.manager->List(true).size() == 1);

  // A waiter for the next exit and one for removal, registered before start.
  auto next_exit = f.WaitAsync(id, "next-exit");
  auto removed = f.WaitAsync(id, "removed");
  auto attachment = f.manager->Attach(id, {true, true, true});
  REQUIRE(attachment.ok());
  REQUIRE((*attachment)->WriteStdin("early input").ok());

  auto started = f.manager->Start(id);
  REQUIRE(started.ok());
  CHECK_FALSE(*started);
  CHECK(*f.manager->Start(id));  // Already running.
  CHECK(f.Status(id) == "running");
  CHECK(f.manager->Get(id)->state().pid() == 4242);
  CHECK(f.manager->List(false).size() == 1);

  std::shared_ptr<FakeContainer> shim = f.launcher.Get(id);
  REQUIRE(shim);
  CHECK(shim->started);
  CHECK(shim->attachments == 1);  // Connected before the process started.
  CHECK(shim->stdin_data == "early input");
  CHECK(f.launcher.shim_binary == "/opt/berth-shim");
  const shim::v1::Bootstrap& b = shim->bootstrap;
  CHECK(b.bundle() == f.dir.path() + "/run/" + id);
  CHECK(b.socket_path() == f.dir.path() + "/run/s/" + id.substr(0, 16) + ".sock");
  CHECK(b.exit_path() == b.bundle() + "/exit.pb");
  CHECK(b.log_path() == c->log_path());
  CHECK(b.tty());
  CHECK(b.open_stdin());
  CHECK(b.log_max_size() == 1 << 20);
  CHECK(b.log_max_files() == 3);

  auto spec = Json::parse(*ReadFile(b.bundle() + "/config.json"));
  CHECK(spec["process"]["args"] == Json::array({"echo", "hi"}));
  CHECK(spec["process"]["user"]["uid"] == 1000);
  CHECK(spec["process"]["user"]["additionalGids"] == Json::array({50}));
  CHECK(spec["process"]["cwd"] == "/srv");
  CHECK(spec["linux"]["cgroupsPath"] == "/berth-test/" + id);
  CHECK(spec["root"]["path"] == f.dir.path() + "/mnt/" + id.substr(0, 8));
  CHECK(PathExists(spec["root"]["path"].get<std::string>() + "/srv"));
  CHECK(*ReadFile(c->hostname_path()) == id.substr(0, 12) + "\n");
  CHECK(ReadFile(c->hosts_path())->find("localhost") != std::string::npos);
  CHECK(*ReadFile(c->resolv_conf_path()) == "nameserver 10.0.0.1\n");
  CHECK(f.network.sandboxes.at(id) == "default");

  shim->Write(1, "hello\n");
  auto chunk = (*attachment)->Read();
  REQUIRE(chunk.ok());
  REQUIRE(chunk->has_value());
  CHECK((*chunk)->data() == "hello\n");

  CHECK(f.manager->ResizeTty(id, 30, 100).ok());
  CHECK(shim->resizes.size() == 1);

  shim->Exit(3);
  auto result = next_exit.get();
  REQUIRE(result.ok());
  CHECK(result->exit_code() == 3);
  auto end = (*attachment)->Read();
  REQUIRE(end.ok());
  CHECK_FALSE(end->has_value());
  REQUIRE(Eventually([&] { return f.storage.mounted.empty(); }));
  CHECK(f.Status(id) == "exited");
  CHECK(f.manager->Get(id)->state().exit_code() == 3);
  CHECK(Eventually(
      [&] { return f.network.sandboxes.empty() && shim->shutdown && !PathExists(b.bundle()); }));
  CHECK(removed.wait_for(50ms) == std::future_status::timeout);

  // "not-running" returns at once for a stopped container.
  auto now = f.manager->Wait(
      id, "", [] {}, [] { return false; });
  REQUIRE(now.ok());
  CHECK(now->exit_code() == 3);

  CHECK(f.manager->Remove(id, false).ok());
  auto removed_result = removed.get();
  REQUIRE(removed_result.ok());
  CHECK(removed_result->exit_code() == 3);
  CHECK(f.manager->Get(id).status().code() == absl::StatusCode::kNotFound);
  CHECK(f.manager->Get(id).status().message() == "No such container: " + id);
  CHECK(f.storage.prepared.empty());
  CHECK_FALSE(PathExists(f.dir.path() + "/state/containers/" + id));
  f.Reopen();
  CHECK(f.manager->List(true).empty());
}

TEST_CASE("names conflict, prefixes resolve, generated names are unique", "[manager]") {
  Fixture f;
  const std::string a = f.Create(R"({"Cmd":["x"]})", "{}", "/dup");
  runtime::v1::CreateContainerRequest request;
  request.set_name("dup");
  request.set_config_json(R"({"Cmd":["x"]})");
  auto conflict = f.manager->Create(request);
  REQUIRE_FALSE(conflict.ok());
  CHECK(conflict.status().code() == absl::StatusCode::kAlreadyExists);
  CHECK(conflict.status().message() ==
        "Conflict. The container name \"/dup\" is already in use by container \"" + a +
            "\". You have to remove (or rename) that container to be able to reuse that name.");
  request.set_name("bad name");
  CHECK(f.manager->Create(request).status().code() == absl::StatusCode::kInvalidArgument);
  request.set_name("");
  request.set_config_json("{}");
  CHECK(f.manager->Create(request).status().message() == "No command specified");
  CHECK(f.manager->List(true).size() == 1);

  const std::string b = f.Create(R"({"Cmd":["x"]})");
  CHECK(f.manager->Get(b)->name() != "");
  CHECK(f.manager->Get("/dup")->id() == a);
  CHECK(f.manager->Get("").status().code() == absl::StatusCode::kNotFound);
  CHECK(f.manager->Get("zz").status().message() == "No such container: zz");
  // Find a prefix shared by both IDs, if any (IDs are random): ambiguous.
  if (a[0] == b[0]) {
    CHECK(f.manager->Get(a.substr(0, 1)).status().code() == absl::StatusCode::kInvalidArgument);
  }
  CHECK(f.manager->Get(a.substr(0, 12))->id() == a);
}

TEST_CASE("a failed create leaves nothing behind", "[manager]") {
  Fixture f;
  f.storage.fail_prepare = absl::UnavailableError("stored is unavailable: down");
  runtime::v1::CreateContainerRequest request;
  request.set_name("x1");
  request.set_config_json(R"({"Cmd":["x"]})");
  auto result = f.manager->Create(request);
  CHECK(result.status().code() == absl::StatusCode::kUnavailable);
  CHECK(f.manager->List(true).empty());
  CHECK(f.manager->Get("x1").status().code() == absl::StatusCode::kNotFound);
  f.Reopen();
  CHECK(f.manager->List(true).empty());
  // The name is free again.
  f.storage.fail_prepare = absl::OkStatus();
  f.Create(R"({"Cmd":["x"]})", "{}", "x1");
}

TEST_CASE("a start failure records Docker's exit code and undoes everything", "[manager]") {
  Fixture f;
  const std::string id = f.Create(R"({"Cmd":["nope"]})");
  auto next = f.WaitAsync(id, "next-exit");
  auto attachment = f.manager->Attach(id, {false, true, true});
  f.launcher.fail_launch =
      absl::NotFoundError("exec: \"nope\": executable file not found in $PATH");
  auto started = f.manager->Start(id);
  REQUIRE_FALSE(started.ok());
  CHECK(started.status().code() == absl::StatusCode::kInvalidArgument);
  CHECK(started.status().message() == "exec: \"nope\": executable file not found in $PATH");
  auto c = f.manager->Get(id);
  CHECK(c->state().status() == "created");
  CHECK(c->state().exit_code() == 127);
  CHECK(c->state().error() == "exec: \"nope\": executable file not found in $PATH");
  CHECK(next.get()->exit_code() == 127);
  CHECK_FALSE((*attachment)->Read()->has_value());
  CHECK(f.storage.mounted.empty());
  CHECK(f.network.sandboxes.empty());
  CHECK_FALSE(PathExists(f.dir.path() + "/run/" + id));

  f.launcher.fail_launch = absl::PermissionDeniedError("exec: \"/etc\": permission denied");
  CHECK_FALSE(f.manager->Start(id).ok());
  CHECK(f.manager->Get(id)->state().exit_code() == 126);

  // With --rm, a container that cannot start is removed.
  const std::string rm = f.Create(R"({"Cmd":["nope"]})", R"({"AutoRemove":true})");
  auto removed = f.WaitAsync(rm, "removed");
  CHECK_FALSE(f.manager->Start(rm).ok());
  CHECK(removed.get()->exit_code() == 126);
  CHECK(f.manager->Get(rm).status().code() == absl::StatusCode::kNotFound);

  // An unknown user fails before the shim.
  f.launcher.fail_launch = absl::OkStatus();
  const std::string user = f.Create(R"({"Cmd":["x"],"User":"ghost"})");
  auto bad_user = f.manager->Start(user);
  CHECK(bad_user.status().message() ==
        "unable to find user ghost: no matching entries in passwd file");
  CHECK(f.manager->Get(user)->state().exit_code() == 128);
  CHECK(f.storage.mounted.empty());
}

TEST_CASE("AutoRemove removes the container after it exits", "[manager]") {
  Fixture f;
  const std::string id = f.Create(R"({"Cmd":["x"]})", R"({"AutoRemove":true})");
  auto removed = f.WaitAsync(id, "removed");
  REQUIRE(f.manager->Start(id).ok());
  f.launcher.Get(id)->Exit(0);
  auto result = removed.get();
  REQUIRE(result.ok());
  CHECK(result->exit_code() == 0);
  CHECK(f.manager->Get(id).status().code() == absl::StatusCode::kNotFound);
  CHECK(f.storage.prepared.empty());
}

TEST_CASE("an exited --rm container found at startup is removed", "[manager]") {
  Fixture f;
  const std::string rm = f.Create(R"({"Cmd":["x"]})", R"({"AutoRemove":true})", "rm");
  const std::string kept = f.Create(R"({"Cmd":["x"]})", "{}", "kept");
  const std::string created = f.Create(R"({"Cmd":["x"]})", R"({"AutoRemove":true})", "fresh");
  f.manager.reset();
  {
    // What runtimed left when it died (or a power loss took the unsynced
    // removal mark): the exit recorded, the removal not.
    auto store = ContainerStore::Open(f.dir.path() + "/state/runtimed.db");
    REQUIRE(store.ok());
    auto rows = (*store)->LoadAll();
    REQUIRE(rows.ok());
    for (StoredContainer& row : *rows) {
      if (row.container.id() == created) continue;
      row.container.mutable_state()->set_status("exited");
      REQUIRE((*store)->Put(row.container, row.phase).ok());
    }
  }
  f.Reopen();
  CHECK(f.manager->Get(rm).status().code() == absl::StatusCode::kNotFound);
  CHECK(f.Status(kept) == "exited");
  CHECK(f.Status(created) == "created");  // waits for its start
  std::lock_guard<std::mutex> lock(f.storage.mu);
  CHECK(f.storage.prepared.count(rm) == 0);
  CHECK(f.storage.prepared.count(kept) == 1);
}

TEST_CASE("stop escalates to SIGKILL after the timeout", "[manager]") {
  Fixture f;
  const std::string id = f.Create(R"({"Cmd":["x"],"StopSignal":"SIGUSR1"})");
  REQUIRE(f.manager->Start(id).ok());
  auto shim = f.launcher.Get(id);
  shim->ignore_sigterm = true;
  auto start = std::chrono::steady_clock::now();
  auto stopped = f.manager->Stop(id, 1, "");
  REQUIRE(stopped.ok());
  CHECK_FALSE(*stopped);
  CHECK(std::chrono::steady_clock::now() - start >= 1s);
  CHECK(shim->signals == std::vector<int>{SIGUSR1, SIGKILL});
  CHECK(f.Status(id) == "exited");
  CHECK(f.manager->Get(id)->state().exit_code() == 137);
  CHECK(*f.manager->Stop(id, 1, ""));  // Already stopped.

  // Restart, then a stop whose signal the container honours.
  REQUIRE(f.manager->Restart(id, 1, "").ok());
  CHECK(f.Status(id) == "running");
  auto again = f.launcher.Get(id);
  REQUIRE(f.manager->Stop(id, std::nullopt, "TERM").ok());
  CHECK(again->signals == std::vector<int>{SIGTERM});
  CHECK(f.manager->Get(id)->state().exit_code() == 143);
}

TEST_CASE("kill, resize and remove check the container's state", "[manager]") {
  Fixture f;
  const std::string id = f.Create(R"({"Cmd":["x"]})");
  auto kill = f.manager->Kill(id, "KILL");
  CHECK(kill.code() == absl::StatusCode::kFailedPrecondition);
  CHECK(kill.message() == "Container " + id + " is not running");
  CHECK(f.manager->ResizeTty(id, 1, 1).code() == absl::StatusCode::kFailedPrecondition);

  REQUIRE(f.manager->Start(id).ok());
  CHECK(f.manager->Kill(id, "BOGUS").message() == "Invalid signal: BOGUS");
  auto rm = f.manager->Remove(id, false);
  CHECK(rm.code() == absl::StatusCode::kFailedPrecondition);
  CHECK(rm.message() == "You cannot remove a running container " + id +
                            ". Stop the container before attempting removal or force remove");
  CHECK(f.manager->Kill(id, "USR1").ok());
  CHECK(f.Status(id) == "running");
  CHECK(f.manager->Kill(id, "9").ok());
  REQUIRE(Eventually([&] { return f.Status(id) == "exited"; }));
  CHECK(f.manager->Get(id)->state().exit_code() == 137);

  const std::string forced = f.Create(R"({"Cmd":["x"]})");
  REQUIRE(f.manager->Start(forced).ok());
  CHECK(f.manager->Remove(forced, true).ok());
  CHECK(f.manager->Get(forced).status().code() == absl::StatusCode::kNotFound);
  CHECK(f.storage.mounted.empty());
}

TEST_CASE("a cancelled wait and attach free their waiters", "[manager]") {
  Fixture f;
  const std::string id = f.Create(R"({"Cmd":["x"]})");
  std::atomic<bool> cancelled{false};
  auto waiter = std::async(std::launch::async, [&] {
    return f.manager->Wait(
        id, "removed", [] {}, [&] { return cancelled.load(); });
  });
  std::this_thread::sleep_for(50ms);
  cancelled = true;
  CHECK(waiter.get().status().code() == absl::StatusCode::kCancelled);
  CHECK(f.manager
            ->Wait(
                id, "bogus", [] {}, [] { return false; })
            .status()
            .code() == absl::StatusCode::kInvalidArgument);

  auto attachment = f.manager->Attach(id, {false, true, true});
  auto reader = std::async(std::launch::async, [&] { return (*attachment)->Read(); });
  (*attachment)->Cancel();
  CHECK_FALSE(reader.get()->has_value());
  REQUIRE(f.manager->Start(id).ok());
  CHECK(f.launcher.Get(id)->attachments == 0);  // The cancelled one was not connected.
}

TEST_CASE("logs of a container, followed until it exits", "[manager]") {
  Fixture f;
  const std::string id = f.Create(R"({"Cmd":["x"]})");
  REQUIRE(f.manager->Start(id).ok());
  const std::string log = f.manager->Get(id)->log_path();
  REQUIRE(WriteFileAtomic(log, R"({"log":"one\n","stream":"stdout","time":"2024-01-01T00:00:00Z"})"
                               "\n")
              .ok());
  std::vector<std::string> got;
  std::mutex mu;
  LogReadOptions options;
  options.follow = true;
  options.poll_interval_ms = 5;
  auto follower = std::async(std::launch::async, [&] {
    return f.manager->Logs(
        id, options,
        [&](const LogRecord& r) {
          std::lock_guard<std::mutex> lock(mu);
          got.push_back(r.data);
          return true;
        },
        [] { return false; });
  });
  REQUIRE(Eventually([&] {
    std::lock_guard<std::mutex> lock(mu);
    return got.size() == 1;
  }));
  CHECK(follower.wait_for(30ms) == std::future_status::timeout);
  f.launcher.Get(id)->Exit(0);
  CHECK(follower.get().ok());
  CHECK(got == std::vector<std::string>{"one\n"});
  CHECK(f.manager->Logs("nope", {}, nullptr, nullptr).code() == absl::StatusCode::kNotFound);
}

TEST_CASE("after a restart runtimed reconnects to live shims and reaps dead ones", "[manager]") {
  Fixture f;
  const std::string live = f.Create(R"({"Cmd":["x"]})", "{}", "live");
  const std::string recorded = f.Create(R"({"Cmd":["x"]})", R"({"AutoRemove":true})", "rec");
  const std::string lost = f.Create(R"({"Cmd":["x"]})", "{}", "lost");
  const std::string exited_while_down = f.Create(R"({"Cmd":["x"]})", "{}", "down");
  for (const std::string& id : {live, recorded, lost, exited_while_down}) {
    REQUIRE(f.manager->Start(id).ok());
  }
  f.manager.reset();  // runtimed is killed; the shims keep going.
  {
    auto c = f.launcher.Get(recorded);
    std::lock_guard<std::mutex> lock(c->mu);
    c->ExitLocked(7);
    c->alive = false;  // The shim wrote exit.pb and went away.
  }
  {
    auto c = f.launcher.Get(lost);
    std::lock_guard<std::mutex> lock(c->mu);
    c->alive = false;  // SIGKILLed shim: no exit file.
  }
  f.launcher.Get(exited_while_down)->Exit(4);  // The shim is still up.

  f.Reopen();
  CHECK(f.Status(live) == "running");
  CHECK(f.manager->Get(recorded).status().code() == absl::StatusCode::kNotFound);
  CHECK(f.Status(lost) == "exited");
  CHECK(f.manager->Get(lost)->state().exit_code() == 137);
  CHECK(f.manager->Get(lost)->state().error() == "shim died");
  REQUIRE(Eventually([&] { return f.Status(exited_while_down) == "exited"; }));
  CHECK(f.manager->Get(exited_while_down)->state().exit_code() == 4);
  REQUIRE(Eventually([&] {
    std::lock_guard<std::mutex> lock(f.storage.mu);
    return f.storage.mounted == std::set<std::string>{live};
  }));
  // The clean-up unmounts before it removes the sandbox.
  CHECK(Eventually([&] {
    std::lock_guard<std::mutex> lock(f.network.mu);
    return f.network.sandboxes.size() == 1;
  }));

  // The reconnected container is monitored: its exit is seen.
  auto waiter = f.WaitAsync(live, "next-exit");
  f.launcher.Get(live)->Exit(9);
  CHECK(waiter.get()->exit_code() == 9);
  CHECK(f.Status(live) == "exited");
}

}  // namespace berth::runtimed

namespace berth::runtimed {

TEST_CASE("volumes are acquired at create, mounted at start, released at remove", "[manager]") {
  Fixture f;
  // Outside the engine's root: binds of its own data are refused.
  testing::TempDir outside;
  const std::string bind_source = outside.path() + "/created-by-v";
  const std::string id =
      f.Create(R"({"Cmd":["x"],"Volumes":{"/anon":{}}})",
               R"({"Binds":["data:/data:ro","/)" + bind_source.substr(1) + R"(:/mnt"]})");
  const std::string anon = AnonymousVolumeName(id, "/anon");
  CHECK(f.storage.volumes["data"] == std::set<std::string>{id});
  CHECK(f.storage.volumes[anon] == std::set<std::string>{id});
  CHECK(f.storage.anonymous_volumes[anon]);
  CHECK_FALSE(f.storage.anonymous_volumes["data"]);
  CHECK_FALSE(PathExists(bind_source));

  REQUIRE(f.manager->Start(id).ok());
  CHECK(PathExists(bind_source));  // -v creates a missing host path.
  CHECK(f.storage.volume_mounts.size() == 2);
  auto spec = Json::parse(*ReadFile(f.launcher.Get(id)->bootstrap.bundle() + "/config.json"));
  bool found = false;
  for (const Json& m : spec["mounts"]) {
    if (m["destination"] != "/data") continue;
    found = true;
    CHECK(m["source"] == "/volumes/data/_data");
    CHECK(m["options"] == Json::array({"rbind", "ro", "rprivate"}));
  }
  CHECK(found);
  f.launcher.Get(id)->Exit(0);
  REQUIRE(Eventually([&] { return f.Status(id) == "exited"; }));

  // rm -v: the anonymous volume goes, the named one stays.
  REQUIRE(f.manager->Remove(id, false, true).ok());
  CHECK(f.storage.volumes["data"].empty());
  CHECK_FALSE(f.storage.volumes.count(anon));

  // Plain rm keeps anonymous volumes (dangling).
  const std::string kept = f.Create(R"({"Cmd":["x"],"Volumes":{"/anon":{}}})");
  REQUIRE(f.manager->Remove(kept, false).ok());
  CHECK(f.storage.volumes.count(AnonymousVolumeName(kept, "/anon")));
}

TEST_CASE("mount specifications are checked at create", "[manager]") {
  Fixture f;
  runtime::v1::CreateContainerRequest request;
  request.set_config_json(R"({"Cmd":["x"]})");
  request.mutable_image()->set_config_json(kImage);
  request.set_host_config_json(R"({"Binds":["bad/name:/x"]})");
  CHECK(f.manager->Create(request).status().code() == absl::StatusCode::kInvalidArgument);
  request.set_host_config_json(
      R"({"Mounts":[{"Type":"bind","Source":"/nonexistent/berth","Target":"/x"}]})");
  auto created = f.manager->Create(request);
  CHECK(created.status().message() ==
        "invalid mount config for type \"bind\": bind source path does not exist: "
        "/nonexistent/berth");
  CHECK(f.storage.volumes.empty());
  CHECK(f.manager->List(true).empty());
}

}  // namespace berth::runtimed

namespace berth::runtimed {
namespace {

std::string FreezerState(Fixture& f, const std::string& id) {
  return ReadFile(f.dir.path() + "/cgroup/freezer/berth-test/" + id + "/freezer.state")
      .value_or("");
}

TEST_CASE("pause freezes the cgroup, stop thaws, and restarts keep the state", "[manager]") {
  Fixture f;
  const std::string id = f.Create(R"({"Cmd":["sleep","100"]})");
  const std::string cgroup = f.dir.path() + "/cgroup/freezer/berth-test/" + id;
  REQUIRE(MakeDirs(cgroup, 0755).ok());

  auto not_running = f.manager->Pause(id);
  CHECK(not_running.code() == absl::StatusCode::kFailedPrecondition);
  CHECK(not_running.message() == "Container " + id + " is not running");
  REQUIRE(f.manager->Start(id).ok());
  CHECK(f.manager->Unpause(id).message() == "Container " + id + " is not paused");

  REQUIRE(f.manager->Pause(id).ok());
  CHECK(FreezerState(f, id) == "FROZEN");
  CHECK(f.Status(id) == "paused");
  CHECK(f.manager->List(false).size() == 1);
  CHECK(f.manager->Pause(id).message() == "Container " + id + " is already paused");

  // runtimed restarts: the freezer says paused.
  f.Reopen();
  CHECK(f.Status(id) == "paused");
  REQUIRE(f.manager->Unpause(id).ok());
  CHECK(FreezerState(f, id) == "THAWED");
  CHECK(f.Status(id) == "running");
  REQUIRE(WriteFileAtomic(cgroup + "/freezer.state", "FROZEN").ok());
  f.Reopen();
  CHECK(f.Status(id) == "paused");

  // Stop signals, then thaws so that the signal is delivered.
  auto stopped = f.manager->Stop(id, 5, "");
  REQUIRE(stopped.ok());
  CHECK(FreezerState(f, id) == "THAWED");
  CHECK(f.Status(id) == "exited");
}

TEST_CASE("top needs a running container", "[manager]") {
  Fixture f;
  const std::string id = f.Create(R"({"Cmd":["sleep","100"]})");
  CHECK(f.manager->Top(id, "").status().code() == absl::StatusCode::kFailedPrecondition);
  REQUIRE(f.manager->Start(id).ok());
  const std::string cgroup = f.dir.path() + "/cgroup/freezer/berth-test/" + id;
  REQUIRE(MakeDirs(cgroup, 0755).ok());
  REQUIRE(WriteFileAtomic(cgroup + "/cgroup.procs", std::to_string(getpid()) + "\n").ok());
  auto top = f.manager->Top(id, "");
  REQUIRE(top.ok());
  CHECK(top->titles_size() == 8);
  REQUIRE(top->processes_size() == 1);
  CHECK(top->processes(0).fields(1) == std::to_string(getpid()));
  CHECK(f.manager->Top(id, "-ef; rm -rf /").status().code() == absl::StatusCode::kInvalidArgument);
  REQUIRE(f.manager->Kill(id, "").ok());
}

// Makes the running container's process exit with code once it runs.
std::shared_ptr<FakeContainer> ExitWhenRunning(Fixture& f, const std::string& id,
                                               const std::shared_ptr<FakeContainer>& previous,
                                               int code) {
  std::shared_ptr<FakeContainer> c;
  REQUIRE(Eventually([&] {
    c = f.launcher.Get(id);
    return c && c != previous && f.Status(id) == "running";
  }));
  c->Exit(code);
  return c;
}

TEST_CASE("on-failure restarts up to its limit and counts restarts", "[manager]") {
  Fixture f;
  const std::string id = f.Create(
      R"({"Cmd":["false"]})", R"({"RestartPolicy":{"Name":"on-failure","MaximumRetryCount":2}})");
  REQUIRE(f.manager->Start(id).ok());
  std::shared_ptr<FakeContainer> c;
  for (int i = 0; i < 3; ++i) c = ExitWhenRunning(f, id, c, 1);
  REQUIRE(Eventually([&] { return f.Status(id) == "exited"; }));
  std::this_thread::sleep_for(200ms);
  CHECK(f.Status(id) == "exited");
  CHECK(f.launcher.Get(id) == c);
  CHECK(f.manager->Get(id)->restart_count() == 2);
  CHECK(f.manager->Get(id)->state().exit_code() == 1);

  // A clean exit is not a failure.
  REQUIRE(f.manager->Start(id).ok());
  CHECK(f.manager->Get(id)->restart_count() == 0);
  c = ExitWhenRunning(f, id, c, 0);
  std::this_thread::sleep_for(200ms);
  CHECK(f.Status(id) == "exited");
  CHECK(f.launcher.Get(id) == c);
}

TEST_CASE("always restarts until the user stops it, and again at startup", "[manager]") {
  Fixture f;
  const std::string id = f.Create(R"({"Cmd":["sh"]})", R"({"RestartPolicy":{"Name":"always"}})");
  const std::string other =
      f.Create(R"({"Cmd":["sh"]})", R"({"RestartPolicy":{"Name":"unless-stopped"}})");
  REQUIRE(f.manager->Start(id).ok());
  REQUIRE(f.manager->Start(other).ok());
  auto c = ExitWhenRunning(f, id, nullptr, 0);
  c = ExitWhenRunning(f, id, c, 137);
  REQUIRE(Eventually([&] { return f.launcher.Get(id) != c && f.Status(id) == "running"; }));
  CHECK(f.manager->Get(id)->restart_count() == 2);

  REQUIRE(f.manager->Stop(id, 1, "").ok());
  REQUIRE(f.manager->Stop(other, 1, "").ok());
  std::this_thread::sleep_for(200ms);
  CHECK(f.Status(id) == "exited");
  CHECK(f.Status(other) == "exited");

  // At startup `always` comes back even after a stop, `unless-stopped` not.
  f.Reopen();
  REQUIRE(Eventually([&] { return f.Status(id) == "running"; }));
  std::this_thread::sleep_for(100ms);
  CHECK(f.Status(other) == "exited");
  REQUIRE(f.manager->Kill(id, "").ok());
  REQUIRE(Eventually([&] { return f.Status(id) == "exited"; }));
  std::this_thread::sleep_for(100ms);
  CHECK(f.Status(id) == "exited");
}

TEST_CASE("a container waiting for its policy restart is restarting, as in Docker", "[manager]") {
  Fixture f(60s);
  const std::string id = f.Create(R"({"Cmd":["sh"]})", R"({"RestartPolicy":{"Name":"always"}})");
  REQUIRE(f.manager->Start(id).ok());
  ExitWhenRunning(f, id, nullptr, 3);
  REQUIRE(Eventually([&] { return f.Status(id) == "restarting"; }));
  CHECK(f.manager->Get(id)->state().exit_code() == 3);
  CHECK(f.manager->List(false).size() == 1);
  CHECK(f.manager->Kill(id, "").message() ==
        "Container " + id + " is restarting, wait until the container is running");
  CHECK(f.manager->Remove(id, false).code() == absl::StatusCode::kFailedPrecondition);

  // The pending restart survives runtimed's restart.
  f.Reopen();
  CHECK(f.Status(id) == "restarting");
  // A stop cancels it: exited, for good.
  auto stopped = f.manager->Stop(id, 1, "");
  REQUIRE(stopped.ok());
  CHECK(f.Status(id) == "exited");
  CHECK(f.manager->Get(id)->state().stopped_by_user());
  CHECK(f.manager->List(false).empty());
  REQUIRE(f.manager->Remove(id, false).ok());
}

TEST_CASE("a start or forced removal ends the restarting state", "[manager]") {
  Fixture f(60s);
  const std::string id = f.Create(R"({"Cmd":["sh"]})", R"({"RestartPolicy":{"Name":"always"}})");
  REQUIRE(f.manager->Start(id).ok());
  auto c = ExitWhenRunning(f, id, nullptr, 1);
  REQUIRE(Eventually([&] { return f.Status(id) == "restarting"; }));
  // Docker counts it as running: docker wait waits for the next exit.
  auto waiter = f.WaitAsync(id, "not-running");
  CHECK(waiter.wait_for(100ms) == std::future_status::timeout);
  REQUIRE(f.manager->Start(id).ok());
  CHECK(f.Status(id) == "running");
  CHECK(f.launcher.Get(id) != c);
  ExitWhenRunning(f, id, c, 1);
  REQUIRE(Eventually([&] { return f.Status(id) == "restarting"; }));
  REQUIRE(waiter.wait_for(5s) == std::future_status::ready);
  CHECK(waiter.get()->exit_code() == 1);
  REQUIRE(f.manager->Remove(id, true).ok());
  CHECK_FALSE(f.manager->Get(id).ok());
}

// The container's actions so far, comma-separated, with kill's signal.
std::string Actions(Fixture& f, const std::string& id) {
  std::string out;
  f.events.Watch(
      1, absl::ToUnixNanos(absl::Now()),
      [&](const events::v1::Event& e) {
        if (e.id() != id) return true;
        out += e.action();
        if (e.action() == "kill") out += "/" + e.attributes().at("signal");
        out += ",";
        return true;
      },
      [] { return false; });
  return out;
}

TEST_CASE("events come in Docker's order", "[manager][events]") {
  Fixture f;
  const std::string stopped = f.Create(R"({"Cmd":["sh"]})");
  auto attachment = f.manager->Attach(stopped, {false, true, true});
  REQUIRE(attachment.ok());
  REQUIRE(f.manager->Start(stopped).ok());
  REQUIRE(f.manager->Stop(stopped, 1, "").ok());
  (*attachment)->Cancel();
  REQUIRE(f.manager->Remove(stopped, false).ok());
  CHECK(Actions(f, stopped) == "create,attach,start,kill/15,die,stop,destroy,");

  // A stop signal the process ignores: SIGKILL after the timeout.
  const std::string stubborn = f.Create(R"({"Cmd":["sh"]})");
  REQUIRE(f.manager->Start(stubborn).ok());
  REQUIRE(Eventually([&] { return f.launcher.Get(stubborn) != nullptr; }));
  {
    auto shim = f.launcher.Get(stubborn);
    std::lock_guard<std::mutex> lock(shim->mu);
    shim->ignore_sigterm = true;
  }
  REQUIRE(f.manager->Restart(stubborn, 1, "").ok());
  CHECK(Actions(f, stubborn) == "create,start,kill/15,kill/9,die,stop,start,restart,");

  const std::string killed = f.Create(R"({"Cmd":["sh"]})");
  REQUIRE(f.manager->Start(killed).ok());
  REQUIRE(f.manager->Kill(killed, "").ok());
  REQUIRE(Eventually([&] { return f.Status(killed) == "exited"; }));
  CHECK(Actions(f, killed) == "create,start,kill/9,die,");

  // A policy restart is die then start, with no event of its own.
  const std::string policy = f.Create(
      R"({"Cmd":["false"]})", R"({"RestartPolicy":{"Name":"on-failure","MaximumRetryCount":1}})");
  REQUIRE(f.manager->Start(policy).ok());
  auto c = ExitWhenRunning(f, policy, nullptr, 1);
  ExitWhenRunning(f, policy, c, 1);
  REQUIRE(Eventually([&] { return f.Status(policy) == "exited"; }));
  CHECK(Actions(f, policy) == "create,start,die,start,die,");
}

TEST_CASE("resize, oom and the apiserver's reported events are Moby's", "[manager][events]") {
  Fixture f;
  const std::string id = f.Create(R"({"Cmd":["sh"],"Tty":true,"Labels":{"l":"v"}})");
  REQUIRE(f.manager->Start(id).ok());
  REQUIRE(Eventually([&] { return f.launcher.Get(id) != nullptr; }));
  REQUIRE(f.manager->ResizeTty(id.substr(0, 12), 30, 100).ok());
  REQUIRE(f.manager->RecordReportedEvent(id.substr(0, 12), "archive-path", {}).ok());
  REQUIRE(f.manager->RecordReportedEvent(id, "exec_detach", {{"execID", "e1"}}).ok());
  REQUIRE(f.manager->RecordReportedEvent("", "prune", {{"reclaimed", "0"}}).ok());
  // Lifecycle events are runtimed's own: the API server cannot forge them.
  CHECK(absl::IsInvalidArgument(f.manager->RecordReportedEvent(id, "die", {})));
  CHECK(absl::IsInvalidArgument(f.manager->RecordReportedEvent("", "detach", {})));
  CHECK(absl::IsNotFound(f.manager->RecordReportedEvent("nosuch", "export", {})));
  {
    auto shim = f.launcher.Get(id);
    std::lock_guard<std::mutex> lock(shim->mu);
    shim->exit.set_oom_killed(true);
    shim->ExitLocked(137);
  }
  REQUIRE(Eventually([&] { return f.Status(id) == "exited"; }));
  std::vector<std::string> seen;
  f.events.Watch(
      1, absl::ToUnixNanos(absl::Now()),
      [&](const events::v1::Event& e) {
        if (e.action() == "create" || e.action() == "start") return true;
        std::string line = e.action() + " " + (e.id().empty() ? "-" : e.id().substr(0, 12));
        for (const char* key : {"height", "width", "execID", "reclaimed", "exitCode", "l"}) {
          auto it = e.attributes().find(key);
          if (it != e.attributes().end()) line += std::string(" ") + key + "=" + it->second;
        }
        seen.push_back(line);
        return true;
      },
      [] { return false; });
  const std::string short_id = id.substr(0, 12);
  CHECK(seen == std::vector<std::string>{
                    "resize " + short_id + " height=30 width=100 l=v",
                    "archive-path " + short_id + " l=v",
                    "exec_detach " + short_id + " execID=e1 l=v",
                    "prune - reclaimed=0",
                    "oom " + short_id + " l=v",
                    "die " + short_id + " exitCode=137 l=v",
                });
}

TEST_CASE("rename: Moby's refusals, the store keeps the new name, a rename event", "[manager]") {
  Fixture f;
  const std::string a = f.Create(R"({"Cmd":["sh"]})", "{}", "alpha");
  const std::string b = f.Create(R"({"Cmd":["sh"]})", "{}", "beta");
  auto message = [&](const std::string& ref, const std::string& name) {
    absl::Status status = f.manager->Rename(ref, name);
    return status.ok() ? std::string("ok") : std::string(status.message());
  };
  CHECK(message("alpha", "") == "Neither old nor new names may be empty");
  CHECK(message("alpha", "/alpha") ==
        "Renaming a container with the same name as its current name");
  CHECK(message("alpha", "a b") ==
        "Invalid container name (a b), only [a-zA-Z0-9][a-zA-Z0-9_.-] are allowed");
  CHECK(absl::IsAlreadyExists(f.manager->Rename("alpha", "beta")));
  CHECK(message("alpha", "beta") ==
        "Conflict. The container name \"/beta\" is already in use by container \"" + b +
            "\". You have to remove (or rename) that container to be able to reuse that name.");
  CHECK(absl::IsNotFound(f.manager->Rename("nosuch", "x1")));
  REQUIRE(f.manager->Rename("alpha", "/gamma").ok());
  CHECK(f.manager->Get("gamma")->id() == a);
  CHECK_FALSE(f.manager->Get("alpha").ok());
  // The old name is free again.
  REQUIRE(f.manager->Rename(b, "alpha").ok());
  std::string old_name;
  f.events.Watch(
      1, absl::ToUnixNanos(absl::Now()),
      [&](const events::v1::Event& e) {
        if (e.action() == "rename" && e.id() == a) {
          old_name = e.attributes().at("oldName") + " " + e.attributes().at("name");
        }
        return true;
      },
      [] { return false; });
  CHECK(old_name == "/alpha gamma");
  // Across a restart of runtimed: the store has the new names.
  f.Reopen();
  CHECK(f.manager->Get("gamma")->id() == a);
  CHECK(f.manager->Get("alpha")->id() == b);
}

TEST_CASE("rename of a running container renames its sandbox; netd refusing keeps the old name",
          "[manager]") {
  Fixture f;
  const std::string id = f.Create(R"({"Cmd":["sh"]})", "{}", "web");
  // Stopped: nothing to tell netd.
  REQUIRE(f.manager->Rename("web", "web1").ok());
  CHECK(f.network.renames.empty());
  REQUIRE(f.manager->Start(id).ok());
  REQUIRE(f.manager->Rename("web1", "web2").ok());
  CHECK(f.network.renames == std::vector<std::string>{"web2"});
  CHECK(f.manager->Get(id)->network_settings_json() == R"({"DNSName":"web2"})");

  f.network.fail_rename = absl::UnavailableError("netd is down");
  absl::Status refused = f.manager->Rename("web2", "web3");
  CHECK(absl::IsUnavailable(refused));
  CHECK(f.manager->Get("web2")->id() == id);
  CHECK_FALSE(f.manager->Get("web3").ok());
  CHECK(f.manager->Get(id)->network_settings_json() == R"({"DNSName":"web2"})");
  f.Reopen();
  CHECK(f.manager->Get("web2")->id() == id);
}

TEST_CASE("restart policies and back-off follow Docker", "[restart]") {
  Json host = Json::parse(R"({"RestartPolicy":{"Name":"on-failure","MaximumRetryCount":3}})");
  RestartPolicy policy = ParseRestartPolicy(host);
  CHECK(policy.name == "on-failure");
  CHECK(policy.max_retries == 3);
  CHECK(ShouldRestart(policy, 1, false, 2));
  CHECK_FALSE(ShouldRestart(policy, 1, false, 3));
  CHECK_FALSE(ShouldRestart(policy, 0, false, 0));
  CHECK_FALSE(ShouldRestart(policy, 1, true, 0));
  CHECK(ParseRestartPolicy(Json::parse("{}")).name == "no");
  CHECK_FALSE(ShouldRestart(ParseRestartPolicy(Json::parse("{}")), 1, false, 0));
  RestartPolicy always{"always", 0};
  CHECK(ShouldRestart(always, 0, false, 100));
  CHECK_FALSE(ShouldRestart(always, 0, true, 0));
  CHECK(RestartAtStartup(always, true));
  CHECK(RestartAtStartup({"unless-stopped", 0}, false));
  CHECK_FALSE(RestartAtStartup({"unless-stopped", 0}, true));
  CHECK_FALSE(RestartAtStartup(policy, false));

  using std::chrono::milliseconds;
  CHECK(NextRestartDelay(0ms, 0ms, 100ms, 10000ms) == 100ms);
  CHECK(NextRestartDelay(100ms, 50ms, 100ms, 10000ms) == 200ms);
  CHECK(NextRestartDelay(400ms, 9999ms, 100ms, 10000ms) == 800ms);
  CHECK(NextRestartDelay(800ms, 10000ms, 100ms, 10000ms) == 100ms);
  CHECK(NextRestartDelay(milliseconds(40000), 0ms, 100ms, 10000ms) == milliseconds(60000));
}

TEST_CASE("ps output keeps the container's rows", "[top]") {
  const std::string output =
      "UID          PID    PPID  C STIME TTY          TIME CMD\n"
      "root           1       0  0 08:00 ?        00:00:01 /sbin/init splash\n"
      "root        4242       1  0 08:01 ?        00:00:00 sleep 100\n";
  auto top = ParsePsOutput(output, {"4242"});
  REQUIRE(top.ok());
  CHECK(top->titles_size() == 8);
  REQUIRE(top->processes_size() == 1);
  CHECK(top->processes(0).fields_size() == 8);
  CHECK(top->processes(0).fields(7) == "sleep 100");
  CHECK(ParsePsOutput("USER COMMAND\nroot x\n", {"1"}).status().message() ==
        "Couldn't find PID field in ps output");
}

}  // namespace
}  // namespace berth::runtimed
