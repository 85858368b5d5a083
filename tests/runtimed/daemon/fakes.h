// In-process stand-ins for stored, netd and the shims, for the container
// manager's tests. A fake shim's container "runs" until the test (or a
// signal) makes it exit; fake shims outlive the manager, like real ones.
#pragma once

#include <signal.h>

#include <condition_variable>
#include <deque>
#include <functional>
#include <map>
#include <mutex>
#include <set>
#include <vector>

#include "common/fs.h"
#include "common/status.h"
#include "runtimed/daemon/container_manager.h"
#include "runtimed/daemon/interfaces.h"

namespace berth::runtimed::testing {

class FakeStorage : public Storage {
 public:
  explicit FakeStorage(std::string base) : base_(std::move(base)) {}
  absl::Status PrepareRootfs(const std::string& id, const std::string& parent) override {
    std::lock_guard<std::mutex> lock(mu);
    if (!fail_prepare.ok()) return fail_prepare;
    prepared.insert(id);
    parents[id] = parent;
    return absl::OkStatus();
  }
  absl::StatusOr<std::string> MountRootfs(const std::string& id) override {
    if (on_mount) on_mount(id);
    std::lock_guard<std::mutex> lock(mu);
    if (!fail_mount.ok()) return fail_mount;
    if (!prepared.count(id)) return absl::NotFoundError("no rootfs for " + id);
    const std::string path = base_ + "/" + id.substr(0, 8);
    RETURN_IF_ERROR(MakeDirs(path + "/etc"));
    RETURN_IF_ERROR(WriteFileAtomic(path + "/etc/passwd",
                                    "root:x:0:0:root:/root:/bin/sh\n"
                                    "app:x:1000:1000::/home/app:/bin/sh\n"));
    RETURN_IF_ERROR(WriteFileAtomic(path + "/etc/group", "root:x:0:\nstaff:x:50:app\n"));
    mounted.insert(id);
    return path;
  }
  absl::Status UnmountRootfs(const std::string& id) override {
    std::lock_guard<std::mutex> lock(mu);
    mounted.erase(id);
    ++unmounts;
    return absl::OkStatus();
  }
  absl::Status RemoveRootfs(const std::string& id) override {
    std::lock_guard<std::mutex> lock(mu);
    if (mounted.count(id)) return absl::FailedPreconditionError("rootfs is mounted");
    prepared.erase(id);
    return absl::OkStatus();
  }

  absl::Status AcquireVolume(const std::string& name, const std::string& id,
                             bool anonymous) override {
    std::lock_guard<std::mutex> lock(mu);
    if (!volumes.count(name)) anonymous_volumes[name] = anonymous;
    volumes[name].insert(id);
    return absl::OkStatus();
  }
  absl::StatusOr<std::string> MountVolume(const std::string& name, const std::string& id,
                                          const std::string& path, bool copy) override {
    std::lock_guard<std::mutex> lock(mu);
    if (!volumes[name].count(id)) return absl::FailedPreconditionError("not acquired");
    if (!mounted.count(id)) return absl::FailedPreconditionError("rootfs not mounted");
    volume_mounts.push_back(name + ":" + path + (copy ? ":copy" : ""));
    return "/volumes/" + name + "/_data";
  }
  absl::Status ReleaseVolume(const std::string& name, const std::string& id,
                             bool remove_anonymous) override {
    std::lock_guard<std::mutex> lock(mu);
    if (!volumes.count(name)) return absl::NotFoundError("no such volume");
    volumes[name].erase(id);
    if (remove_anonymous && anonymous_volumes[name] && volumes[name].empty()) {
      volumes.erase(name);
      anonymous_volumes.erase(name);
    }
    return absl::OkStatus();
  }

  std::mutex mu;
  // Volume name -> IDs of the containers using it.
  std::map<std::string, std::set<std::string>> volumes;
  std::map<std::string, bool> anonymous_volumes;
  std::vector<std::string> volume_mounts;
  std::set<std::string> prepared, mounted;
  std::map<std::string, std::string> parents;
  absl::Status fail_prepare;
  absl::Status fail_mount;
  // Called first by MountRootfs, outside the lock.
  std::function<void(const std::string&)> on_mount;
  int unmounts = 0;

