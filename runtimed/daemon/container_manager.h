// The container lifecycle: create, start, exit, stop, kill, remove, wait,
// attach, logs, and reconnecting to live shims after runtimed restarts.
//
// Files (see docs/layout.md):
//   <state_dir>/runtimed.db                      the container records (store.h)
//   <state_dir>/containers/<id>/                 <id>-json.log, hostname, hosts, resolv.conf
//   <run_dir>/<id>/                              OCI bundle: config.json, bootstrap.pb, exit.pb
//   <run_dir>/s/<first 16 of id>.sock            the shim's socket
//
// Concurrency: mu_ guards every container's record and the maps; each
// container's `op` mutex serialises the operations that change what runs
// (start, exit handling, remove), which call stored / netd / the shim without
// holding mu_. Stop and kill only signal and then wait for the exit.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "absl/status/statusor.h"
#include "common/event_journal.h"
#include "common/json.h"
#include "common/userns_remap.h"
#include "proto/runtime/v1/runtime.pb.h"
#include "runtimed/daemon/attachment.h"
#include "runtimed/daemon/health.h"
#include "runtimed/daemon/interfaces.h"
#include "runtimed/daemon/log_config.h"
#include "runtimed/daemon/log_reader.h"
#include "runtimed/daemon/store.h"

namespace berth::runtimed {

struct ManagerOptions {
  // <root>/runtimed and <exec_root>/runtimed.
  std::string state_dir;
  std::string run_dir;
  std::string shim_binary;
  std::string cgroup_parent = "berth";
  // The static init for `docker run --init` ("" when none is installed).
  std::string init_path;
  // Where container events go (docker events); none when null.
  EventJournal* events = nullptr;
  // The host has only cgroup v2 (containers get a cgroup namespace).
  bool cgroup_v2 = false;
  // daemon.json's native.cgroupdriver=systemd (cgroup_parent is then a slice).
  bool systemd_cgroup = false;
  // The host's files that containers get copies of.
  std::string host_hosts = "/etc/hosts";
  std::string host_resolv_conf = "/etc/resolv.conf";
  // After the stop signal and the timeout, how long SIGKILL may take.
  int kill_grace_seconds = 30;
  // Where the cgroup hierarchies are mounted (tests use a plain directory).
  std::string cgroup_root = "/sys/fs/cgroup";
  // Restart back-off: the first delay, doubled at each restart and reset once
  // the container ran for reset_after.
  std::chrono::milliseconds restart_delay{100};
  std::chrono::milliseconds restart_reset_after{10000};
  // daemon.json's log-driver and log-opts.
  LogDefaults log_defaults;
  // daemon.json's userns-remap: containers get a user namespace with these
  // maps unless they ask for --userns=host.
  std::optional<UsernsRemap> userns_remap;
};

class ContainerManager : public HealthSink {
 public:
  // Opens <state_dir>/runtimed.db and recovers: reconnects to live shims,
  // records the exits of containers whose shim died, and finishes interrupted
  // creations and removals. Calls to stored / netd for the clean-up happen in
  // the background, so this returns without needing them.
  static absl::StatusOr<std::unique_ptr<ContainerManager>> Open(ManagerOptions options,
                                                                Storage* storage, Network* network,
                                                                ShimLauncher* launcher);
  ~ContainerManager();