 private:
  std::string base_;
};

class FakeNetwork : public Network {
 public:
  absl::StatusOr<SandboxResult> CreateSandbox(const SandboxSpec& spec) override {
    std::lock_guard<std::mutex> lock(mu);
    if (!fail_create.ok()) return fail_create;
    const std::string& id = spec.container_id;
    // Enough of the document for the tests: host mode or not.
    const bool host = spec.host_config_json.find("\"NetworkMode\":\"host\"") != std::string::npos;
    const std::string mode = host ? "host" : "default";
    sandboxes[id] = mode;
    return SandboxResult{mode == "host" ? std::string() : "/run/netns/" + id.substr(0, 12), ""};
  }
  absl::StatusOr<std::string> ConnectNetwork(const std::string&, const std::string&,
                                             const std::string& network,
                                             const std::string&) override {
    return absl::NotFoundError("network " + network + " not found");
  }
  absl::StatusOr<std::string> DisconnectNetwork(const std::string&,
                                                const std::string& network) override {
    return absl::NotFoundError("network " + network + " not found");
  }
  absl::Status RemoveSandbox(const std::string& id) override {
    std::lock_guard<std::mutex> lock(mu);
    sandboxes.erase(id);
    return absl::OkStatus();
  }
  absl::StatusOr<std::string> RenameSandbox(const std::string& id,
                                            const std::string& name) override {
    std::lock_guard<std::mutex> lock(mu);
    if (!fail_rename.ok()) return fail_rename;
    if (sandboxes.count(id) == 0) return absl::NotFoundError("no sandbox");
    renames.push_back(name);
    return "{\"DNSName\":\"" + name + "\"}";
  }
  std::mutex mu;
  std::map<std::string, std::string> sandboxes;
  std::vector<std::string> renames;
  absl::Status fail_create;
  absl::Status fail_rename;
};

// The container behind one fake shim.
struct FakeContainer {
  std::mutex mu;
  std::condition_variable cv;
  shim::v1::Bootstrap bootstrap;
  bool alive = true;  // The shim process.
  bool started = false;
  bool exited = false;
  bool exit_recorded = false;  // exit.pb written.
  shim::v1::ExitStatus exit;
  bool ignore_sigterm = false;
  std::vector<int> signals;
  std::vector<std::pair<uint32_t, uint32_t>> resizes;
  std::deque<shim::v1::Output> output;  // Broadcast to attachments.
  int attachments = 0;
  std::string stdin_data;
  bool stdin_closed = false;
  bool shutdown = false;

  void Exit(int code) {
    std::lock_guard<std::mutex> lock(mu);
    ExitLocked(code);
  }
  void ExitLocked(int code) {
    if (exited) return;
    exited = true;
    exit_recorded = true;
    exit.set_exit_code(code);
    exit.set_exited_at(1);
    cv.notify_all();
  }
  void Write(int stream, const std::string& data) {
    std::lock_guard<std::mutex> lock(mu);
    shim::v1::Output o;
    o.set_stream(stream);
    o.set_data(data);
    output.push_back(o);
    cv.notify_all();
  }
};

class FakeStream : public ShimStream {
 public:
  explicit FakeStream(std::shared_ptr<FakeContainer> c) : c_(std::move(c)) {}
  absl::StatusOr<std::optional<shim::v1::Output>> Read() override {
    std::unique_lock<std::mutex> lock(c_->mu);
    c_->cv.wait(lock, [&] {
      return interrupted_ || next_ < c_->output.size() || c_->exited || !c_->alive;
    });
    if (interrupted_) return std::optional<shim::v1::Output>();
    if (next_ < c_->output.size()) return std::optional<shim::v1::Output>(c_->output[next_++]);
    return std::optional<shim::v1::Output>();
  }
  absl::Status WriteStdin(const std::string& data) override {
    std::lock_guard<std::mutex> lock(c_->mu);
    c_->stdin_data += data;
    return absl::OkStatus();
  }
  absl::Status CloseStdin() override {
    std::lock_guard<std::mutex> lock(c_->mu);
    c_->stdin_closed = true;
    return absl::OkStatus();
  }
  void Interrupt() override {
    std::lock_guard<std::mutex> lock(c_->mu);
    interrupted_ = true;
    c_->cv.notify_all();
  }

 private:
  std::shared_ptr<FakeContainer> c_;
  size_t next_ = 0;  // Attachments see output from when they were made.
  bool interrupted_ = false;
  friend class FakeHandle;
};

class FakeHandle : public ShimHandle {
 public:
  explicit FakeHandle(std::shared_ptr<FakeContainer> c) : c_(std::move(c)) {}
  absl::StatusOr<int64_t> Start() override {
    std::lock_guard<std::mutex> lock(c_->mu);
    if (!c_->alive) return absl::UnavailableError("shim is gone");
    c_->started = true;
    return 4242;
  }
  absl::Status Kill(int signal, bool all) override {
    std::lock_guard<std::mutex> lock(c_->mu);
    if (!c_->alive) return absl::UnavailableError("shim is gone");
    c_->signals.push_back(signal);
    if (signal == SIGKILL || (signal == SIGTERM && !c_->ignore_sigterm)) {
      c_->ExitLocked(128 + signal);
    }
    return absl::OkStatus();
  }
  absl::Status Resize(uint32_t h, uint32_t w) override {
    std::lock_guard<std::mutex> lock(c_->mu);
    c_->resizes.emplace_back(h, w);
    return absl::OkStatus();
  }
  absl::StatusOr<ShimState> State() override {
    std::lock_guard<std::mutex> lock(c_->mu);
    if (!c_->alive) return absl::UnavailableError("shim is gone");
    return ShimState{4242, c_->exited ? "stopped" : c_->started ? "running" : "created"};
  }
  absl::StatusOr<shim::v1::ExitStatus> Wait() override {
    std::unique_lock<std::mutex> lock(c_->mu);
    c_->cv.wait(lock, [&] { return c_->exited || !c_->alive || cancelled_; });
    if (cancelled_) return absl::CancelledError("cancelled");
    if (!c_->alive) return absl::UnavailableError("shim is gone");
    return c_->exit;
  }
  void CancelWait() override {
    std::lock_guard<std::mutex> lock(c_->mu);
    cancelled_ = true;
    c_->cv.notify_all();
  }
  absl::Status Shutdown() override {
    std::lock_guard<std::mutex> lock(c_->mu);
    c_->shutdown = true;
    return absl::OkStatus();
  }
  absl::StatusOr<std::unique_ptr<ShimStream>> Attach(bool, bool, bool) override {
    std::lock_guard<std::mutex> lock(c_->mu);
    if (!c_->alive) return absl::UnavailableError("shim is gone");
    auto stream = std::make_unique<FakeStream>(c_);
    stream->next_ = c_->output.size();
    ++c_->attachments;
    return std::unique_ptr<ShimStream>(std::move(stream));
  }

 private:
  std::shared_ptr<FakeContainer> c_;
  bool cancelled_ = false;
};

class FakeLauncher : public ShimLauncher {
 public:
  absl::Status Launch(const std::string& binary, const shim::v1::Bootstrap& bootstrap) override {
    std::lock_guard<std::mutex> lock(mu);
    if (!fail_launch.ok()) return fail_launch;
    auto c = std::make_shared<FakeContainer>();
    c->bootstrap = bootstrap;
    shims[bootstrap.socket_path()] = c;
    by_id[bootstrap.container_id()] = c;
    shim_binary = binary;
    return absl::OkStatus();
  }
  std::unique_ptr<ShimHandle> Connect(const std::string& socket) override {
    std::lock_guard<std::mutex> lock(mu);
    auto it = shims.find(socket);
    if (it == shims.end()) {
      auto dead = std::make_shared<FakeContainer>();
      dead->alive = false;
      return std::make_unique<FakeHandle>(dead);
    }
    return std::make_unique<FakeHandle>(it->second);
  }
  absl::StatusOr<shim::v1::ExitStatus> ReadExitFile(const std::string& path) override {
    std::lock_guard<std::mutex> lock(mu);
    for (auto& [socket, c] : shims) {
      std::lock_guard<std::mutex> c_lock(c->mu);
      if (c->bootstrap.exit_path() == path && c->exit_recorded) return c->exit;
    }
    return absl::NotFoundError("no exit recorded");
  }
  std::shared_ptr<FakeContainer> Get(const std::string& id) {
    std::lock_guard<std::mutex> lock(mu);
    return by_id.count(id) ? by_id[id] : nullptr;
  }

  std::mutex mu;
  std::map<std::string, std::shared_ptr<FakeContainer>> shims, by_id;
  absl::Status fail_launch;
  std::string shim_binary;
};

// A manager's options with every path under `root` (a test's temporary dir).
inline ManagerOptions TestManagerOptions(const std::string& root) {
  ManagerOptions options;
  options.state_dir = root + "/state";
  options.run_dir = root + "/run";
  options.shim_binary = "/opt/berth-shim";
  options.cgroup_parent = "berth-test";
  options.host_resolv_conf = root + "/resolv.conf";
  options.kill_grace_seconds = 5;
  options.cgroup_root = root + "/cgroup";
  return options;
}

}  // namespace berth::runtimed::testing