  absl::StatusOr<runtime::v1::CreateContainerResponse> Create(
      const runtime::v1::CreateContainerRequest& request);
  // True when the container was already running (Docker answers 304).
  absl::StatusOr<bool> Start(const std::string& ref);
  // True when the container was not running.
  absl::StatusOr<bool> Stop(const std::string& ref, std::optional<int> timeout_seconds,
                            const std::string& signal);
  absl::Status Restart(const std::string& ref, std::optional<int> timeout_seconds,
                       const std::string& signal);
  absl::Status Kill(const std::string& ref, const std::string& signal);
  // remove_volumes (docker rm -v): also remove the anonymous volumes nobody
  // else uses.
  absl::Status Remove(const std::string& ref, bool force, bool remove_volumes = false);
  absl::StatusOr<runtime::v1::Container> Get(const std::string& ref);
  std::vector<runtime::v1::Container> List(bool all);
  absl::Status ResizeTty(const std::string& ref, uint32_t height, uint32_t width);
  // docker rename, with Moby's refusals; publishes `rename` (oldName).
  absl::Status Rename(const std::string& ref, const std::string& new_name);
  // Freezes / thaws the container's cgroup.
  absl::Status Pause(const std::string& ref);
  // docker update: merges the new limits and restart policy into HostConfig,
  // applies the limits to a running container's cgroup; returns warnings.
  absl::StatusOr<std::vector<std::string>> Update(const std::string& ref,
                                                  const std::string& update_json);
  absl::Status Unpause(const std::string& ref);
  // docker network connect / disconnect (network: its canonical name): through
  // netd when running, and recorded in NetworkingConfig for the next start.
  absl::Status ConnectNetwork(const std::string& ref, const std::string& network,
                              const std::string& endpoint_config_json);
  absl::Status DisconnectNetwork(const std::string& ref, const std::string& network);
  // Runs the host's `ps <ps_args>` and keeps the container's processes.
  absl::StatusOr<runtime::v1::TopContainerResponse> Top(const std::string& ref,
                                                        const std::string& ps_args);

  // condition: "not-running" (or ""), "next-exit", "removed". on_registered
  // runs once the waiter is in place; cancelled is polled.
  absl::StatusOr<runtime::v1::WaitResult> Wait(const std::string& ref, const std::string& condition,
                                               const std::function<void()>& on_registered,
                                               const std::function<bool()>& cancelled);

  // Registers an attachment: connected now when the container runs, else at
  // its next start.
  absl::StatusOr<std::shared_ptr<Attachment>> Attach(const std::string& ref, AttachStreams streams);

  // The container's json-file log.
  absl::Status Logs(const std::string& ref, LogReadOptions options,
                    const std::function<bool(const LogRecord&)>& emit,
                    const std::function<bool()>& cancelled);
  // Where the log is, for Attach's logs=1 replay.
  absl::StatusOr<std::string> LogPath(const std::string& ref, LogFormat* format = nullptr);

  // A container event for something that happened outside this manager
  // (exec; the apiserver's docker cp, export, commit...), with the
  // container's attributes. ref "" publishes an event of no container.
  // Defined in container_events.cc.
  absl::Status PublishEventFor(const std::string& ref, const std::string& action,
                               std::map<std::string, std::string> attributes);
  // RecordContainerEvent: only IsReportableContainerAction's actions.
  absl::Status RecordReportedEvent(const std::string& ref, const std::string& action,
                                   std::map<std::string, std::string> attributes);

  // Blocks until the background clean-up queued so far has run (tests).
  void DrainBackgroundWork();

  // Healthchecks of running containers go through `monitor` from now on
  // (it probes through exec, which needs this manager, hence set late);
  // those of containers already running start here.
  void SetHealthMonitor(HealthMonitor* monitor);
  void HealthChanged(const std::string& container_id, const runtime::v1::Health& health,
                     bool status_changed) override;

 private:
  struct Entry;
  // A container event for docker events, with Docker's attributes (image,
  // name, the container's labels) and `extra`.
  void PublishEvent(const runtime::v1::Container& c, const std::string& action,
                    std::map<std::string, std::string> extra = {});
  // Starts the container's healthcheck, if it has one. Never under mu_.
  void StartHealthcheck(const std::shared_ptr<Entry>& entry);
  std::atomic<HealthMonitor*> health_{nullptr};
  using Container = runtime::v1::Container;

  ContainerManager(ManagerOptions options, Storage* storage, Network* network,
                   ShimLauncher* launcher, std::unique_ptr<ContainerStore> store);
  absl::Status Recover();

  absl::StatusOr<std::shared_ptr<Entry>> Find(const std::string& ref);
  std::shared_ptr<Entry> FindLocked(const std::string& ref, absl::Status* error);
  absl::Status Persist(const Entry& entry, Durability durability = Durability::kSynced);

  absl::Status DoStart(const std::shared_ptr<Entry>& entry, bool* shim_error);
  // For HostConfig.PidMode / IpcMode "container:<ref>": the namespace file of
  // that running container's init ("" for any other mode). `kind` is "pid"
  // or "ipc".
  absl::StatusOr<std::string> JoinedNamespace(const Json& host, const std::string& kind);
  // --ipc shareable: a tmpfs in the bundle, mounted in runtimed's namespace so
  // that containers joining the IPC namespace can bind it too.
  std::string SharedShmPath(const std::string& id) const;
  const UsernsRemap* RemapOrNull() const {
    return options_.userns_remap ? &*options_.userns_remap : nullptr;
  }
  absl::Status MountSharedShm(const std::string& id, const Json& host);
  void UnmountSharedShm(const std::string& id);
  void RecordStartFailure(const std::shared_ptr<Entry>& entry, const absl::Status& status,
                          bool shim_error);
  void StartMonitor(const std::shared_ptr<Entry>& entry, std::shared_ptr<ShimHandle> shim);
  void Monitor(std::shared_ptr<Entry> entry, std::shared_ptr<ShimHandle> shim);
  // Records the exit and wakes waiters; returns the shim to shut down.
  std::shared_ptr<ShimHandle> RecordExit(const std::shared_ptr<Entry>& entry,
                                         const shim::v1::ExitStatus& exit, const std::string& error,
                                         bool* auto_remove);
  void AutoRemove(const std::shared_ptr<Entry>& entry);
  void HandleExit(const std::shared_ptr<Entry>& entry, const shim::v1::ExitStatus& exit,
                  const std::string& error);
  // Unmounts, removes the sandbox and bundle of a container that has stopped.
  void ReleaseRuntimeResources(const std::string& id);
  absl::Status RemoveEntry(const std::shared_ptr<Entry>& entry, bool remove_volumes);
  // Drops the container's uses of volumes (see Storage::ReleaseVolume).
  absl::Status ReleaseVolumes(const runtime::v1::Container& c, bool remove_anonymous);
  // Waits until entry->exits moves past `seen`; false on timeout.
  bool WaitForExit(const std::shared_ptr<Entry>& entry, uint64_t seen, int timeout_seconds);

  void RunInBackground(std::function<void()> task);

  // The freezer file of the container's cgroup and the value that freezes it.
  // <cgroup parent>/<id>, relative to the hierarchies' roots.
  std::string CgroupsPath(const Container& c) const;
  std::string FreezerFile(const Container& c, bool* v2) const;
  absl::Status SetFrozen(const Container& c, bool frozen);
  bool IsFrozen(const Container& c) const;
  // Applies the restart policy after an exit (or at startup, at_startup).
  void MaybeRestart(const std::shared_ptr<Entry>& entry, bool at_startup);
  void RestartLater(std::shared_ptr<Entry> entry, uint64_t generation,
                    std::chrono::milliseconds delay);
  // A user's start, stop or remove: a pending policy restart will not happen
  // and the container is exited again. Under mu_.
  void CancelRestartLocked(Entry& entry);

  std::string ContainerDir(const std::string& id) const;
  std::string BundleDir(const std::string& id) const;
  std::string SocketPath(const std::string& id) const;

  const ManagerOptions options_;
  Storage* const storage_;
  Network* const network_;
  ShimLauncher* const launcher_;
  const std::unique_ptr<ContainerStore> store_;

  std::mutex mu_;
  std::condition_variable cv_;
  std::map<std::string, std::shared_ptr<Entry>> containers_;
  int active_monitors_ = 0;
  bool shutting_down_ = false;

  // One worker for clean-up that may wait on other daemons.
  std::mutex work_mu_;
  std::condition_variable work_cv_;
  std::vector<std::function<void()>> work_;
  bool work_busy_ = false;
  bool work_stop_ = false;
  std::thread worker_;
};

}  // namespace berth::runtimed
