#include "runtimed/daemon/container_manager.h"

#include <signal.h>
#include <sys/mount.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstring>
#include <future>
#include <optional>
#include <set>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/time/clock.h"
#include "common/fs.h"
#include "common/ids.h"
#include "common/log.h"
#include "common/mount_points.h"
#include "common/replace_file.h"
#include "common/status.h"
#include "runtimed/daemon/cgroup_driver.h"
#include "runtimed/daemon/container_config.h"
#include "runtimed/daemon/host_checks.h"
#include "runtimed/daemon/names.h"
#include "runtimed/daemon/namespace_modes.h"
#include "runtimed/daemon/network_files.h"
#include "runtimed/daemon/phase_clock.h"
#include "runtimed/daemon/restart_policy.h"
#include "runtimed/daemon/rootfs.h"
#include "runtimed/daemon/signals.h"
#include "runtimed/daemon/spec_builder.h"
#include "runtimed/daemon/top.h"
#include "runtimed/daemon/user.h"
#include "runtimed/daemon/userns_remap.h"
#include "runtimed/daemon/volumes_from.h"
#include "runtimed/runtime/cgroups.h"
#include "runtimed/runtime/spec.h"

namespace berth::runtimed {

using runtime::v1::Container;

struct ContainerManager::Entry {
  Container c;  // Guarded by mu_, as are all fields but `op`.
  Phase phase = Phase::kReady;
  std::mutex op;
  // Counts exits (and failed starts), so waiters see "the next one".
  uint64_t exits = 0;
  bool removing = false;
  bool removed = false;
  // The shim of the running container.
  std::shared_ptr<ShimHandle> shim;
  // Attachments waiting for the next start.
  std::vector<std::shared_ptr<Attachment>> pending;
  // Bumped by every user action that cancels a pending policy restart.
  uint64_t restart_generation = 0;
  std::chrono::milliseconds restart_delay{0};

  // A paused container still runs: stop, kill and rm -f handle it.
  bool running() const { return c.state().status() == "running" || c.state().status() == "paused"; }
  bool paused() const { return c.state().status() == "paused"; }
  // Between an exit and the start its restart policy asked for. Docker
  // counts it as running (docker ps lists it, rm wants -f, wait blocks).
  bool restarting() const { return c.state().status() == "restarting"; }
};

namespace {

LogFormat LogFormatOfContainer(const runtime::v1::Container& c) {
  auto host = ParseJson(c.host_config_json());
  if (!host.ok() || !host->is_object() || !host->contains("LogConfig")) {
    return LogFormat::kJsonFile;
  }
  return LogFormatOf(JsonString((*host)["LogConfig"], "Type"));
}

constexpr char kRunning[] = "running";
constexpr char kCreated[] = "created";
constexpr char kExited[] = "exited";
constexpr char kPaused[] = "paused";
constexpr char kRestarting[] = "restarting";

int64_t NowNanos() { return absl::ToUnixNanos(absl::Now()); }

std::string Dump(const Json& json) {
  return json.dump(-1, ' ', false, Json::error_handler_t::replace);
}

absl::StatusOr<Json> ParseDocument(const std::string& text, const char* what) {
  if (text.empty()) return Json();
  auto json = ParseJson(text);
  if (!json.ok())
    return absl::InvalidArgumentError(
        absl::StrCat("invalid ", what, ": ", json.status().message()));
  return json;
}

// The Docker exit code of a start failure, as moby's translateContainerdStartErr.
int StartFailureExitCode(const absl::Status& status, bool shim_error) {
  if (!shim_error) return 128;
  const std::string message(status.message());
  if (status.code() == absl::StatusCode::kNotFound ||
      absl::StrContains(message, "executable file not found") ||
      absl::StrContains(message, "no such file or directory")) {
    return 127;
  }
  if (status.code() == absl::StatusCode::kPermissionDenied ||
      absl::StrContains(message, "permission denied")) {
    return 126;
  }
  return 128;
}

}  // namespace

// ---------------------------------------------------------------------------
// Construction and recovery

ContainerManager::ContainerManager(ManagerOptions options, Storage* storage, Network* network,
                                   ShimLauncher* launcher, std::unique_ptr<ContainerStore> store)
    : options_(std::move(options)),
      storage_(storage),
      network_(network),
      launcher_(launcher),
      store_(std::move(store)) {
  worker_ = std::thread([this] {
    std::unique_lock<std::mutex> lock(work_mu_);
    for (;;) {
      work_cv_.wait(lock, [&] { return work_stop_ || !work_.empty(); });
      if (work_.empty()) return;
      auto task = std::move(work_.front());
      work_.erase(work_.begin());
      work_busy_ = true;
      lock.unlock();
      task();
      lock.lock();
      work_busy_ = false;
      work_cv_.notify_all();
    }
  });
}

absl::StatusOr<std::unique_ptr<ContainerManager>> ContainerManager::Open(ManagerOptions options,
                                                                         Storage* storage,
                                                                         Network* network,
                                                                         ShimLauncher* launcher) {
  RETURN_IF_ERROR(MakeDirs(options.state_dir + "/containers", 0710));
  RETURN_IF_ERROR(MakeDirs(options.run_dir + "/s", 0700));
  ASSIGN_OR_RETURN(std::unique_ptr<ContainerStore> store,
                   ContainerStore::Open(options.state_dir + "/runtimed.db"));
  std::unique_ptr<ContainerManager> manager(
      new ContainerManager(std::move(options), storage, network, launcher, std::move(store)));
  RETURN_IF_ERROR(manager->Recover());
  return manager;
}

ContainerManager::~ContainerManager() {
  std::vector<std::shared_ptr<ShimHandle>> shims;
  {
    std::lock_guard<std::mutex> lock(mu_);
    shutting_down_ = true;
    cv_.notify_all();
    for (auto& [id, entry] : containers_) {
      if (entry->shim) shims.push_back(entry->shim);
    }
  }
  for (auto& shim : shims) shim->CancelWait();
  {
    std::unique_lock<std::mutex> lock(mu_);
    cv_.wait(lock, [&] { return active_monitors_ == 0; });
  }
  {
    std::lock_guard<std::mutex> lock(work_mu_);
    work_stop_ = true;
    work_cv_.notify_all();
  }
  worker_.join();
}

void ContainerManager::RunInBackground(std::function<void()> task) {
  std::lock_guard<std::mutex> lock(work_mu_);
  work_.push_back(std::move(task));
  work_cv_.notify_all();
}

void ContainerManager::DrainBackgroundWork() {
  std::unique_lock<std::mutex> lock(work_mu_);
  work_cv_.wait(lock, [&] { return work_.empty() && !work_busy_; });
}

absl::Status ContainerManager::Recover() {
  ASSIGN_OR_RETURN(std::vector<StoredContainer> rows, store_->LoadAll());
  for (StoredContainer& row : rows) {
    const std::string id = row.container.id();
    if (row.phase == Phase::kCreating) {
      // Create never finished: nothing of it may stay.
      spdlog::info("cleaning up interrupted creation of container {}", id);
      RunInBackground([this, id, container = row.container] {
        if (absl::Status s = ReleaseVolumes(container, /*remove_anonymous=*/true); !s.ok()) {
          spdlog::warn("container {}: release volumes: {}", id, s.ToString());
          return;  // The row stays; the next start retries.
        }
        absl::Status status = storage_->RemoveRootfs(id);
        if (!status.ok() && status.code() != absl::StatusCode::kNotFound) {
          spdlog::warn("container {}: remove rootfs: {}", id, status.ToString());
          return;  // The row stays; the next start retries.
        }
        (void)RemoveAll(ContainerDir(id));
        (void)store_->Delete(id);
      });
      continue;
    }
    auto entry = std::make_shared<Entry>();
    entry->c = std::move(row.container);
    entry->phase = row.phase;
    {
      std::lock_guard<std::mutex> lock(mu_);
      containers_[id] = entry;
    }
    if (row.phase == Phase::kRemoving) {
      std::lock_guard<std::mutex> lock(mu_);
      entry->removing = true;
      // Only --rm containers are known to have asked for their anonymous
      // volumes to go; the others' stay (dangling, for prune).
      const bool remove_volumes =
          JsonBool(ParseJson(entry->c.host_config_json()).value_or(Json()), "AutoRemove");
      RunInBackground([this, entry, remove_volumes] {
        ReleaseRuntimeResources(entry->c.id());
        if (absl::Status status = RemoveEntry(entry, remove_volumes); !status.ok()) {
          spdlog::warn("container {}: finishing removal: {}", entry->c.id(), status.ToString());
        }
      });
      continue;
    }
    if (entry->running()) {
      std::shared_ptr<ShimHandle> shim = launcher_->Connect(SocketPath(id));
      if (shim->State().ok()) {
        spdlog::info("container {}: reconnected to its shim", id);
        {
          std::lock_guard<std::mutex> lock(mu_);
          entry->shim = shim;
          // The freezer, not the record, knows whether it is paused.
          entry->c.mutable_state()->set_status(IsFrozen(entry->c) ? kPaused : kRunning);
        }
        StartMonitor(entry, shim);
        continue;
      }
      // The shim is gone: the exit it recorded, or a kill we never saw.
      shim::v1::ExitStatus exit;
      std::string error;
      auto recorded = launcher_->ReadExitFile(BundleDir(id) + "/exit.pb");
      if (recorded.ok()) {
        exit = *recorded;
      } else {
        exit.set_exit_code(137);
        exit.set_exited_at(NowNanos());
        error = "shim died";
      }
      spdlog::info("container {}: its shim is gone", id);
      bool auto_remove = false;
      RecordExit(entry, exit, error, &auto_remove);
      RunInBackground([this, entry, auto_remove] {
        {
          std::lock_guard<std::mutex> op(entry->op);
          ReleaseRuntimeResources(entry->c.id());
        }
        if (auto_remove) AutoRemove(entry);
      });
      if (!auto_remove) MaybeRestart(entry, /*at_startup=*/true);
      continue;
    }
    if (entry->c.state().status() == kExited &&
        JsonBool(ParseJson(entry->c.host_config_json()).value_or(Json()), "AutoRemove")) {
      // Its removal had not begun, or its unsynced mark (RemoveEntry) was
      // lost with a power loss: --rm takes it now, as Moby does at startup.
      spdlog::info("container {}: removing the exited --rm container", id);
      RunInBackground([this, entry] {
        if (PathExists(BundleDir(entry->c.id()))) {
          std::lock_guard<std::mutex> op(entry->op);
          ReleaseRuntimeResources(entry->c.id());
        }
        AutoRemove(entry);
      });
      continue;
    }
    if (entry->c.state().status() == kExited) MaybeRestart(entry, /*at_startup=*/true);
    if (entry->restarting()) {
      // The restart was pending when runtimed went down: it still is.
      std::unique_lock<std::mutex> lock(mu_);
      entry->c.mutable_state()->set_status(kExited);
      lock.unlock();
      MaybeRestart(entry, /*at_startup=*/false);
    }
    if (PathExists(BundleDir(id))) {
      // A start was interrupted: stop whatever it got running, release what
      // it took.
      RunInBackground([this, id] {
        std::unique_ptr<ShimHandle> shim = launcher_->Connect(SocketPath(id));
        if (shim->State().ok()) {
          (void)shim->Kill(SIGKILL, true);
          (void)shim->Wait();
          (void)shim->Shutdown();
        }
        ReleaseRuntimeResources(id);
      });
    }
  }
  return absl::OkStatus();
}

// ---------------------------------------------------------------------------
// Lookup

std::string ContainerManager::ContainerDir(const std::string& id) const {
  return options_.state_dir + "/containers/" + id;
}

std::string ContainerManager::BundleDir(const std::string& id) const {
  return options_.run_dir + "/" + id;
}

std::string ContainerManager::SocketPath(const std::string& id) const {
  return options_.run_dir + "/s/" + id.substr(0, 16) + ".sock";
}

std::shared_ptr<ContainerManager::Entry> ContainerManager::FindLocked(const std::string& ref,
                                                                      absl::Status* error) {
  auto visible = [](const std::shared_ptr<Entry>& e) {
    return e->phase != Phase::kCreating && !e->removed;
  };
  if (!ref.empty()) {
    if (auto it = containers_.find(ref); it != containers_.end() && visible(it->second)) {
      return it->second;
    }
    const std::string name = ref[0] == '/' ? ref.substr(1) : ref;
    for (auto& [id, entry] : containers_) {
      if (visible(entry) && entry->c.name() == name) return entry;
    }
    std::shared_ptr<Entry> found;
    for (auto it = containers_.lower_bound(ref);
         it != containers_.end() && absl::StartsWith(it->first, ref); ++it) {
      if (!visible(it->second)) continue;
      if (found) {
        *error = absl::InvalidArgumentError("multiple IDs found with provided prefix: " + ref);
        return nullptr;
      }
      found = it->second;
    }
    if (found) return found;
  }
  *error = absl::NotFoundError("No such container: " + ref);
  return nullptr;
}

absl::StatusOr<std::shared_ptr<ContainerManager::Entry>> ContainerManager::Find(
    const std::string& ref) {
  std::lock_guard<std::mutex> lock(mu_);
  absl::Status error;
  std::shared_ptr<Entry> entry = FindLocked(ref, &error);
  if (!entry) return error;
  return entry;
}

absl::Status ContainerManager::Persist(const Entry& entry, Durability durability) {
  return store_->Put(entry.c, entry.phase, durability);
}

absl::StatusOr<Container> ContainerManager::Get(const std::string& ref) {
  std::lock_guard<std::mutex> lock(mu_);
  absl::Status error;
  std::shared_ptr<Entry> entry = FindLocked(ref, &error);
  if (!entry) return error;
  return entry->c;
}

std::vector<Container> ContainerManager::List(bool all) {
  std::lock_guard<std::mutex> lock(mu_);
  std::vector<Container> result;
  for (auto& [id, entry] : containers_) {
    if (entry->phase == Phase::kCreating || entry->removed) continue;
    if (!all && !entry->running() && !entry->restarting()) continue;
    result.push_back(entry->c);
  }
  // Newest first, as docker ps shows them.
  std::sort(result.begin(), result.end(),
            [](const Container& a, const Container& b) { return a.created() > b.created(); });
  return result;
}

// ---------------------------------------------------------------------------
// Create

absl::StatusOr<runtime::v1::CreateContainerResponse> ContainerManager::Create(
    const runtime::v1::CreateContainerRequest& request) {
  std::string name;
  if (!request.name().empty()) {
    ASSIGN_OR_RETURN(name, ValidateContainerName(request.name()));
  }
  ASSIGN_OR_RETURN(Json user_config, ParseDocument(request.config_json(), "container config"));
  ASSIGN_OR_RETURN(Json host_config, ParseDocument(request.host_config_json(), "host config"));
  ASSIGN_OR_RETURN(Json networking,
                   ParseDocument(request.networking_config_json(), "networking config"));
  ASSIGN_OR_RETURN(Json image_blob, ParseDocument(request.image().config_json(), "image config"));
  const Json image_config = image_blob.is_object() ? image_blob.value("config", Json()) : Json();

  if (!host_config.is_object()) host_config = Json::object();
  RETURN_IF_ERROR(ResolveLogConfig(options_.log_defaults, &host_config["LogConfig"]));
  RETURN_IF_ERROR(ResolveNamespaceModes(options_.cgroup_v2, &host_config));
  const std::string id = GenerateId();
  ASSIGN_OR_RETURN(CreateConfig merged,
                   MergeCreateConfig(user_config, host_config, image_config, id));
  RETURN_IF_ERROR(VerifyContainerSettings(merged.config, merged.host_config,
                                          ReadHostCpus(options_.cgroup_root)));
  RETURN_IF_ERROR(CheckRemapConflicts(merged.host_config, RemapOrNull()));

  RETURN_IF_ERROR(ExpandVolumesFrom(merged.config, merged.host_config, id,
                                    [this](const std::string& ref) { return Get(ref); }));
  ASSIGN_OR_RETURN(std::vector<MountPoint> mounts,
                   ParseMountPoints(merged.config, merged.host_config, id));
  for (const MountPoint& m : mounts) {
    if (m.type == "bind") {
      std::string engine_root = options_.state_dir.substr(0, options_.state_dir.rfind('/'));
      RETURN_IF_ERROR(CheckBindSource(m.source, engine_root));
    }
    // --mount refuses a missing bind source at create; -v creates it at start.
    if (m.type == "bind" && !m.create_source && !PathExists(m.source)) {
      return absl::InvalidArgumentError(
          "invalid mount config for type \"bind\": bind source path does not exist: " + m.source);
    }
  }

  auto entry = std::make_shared<Entry>();
  Container& c = entry->c;
  c.set_id(id);
  c.set_created(NowNanos());
  std::string image = JsonString(merged.config, "Image");
  c.set_image(image.empty() ? request.image().reference() : image);
  c.set_image_id(request.image().id());
  c.set_config_json(Dump(merged.config));
  c.set_host_config_json(Dump(merged.host_config));
  c.set_networking_config_json(networking.is_null() ? "{}" : Dump(networking));
  c.mutable_state()->set_status(kCreated);
  c.set_path(merged.path);
  for (const std::string& arg : merged.args) c.add_args(arg);
  const std::string dir = ContainerDir(id);
  c.set_log_path(LogFilePath(JsonString(merged.host_config["LogConfig"], "Type"), dir, id));
  c.set_hostname_path(dir + "/hostname");
  c.set_hosts_path(dir + "/hosts");
  c.set_resolv_conf_path(dir + "/resolv.conf");
  entry->phase = Phase::kCreating;

  {
    std::lock_guard<std::mutex> lock(mu_);
    auto taken = [&](const std::string& n) -> std::shared_ptr<Entry> {
      for (auto& [other_id, other] : containers_) {
        if (!other->removed && other->c.name() == n) return other;
      }
      return nullptr;
    };
    if (name.empty()) {
      name = GenerateContainerName([&](const std::string& n) { return taken(n) != nullptr; });
    } else if (auto other = taken(name)) {
      return absl::AlreadyExistsError(absl::StrCat(
          "Conflict. The container name \"/", name, "\" is already in use by container \"",
          other->c.id(),
          "\". You have to remove (or rename) that container to be able to reuse that name."));
    }
    c.set_name(name);
    containers_[id] = entry;
  }

  // The row goes first, marked "creating", so that a crash at any later point
  // is found and undone at startup.
  bool prepared = false;
  absl::Status status = Persist(*entry);
  if (status.ok()) status = MakeDirs(dir, 0710);
  if (status.ok()) {
    status = storage_->PrepareRootfs(id, request.image().top_chain_id());
    prepared = status.ok();
  }
  bool acquired = false;
  for (const MountPoint& m : mounts) {
    if (!status.ok()) break;
    if (m.type != "volume") continue;
    acquired = true;
    status = storage_->AcquireVolume(m.name, id, m.anonymous);
  }
  if (status.ok()) {
    std::lock_guard<std::mutex> lock(mu_);
    entry->phase = Phase::kReady;
    status = Persist(*entry);
  }
  if (!status.ok()) {
    if (acquired) {
      if (absl::Status s = ReleaseVolumes(c, /*remove_anonymous=*/true); !s.ok()) {
        spdlog::warn("container {}: undo volumes: {}", id, s.ToString());
      }
    }
    if (prepared) {
      if (absl::Status s = storage_->RemoveRootfs(id); !s.ok()) {
        spdlog::warn("container {}: undo rootfs: {}", id, s.ToString());
      }
    }
    (void)RemoveAll(dir);
    (void)store_->Delete(id);
    std::lock_guard<std::mutex> lock(mu_);
    containers_.erase(id);
    return status;
  }
  spdlog::info("created container {} ({})", id, name);
  PublishEvent(c, "create");
  runtime::v1::CreateContainerResponse response;
  response.set_id(id);
  return response;
}

// ---------------------------------------------------------------------------
// Start

absl::StatusOr<bool> ContainerManager::Start(const std::string& ref) {
  ASSIGN_OR_RETURN(std::shared_ptr<Entry> entry, Find(ref));
  std::unique_lock<std::mutex> op(entry->op);
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (entry->removed || entry->removing) {
      return absl::FailedPreconditionError("container " + entry->c.id() +
                                           " is marked for removal and cannot be started");
    }
    if (entry->running()) return true;
    CancelRestartLocked(*entry);
    entry->restart_delay = std::chrono::milliseconds(0);
    entry->c.set_restart_count(0);
  }
  bool shim_error = false;
  absl::Status status = DoStart(entry, &shim_error);
  if (status.ok()) return false;
  RecordStartFailure(entry, status, shim_error);
  bool auto_remove = false;
  {
    std::lock_guard<std::mutex> lock(mu_);
    auto_remove = JsonBool(ParseJson(entry->c.host_config_json()).value_or(Json()), "AutoRemove") &&
                  !entry->removing;
  }
  op.unlock();
  if (auto_remove) AutoRemove(entry);
  const int exit_code = StartFailureExitCode(status, shim_error);
  // The CLI derives 127 / 126 from the message, and Docker answers 400 for
  // these; other failures keep their class (e.g. Unavailable).
  if (exit_code != 128 || status.code() == absl::StatusCode::kNotFound ||
      status.code() == absl::StatusCode::kPermissionDenied) {
    return absl::InvalidArgumentError(status.message());
  }
  return status;
}

absl::StatusOr<std::string> ContainerManager::JoinedNamespace(const Json& host,
                                                              const std::string& kind) {
  const std::string mode = JsonString(host, kind == "pid" ? "PidMode" : "IpcMode");
  if (!absl::StartsWith(mode, "container:")) return std::string();
  ASSIGN_OR_RETURN(std::shared_ptr<Entry> target, Find(mode.substr(strlen("container:"))));
  std::lock_guard<std::mutex> lock(mu_);
  if (!target->running() || target->c.state().pid() <= 0) {
    return absl::FailedPreconditionError(
        absl::StrCat("cannot join ", absl::AsciiStrToUpper(kind),
                     " of a non running container: ", target->c.id()));
  }
  if (kind == "ipc" && JsonString(ParseJson(target->c.host_config_json()).value_or(Json()),
                                  "IpcMode") != "shareable") {
    return absl::InvalidArgumentError(
        "non-shareable IPC (hint: use IpcMode:shareable for the donor container)");
  }
  return absl::StrCat("/proc/", target->c.state().pid(), "/ns/", kind);
}

absl::Status ContainerManager::DoStart(const std::shared_ptr<Entry>& entry, bool* shim_error) {
  PhaseClock clock;
  Container c;
  {
    std::lock_guard<std::mutex> lock(mu_);
    c = entry->c;
  }
  const std::string& id = c.id();
  ASSIGN_OR_RETURN(Json config, ParseDocument(c.config_json(), "config"));
  ASSIGN_OR_RETURN(Json host, ParseDocument(c.host_config_json(), "host config"));
  const std::string bundle = BundleDir(id);
  const std::string socket = SocketPath(id);

  // Undo in reverse order on any failure.
  std::vector<std::function<void()>> undo;
  struct Unwinder {
    std::vector<std::function<void()>>* undo;
    bool armed = true;
    ~Unwinder() {
      if (!armed) return;
      for (auto it = undo->rbegin(); it != undo->rend(); ++it) (*it)();
    }
  } unwinder{&undo};

  // The network sandbox (netd) and the root filesystem (stored) do not
  // depend on each other: both are asked for at once, which hides the
  // network's share of docker run behind the mount.
  std::future<absl::StatusOr<SandboxResult>> sandbox_call = std::async(
      std::launch::async,
      [network = network_, spec = SandboxSpec{id, c.name(), c.config_json(), c.host_config_json(),
                                              c.networking_config_json()}] {
        return network->CreateSandbox(spec);
      });
  absl::StatusOr<std::string> mounted = storage_->MountRootfs(id);
  absl::StatusOr<SandboxResult> created = sandbox_call.get();
  if (mounted.ok()) {
    undo.push_back([this, id] {
      if (absl::Status s = storage_->UnmountRootfs(id); !s.ok()) {
        spdlog::warn("container {}: unmount rootfs: {}", id, s.ToString());
      }
    });
  }
  if (created.ok()) {
    undo.push_back([this, id] {
      if (absl::Status s = network_->RemoveSandbox(id); !s.ok()) {
        spdlog::warn("container {}: remove sandbox: {}", id, s.ToString());
      }
    });
  }
  if (!mounted.ok()) return mounted.status();
  if (!created.ok()) return created.status();
  const std::string rootfs = *std::move(mounted);
  const SandboxResult sandbox = *std::move(created);
  const std::string network_mode = JsonString(host, "NetworkMode");
  const std::string hostname = JsonString(config, "Hostname");
  const std::string& netns = sandbox.netns_path;
  clock.Mark("rootfs+sandbox");

  RETURN_IF_ERROR(MakeDirs(ContainerDir(id), 0710));
  RETURN_IF_ERROR(ReplaceFile(c.hostname_path(), hostname + "\n"));
  std::string hosts;
  if (network_mode == "host") {
    hosts = ReadFile(options_.host_hosts).value_or("127.0.0.1\tlocalhost\n");
  } else {
    hosts = HostsFile(config, host, ParseJson(sandbox.network_settings_json).value_or(Json()));
    for (const std::string& line : sandbox.link_hosts) absl::StrAppend(&hosts, line, "\n");
  }
  RETURN_IF_ERROR(ReplaceFile(c.hosts_path(), hosts));
  std::string host_resolv = ReadFile(options_.host_resolv_conf).value_or("");
  std::string resolv = network_mode == "host" ? host_resolv : ResolvConf(host, host_resolv);
  RETURN_IF_ERROR(ReplaceFile(c.resolv_conf_path(), resolv));

  ASSIGN_OR_RETURN(std::optional<std::string> passwd, ReadFileInRoot(rootfs, "/etc/passwd"));
  ASSIGN_OR_RETURN(std::optional<std::string> group, ReadFileInRoot(rootfs, "/etc/group"));
  ASSIGN_OR_RETURN(ResolvedUser user, ResolveUser(JsonString(config, "User"), passwd, group,
                                                  StringList(host.value("GroupAdd", Json()))));
  if (std::string cwd = JsonString(config, "WorkingDir"); !cwd.empty() && cwd[0] == '/') {
    RETURN_IF_ERROR(MakeDirsInRoot(rootfs, cwd));
  }

  ASSIGN_OR_RETURN(std::vector<MountPoint> mounts, ParseMountPoints(config, host, id));
  for (MountPoint& m : mounts) {
    if (m.type == "volume") {
      ASSIGN_OR_RETURN(m.source, storage_->MountVolume(m.name, id, m.destination, m.copy_data));
    } else if (m.type == "bind" && !PathExists(m.source)) {
      if (!m.create_source) {
        return absl::InvalidArgumentError(
            "invalid mount config for type \"bind\": bind source path does not exist: " + m.source);
      }
      RETURN_IF_ERROR(MakeDirs(m.source, 0755));
    }
  }

  SpecInputs inputs;
  inputs.id = id;
  inputs.mounts = std::move(mounts);
  inputs.config = config;
  inputs.host_config = host;
  inputs.args.push_back(c.path());
  for (const std::string& arg : c.args()) inputs.args.push_back(arg);
  inputs.env = ProcessEnv(config);
  inputs.user = user;
  inputs.rootfs = rootfs;
  inputs.netns_path = netns;
  inputs.hostname_path = c.hostname_path();
  inputs.hosts_path = c.hosts_path();
  inputs.resolv_conf_path = c.resolv_conf_path();
  inputs.cgroup_parent = options_.cgroup_parent;
  inputs.cgroup_v2 = options_.cgroup_v2;
  inputs.systemd_cgroup = options_.systemd_cgroup;
  inputs.init_path = options_.init_path;
  ASSIGN_OR_RETURN(inputs.pid_namespace_path, JoinedNamespace(host, "pid"));
  ASSIGN_OR_RETURN(inputs.ipc_namespace_path, JoinedNamespace(host, "ipc"));
  const std::string ipc_mode = JsonString(host, "IpcMode");
  if (ipc_mode == "shareable") {
    inputs.shared_shm_path = SharedShmPath(id);
  } else if (absl::StartsWith(ipc_mode, "container:")) {
    // JoinedNamespace checked that the donor is running and shareable.
    ASSIGN_OR_RETURN(std::shared_ptr<Entry> donor, Find(ipc_mode.substr(strlen("container:"))));
    inputs.shared_shm_path = SharedShmPath(donor->c.id());
  }
  ASSIGN_OR_RETURN(Json spec, BuildOciSpec(inputs));
  clock.Mark("files+spec");

  (void)RemoveAll(bundle);
  RETURN_IF_ERROR(MakeDirs(bundle, 0700));
  undo.push_back([bundle] { (void)RemoveAll(bundle); });
  if (ipc_mode == "shareable") {
    RETURN_IF_ERROR(MountSharedShm(id, host));
    undo.push_back([this, id] { UnmountSharedShm(id); });
  }
  if (RemapsContainer(host, RemapOrNull())) {
    AddUserNamespace(*options_.userns_remap, &spec);
    RETURN_IF_ERROR(PrepareRemappedPaths(
        ContainerRemappedPaths(options_.state_dir, options_.run_dir, rootfs,
                               {c.hostname_path(), c.hosts_path(), c.resolv_conf_path()},
                               inputs.mounts, inputs.shared_shm_path),
        *options_.userns_remap));
    if (!netns.empty()) RETURN_IF_ERROR(OpenUnprivilegedNetwork(netns));
  }
  RETURN_IF_ERROR(ReplaceFile(bundle + "/config.json", Dump(spec), 0600));
  RETURN_IF_ERROR(MakeDirs(options_.run_dir + "/s", 0700));
  unlink(socket.c_str());

  shim::v1::Bootstrap bootstrap;
  bootstrap.set_container_id(id);
  bootstrap.set_bundle(bundle);
  bootstrap.set_socket_path(socket);
  bootstrap.set_log_path(c.log_path());
  bootstrap.set_exit_path(bundle + "/exit.pb");
  bootstrap.set_tty(JsonBool(config, "Tty"));
  bootstrap.set_open_stdin(JsonBool(config, "OpenStdin"));
  bootstrap.set_stdin_once(JsonBool(config, "StdinOnce"));
  const Json& log_options = host["LogConfig"]["Config"];
  if (JsonString(host["LogConfig"], "Type") == "local") {
    bootstrap.set_log_format("local");
    // Docker's local driver always rotates: 20 MB times 5 files unless told.
    bootstrap.set_log_max_size(20 << 20);
    bootstrap.set_log_max_files(5);
    RETURN_IF_ERROR(MakeDirs(c.log_path().substr(0, c.log_path().rfind('/')), 0700));
  }
  if (std::string size = JsonString(log_options, "max-size"); !size.empty()) {
    ASSIGN_OR_RETURN(int64_t bytes, ParseByteSize(size));
    bootstrap.set_log_max_size(bytes);
  }
  if (std::string files = JsonString(log_options, "max-file"); !files.empty()) {
    int count = 0;
    if (!absl::SimpleAtoi(files, &count) || count < 1) {
      return absl::InvalidArgumentError("invalid value for max-file: " + files);
    }
    bootstrap.set_log_max_files(count);
  }
  bootstrap.set_log_compress(LogCompressed(host["LogConfig"]));

  clock.Mark("bundle");
  if (absl::Status status = launcher_->Launch(options_.shim_binary, bootstrap); !status.ok()) {
    *shim_error = true;
    return status;
  }
  clock.Mark("shim launch");
  std::shared_ptr<ShimHandle> shim = launcher_->Connect(socket);
  undo.push_back([shim] {
    (void)shim->Kill(SIGKILL, true);
    (void)shim->Shutdown();
  });

  std::vector<std::shared_ptr<Attachment>> pending;
  {
    std::lock_guard<std::mutex> lock(mu_);
    pending.swap(entry->pending);
  }
  for (auto& attachment : pending) {
    if (attachment->cancelled()) continue;
    const AttachStreams& s = attachment->streams();
    auto stream = shim->Attach(s.stdin, s.stdout, s.stderr);
    if (stream.ok()) {
      attachment->Connect(*std::move(stream));
    } else {
      spdlog::warn("container {}: attach: {}", id, stream.status().ToString());
      attachment->End();
    }
  }

  clock.Mark("attach");
  absl::StatusOr<int64_t> started = shim->Start();
  if (!started.ok()) {
    *shim_error = true;
    return started.status();
  }
  clock.Mark("container start");
  int64_t pid = *started;
  if (pid == 0) {
    if (auto state = shim->State(); state.ok()) pid = state->pid;
  }

  {
    std::lock_guard<std::mutex> lock(mu_);
    auto* state = entry->c.mutable_state();
    state->set_status(kRunning);
    state->set_pid(pid);
    state->set_exit_code(0);
    state->set_error("");
    state->set_oom_killed(false);
    state->set_started_at(NowNanos());
    state->set_finished_at(0);
    state->set_stopped_by_user(false);
    entry->c.set_rootfs_path(rootfs);
    entry->c.set_network_settings_json(sandbox.network_settings_json);
    entry->shim = shim;
    if (absl::Status status = Persist(*entry); !status.ok()) {
      // Without the record the container could not be found after a restart.
      state->set_status(c.state().status());
      entry->shim.reset();
      return status;
    }
  }
  unwinder.armed = false;
  PublishEvent(c, "start");
  StartMonitor(entry, shim);
  clock.Mark("record");
  spdlog::info("started container {} (pid {})", id, pid);
  spdlog::debug("container {} start: {}", id, clock.Summary());
  return absl::OkStatus();
}

void ContainerManager::RecordStartFailure(const std::shared_ptr<Entry>& entry,
                                          const absl::Status& status, bool shim_error) {
  std::vector<std::shared_ptr<Attachment>> pending;
  {
    std::lock_guard<std::mutex> lock(mu_);
    auto* state = entry->c.mutable_state();
    state->set_exit_code(StartFailureExitCode(status, shim_error));
    state->set_error(std::string(status.message()));
    state->set_pid(0);
    if (entry->restarting()) state->set_status(kExited);
    if (absl::Status s = Persist(*entry); !s.ok()) {
      spdlog::warn("container {}: record start failure: {}", entry->c.id(), s.ToString());
    }
    pending.swap(entry->pending);
    ++entry->exits;
    cv_.notify_all();
  }
  for (auto& attachment : pending) attachment->End();
  spdlog::info("container {} failed to start: {}", entry->c.id(), status.ToString());
}

// ---------------------------------------------------------------------------
// Exit

void ContainerManager::StartMonitor(const std::shared_ptr<Entry>& entry,
                                    std::shared_ptr<ShimHandle> shim) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    ++active_monitors_;
  }
  std::thread([this, entry, shim = std::move(shim)] { Monitor(entry, shim); }).detach();
  StartHealthcheck(entry);
}

void ContainerManager::PublishEvent(const Container& c, const std::string& action,
                                    std::map<std::string, std::string> extra) {
  if (options_.events == nullptr) return;
  std::map<std::string, std::string> attributes;
  Json config = ParseJson(c.config_json()).value_or(Json());
  if (config.contains("Labels") && config["Labels"].is_object()) {
    for (auto it = config["Labels"].begin(); it != config["Labels"].end(); ++it) {
      if (it.value().is_string()) attributes[it.key()] = it.value().get<std::string>();
    }
  }
  attributes["image"] = c.image();
  attributes["name"] = c.name();
  for (auto& [key, value] : extra) attributes[key] = std::move(value);
  options_.events->Publish("container", action, c.id(), std::move(attributes));
}

void ContainerManager::StartHealthcheck(const std::shared_ptr<Entry>& entry) {
  HealthMonitor* monitor = health_.load();
  if (monitor == nullptr) return;
  std::string id, config_json;
  int64_t started_at = 0;
  {
    std::lock_guard<std::mutex> lock(mu_);
    id = entry->c.id();
    config_json = entry->c.config_json();
    started_at = entry->c.state().started_at();
  }
  absl::StatusOr<std::optional<HealthConfig>> config =
      ParseHealthcheck(ParseJson(config_json).value_or(Json()));
  if (!config.ok()) {
    spdlog::warn("container {}: healthcheck: {}", id, config.status().ToString());
    return;
  }
  if (*config) monitor->Start(id, **config, started_at > 0 ? started_at : NowNanos());
}

void ContainerManager::SetHealthMonitor(HealthMonitor* monitor) {
  health_.store(monitor);
  std::vector<std::shared_ptr<Entry>> running;
  {
    std::lock_guard<std::mutex> lock(mu_);
    for (const auto& [id, entry] : containers_) {
      if (entry->running()) running.push_back(entry);
    }
  }
  for (const auto& entry : running) StartHealthcheck(entry);
}

void ContainerManager::HealthChanged(const std::string& container_id,
                                     const runtime::v1::Health& health, bool status_changed) {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = containers_.find(container_id);
  if (it == containers_.end() || it->second->removed) return;
  *it->second->c.mutable_state()->mutable_health() = health;
  // Every probe updates what inspect shows; only a change of status is
  // written to the database (a restarted runtimed probes anew from
  // "starting", so the probe log need not survive it), which keeps a
  // synchronous SQLite write per probe out of mu_.
  if (status_changed) {
    if (absl::Status s = Persist(*it->second); !s.ok()) {
      spdlog::warn("container {}: saving health: {}", container_id, s.ToString());
    }
  }
  if (status_changed && health.status() != "starting") {
    spdlog::info("container {}: health {}", container_id, health.status());
    PublishEvent(it->second->c, "health_status: " + health.status());
  }
}

void ContainerManager::Monitor(std::shared_ptr<Entry> entry, std::shared_ptr<ShimHandle> shim) {
  const std::string id = entry->c.id();
  shim::v1::ExitStatus exit;
  std::string error;
  for (;;) {
    auto result = shim->Wait();
    if (result.ok()) {
      exit = *result;
      break;
    }
    {
      std::lock_guard<std::mutex> lock(mu_);
      if (shutting_down_) {
        --active_monitors_;
        cv_.notify_all();
        return;
      }
    }
    if (shim->State().ok()) {
      // A broken connection to a live shim: wait again.
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
      continue;
    }
    auto recorded = launcher_->ReadExitFile(BundleDir(id) + "/exit.pb");
    if (recorded.ok()) {
      exit = *recorded;
    } else {
      exit.set_exit_code(137);
      exit.set_exited_at(NowNanos());
      error = "shim died";
    }
    break;
  }
  if (HealthMonitor* monitor = health_.load()) monitor->Stop(id);
  HandleExit(entry, exit, error);
  std::lock_guard<std::mutex> lock(mu_);
  --active_monitors_;
  cv_.notify_all();
}

std::shared_ptr<ShimHandle> ContainerManager::RecordExit(const std::shared_ptr<Entry>& entry,
                                                         const shim::v1::ExitStatus& exit,
                                                         const std::string& error,
                                                         bool* auto_remove) {
  std::shared_ptr<ShimHandle> shim;
  std::lock_guard<std::mutex> lock(mu_);
  auto* state = entry->c.mutable_state();
  state->set_status(kExited);
  state->set_exit_code(exit.exit_code());
  state->set_finished_at(exit.exited_at() != 0 ? exit.exited_at() : NowNanos());
  state->set_oom_killed(exit.oom_killed());
  state->set_pid(0);
  state->set_error(error);
  entry->c.set_rootfs_path("");
  entry->c.set_network_settings_json("");
  shim.swap(entry->shim);
  // Unsynced: after a power loss the shim is gone, which startup records as
  // a kill anyway.
  if (absl::Status s = Persist(*entry, Durability::kUnsynced); !s.ok()) {
    spdlog::error("container {}: record exit: {}", entry->c.id(), s.ToString());
  }
  ++entry->exits;
  cv_.notify_all();
  // Moby reports the kernel's OOM kill as its own event, before the die.
  if (exit.oom_killed()) PublishEvent(entry->c, "oom");
  PublishEvent(entry->c, "die", {{"exitCode", std::to_string(exit.exit_code())}});
  *auto_remove = JsonBool(ParseJson(entry->c.host_config_json()).value_or(Json()), "AutoRemove") &&
                 !entry->removing;
  spdlog::info("container {} exited with {}", entry->c.id(), exit.exit_code());
  return shim;
}

void ContainerManager::HandleExit(const std::shared_ptr<Entry>& entry,
                                  const shim::v1::ExitStatus& exit, const std::string& error) {
  bool auto_remove = false;
  {
    PhaseClock clock;
    std::lock_guard<std::mutex> op(entry->op);
    std::shared_ptr<ShimHandle> shim = RecordExit(entry, exit, error, &auto_remove);
    clock.Mark("record");
    if (shim) (void)shim->Shutdown();
    clock.Mark("shim shutdown");
    ReleaseRuntimeResources(entry->c.id());
    clock.Mark("release");
    spdlog::debug("container {} exit: {}", entry->c.id(), clock.Summary());
  }
  if (auto_remove) {
    AutoRemove(entry);
  } else {
    MaybeRestart(entry, /*at_startup=*/false);
  }
}

void ContainerManager::AutoRemove(const std::shared_ptr<Entry>& entry) {
  // --rm takes the container's anonymous volumes with it, as in Docker.
  if (absl::Status s = RemoveEntry(entry, /*remove_volumes=*/true); !s.ok()) {
    spdlog::warn("container {}: auto-remove: {}", entry->c.id(), s.ToString());
  }
}

std::string ContainerManager::SharedShmPath(const std::string& id) const {
  return BundleDir(id) + "/shm";
}

absl::Status ContainerManager::MountSharedShm(const std::string& id, const Json& host) {
  const std::string path = SharedShmPath(id);
  RETURN_IF_ERROR(MakeDirs(path, 0700));
  int64_t size = JsonInt(host, "ShmSize") > 0 ? JsonInt(host, "ShmSize") : kDefaultShmSize;
  std::string options = absl::StrCat("mode=1777,size=", size);
  if (mount("shm", path.c_str(), "tmpfs", MS_NOSUID | MS_NODEV | MS_NOEXEC, options.c_str()) != 0) {
    return LastErrnoStatus("mount the shareable /dev/shm at " + path);
  }
  return absl::OkStatus();
}

void ContainerManager::UnmountSharedShm(const std::string& id) {
  const std::string path = SharedShmPath(id);
  if (umount2(path.c_str(), MNT_DETACH) != 0 && errno != EINVAL && errno != ENOENT) {
    spdlog::warn("container {}: unmount {}: {}", id, path, std::strerror(errno));
  }
}

void ContainerManager::ReleaseRuntimeResources(const std::string& id) {
  UnmountSharedShm(id);
  // Independent of each other, as at start: both at once.
  std::future<absl::Status> sandbox_removal = std::async(
      std::launch::async, [network = network_, id] { return network->RemoveSandbox(id); });
  if (absl::Status s = storage_->UnmountRootfs(id); !s.ok()) {
    spdlog::warn("container {}: unmount rootfs: {}", id, s.ToString());
  }
  if (absl::Status s = sandbox_removal.get(); !s.ok()) {
    spdlog::warn("container {}: remove sandbox: {}", id, s.ToString());
  }
  (void)RemoveAll(BundleDir(id));
  unlink(SocketPath(id).c_str());
}

bool ContainerManager::WaitForExit(const std::shared_ptr<Entry>& entry, uint64_t seen,
                                   int timeout_seconds) {
  std::unique_lock<std::mutex> lock(mu_);
  auto exited = [&] { return entry->exits != seen || entry->removed; };
  if (timeout_seconds < 0) {
    cv_.wait(lock, exited);
    return true;
  }
  return cv_.wait_for(lock, std::chrono::seconds(timeout_seconds), exited);
}

// ---------------------------------------------------------------------------
// Restart policies

void ContainerManager::CancelRestartLocked(Entry& entry) {
  ++entry.restart_generation;
  if (!entry.restarting()) return;
  entry.c.mutable_state()->set_status(kExited);
  if (absl::Status s = Persist(entry); !s.ok()) {
    spdlog::warn("container {}: cancel restart: {}", entry.c.id(), s.ToString());
  }
}

void ContainerManager::MaybeRestart(const std::shared_ptr<Entry>& entry, bool at_startup) {
  std::lock_guard<std::mutex> lock(mu_);
  if (entry->removed || entry->removing || shutting_down_ || entry->running() ||
      entry->restarting()) {
    return;
  }
  const RestartPolicy policy =
      ParseRestartPolicy(ParseJson(entry->c.host_config_json()).value_or(Json()));
  const auto& state = entry->c.state();
  if (at_startup) {
    if (state.started_at() == 0 || !RestartAtStartup(policy, state.stopped_by_user())) return;
  } else if (!ShouldRestart(policy, state.exit_code(), state.stopped_by_user(),
                            entry->c.restart_count())) {
    return;
  }
  const auto ran_for = std::chrono::duration_cast<std::chrono::milliseconds>(
      std::chrono::nanoseconds(std::max<int64_t>(0, state.finished_at() - state.started_at())));
  entry->restart_delay = NextRestartDelay(entry->restart_delay, ran_for, options_.restart_delay,
                                          options_.restart_reset_after);
  const uint64_t generation = ++entry->restart_generation;
  const auto delay = entry->restart_delay;
  entry->c.mutable_state()->set_status(kRestarting);
  if (absl::Status s = Persist(*entry); !s.ok()) {
    spdlog::warn("container {}: record restarting: {}", entry->c.id(), s.ToString());
  }
  ++active_monitors_;
  spdlog::info("container {}: restarting in {} ms ({} policy)", entry->c.id(), delay.count(),
               policy.name);
  std::thread([this, entry, generation, delay] {
    RestartLater(entry, generation, delay);
  }).detach();
}

void ContainerManager::RestartLater(std::shared_ptr<Entry> entry, uint64_t generation,
                                    std::chrono::milliseconds delay) {
  auto done = [&] {
    std::lock_guard<std::mutex> lock(mu_);
    --active_monitors_;
    cv_.notify_all();
  };
  for (;;) {
    {
      std::unique_lock<std::mutex> lock(mu_);
      auto cancelled = [&] {
        return shutting_down_ || generation != entry->restart_generation || entry->removed ||
               entry->removing;
      };
      cv_.wait_for(lock, delay, cancelled);
      if (cancelled()) break;
    }
    std::unique_lock<std::mutex> op(entry->op);
    {
      std::lock_guard<std::mutex> lock(mu_);
      if (shutting_down_ || generation != entry->restart_generation || entry->removed ||
          entry->removing || entry->running()) {
        break;
      }
      entry->c.set_restart_count(entry->c.restart_count() + 1);
    }
    bool shim_error = false;
    absl::Status status = DoStart(entry, &shim_error);
    if (status.ok()) break;
    spdlog::warn("container {}: restart: {}", entry->c.id(), status.ToString());
    if (status.code() != absl::StatusCode::kUnavailable) {
      RecordStartFailure(entry, status, shim_error);
      break;
    }
    // stored or netd is not up yet (runtimed just started): try again.
    std::lock_guard<std::mutex> lock(mu_);
    entry->c.set_restart_count(entry->c.restart_count() - 1);
    delay = std::chrono::milliseconds(500);
  }
  done();
}

// ---------------------------------------------------------------------------
// Stop, kill, restart, resize

absl::StatusOr<bool> ContainerManager::Stop(const std::string& ref,
                                            std::optional<int> timeout_seconds,
                                            const std::string& signal) {
  ASSIGN_OR_RETURN(std::shared_ptr<Entry> entry, Find(ref));
  std::shared_ptr<ShimHandle> shim;
  uint64_t seen = 0;
  Json config;
  bool paused = false;
  {
    std::lock_guard<std::mutex> lock(mu_);
    CancelRestartLocked(*entry);
    if (!entry->running() || !entry->shim) {
      // A stop during the restart back-off keeps it stopped, across restarts.
      if (!entry->c.state().stopped_by_user() && !entry->removing) {
        entry->c.mutable_state()->set_stopped_by_user(true);
        (void)Persist(*entry);
      }
      return true;
    }
    shim = entry->shim;
    seen = entry->exits;
    config = ParseJson(entry->c.config_json()).value_or(Json());
    entry->c.mutable_state()->set_stopped_by_user(true);
    paused = entry->paused();
  }
  std::string name = signal;
  if (name.empty()) name = JsonString(config, "StopSignal");
  if (name.empty()) name = "SIGTERM";
  ASSIGN_OR_RETURN(int number, ParseSignal(name));
  int timeout = 10;
  if (timeout_seconds.has_value()) {
    timeout = *timeout_seconds;
  } else if (config.is_object() && config.contains("StopTimeout") &&
             config["StopTimeout"].is_number_integer()) {
    timeout = config["StopTimeout"].get<int>();
  }
  // Docker's order for a stop: kill (the stop signal), die, then stop.
  PublishEvent(entry->c, "kill", {{"signal", std::to_string(number)}});
  if (absl::Status s = shim->Kill(number, false); !s.ok()) {
    spdlog::warn("container {}: stop signal: {}", entry->c.id(), s.ToString());
  }
  // Signals stay pending in a frozen process: thaw after signalling, as Docker.
  if (paused) (void)SetFrozen(entry->c, false);
  if (!WaitForExit(entry, seen, timeout)) {
    spdlog::info("container {} did not stop within {}s, killing it", entry->c.id(), timeout);
    PublishEvent(entry->c, "kill", {{"signal", std::to_string(SIGKILL)}});
    if (absl::Status s = shim->Kill(SIGKILL, true); !s.ok()) {
      spdlog::warn("container {}: SIGKILL: {}", entry->c.id(), s.ToString());
    }
    if (paused) (void)SetFrozen(entry->c, false);
    if (!WaitForExit(entry, seen, options_.kill_grace_seconds)) {
      return absl::DeadlineExceededError("container " + entry->c.id() +
                                         " did not exit after SIGKILL");
    }
  }
  PublishEvent(entry->c, "stop");
  return false;
}

absl::Status ContainerManager::Restart(const std::string& ref, std::optional<int> timeout_seconds,
                                       const std::string& signal) {
  RETURN_IF_ERROR(Stop(ref, timeout_seconds, signal).status());
  RETURN_IF_ERROR(Start(ref).status());
  ASSIGN_OR_RETURN(Container c, Get(ref));
  PublishEvent(c, "restart");
  return absl::OkStatus();
}

absl::Status ContainerManager::Kill(const std::string& ref, const std::string& signal) {
  ASSIGN_OR_RETURN(std::shared_ptr<Entry> entry, Find(ref));
  ASSIGN_OR_RETURN(int number, ParseSignal(signal.empty() ? "SIGKILL" : signal));
  std::shared_ptr<ShimHandle> shim;
  bool paused = false;
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (entry->restarting()) {
      return absl::FailedPreconditionError("Container " + entry->c.id() +
                                           " is restarting, wait until the container is running");
    }
    if (!entry->running() || !entry->shim) {
      return absl::FailedPreconditionError("Container " + entry->c.id() + " is not running");
    }
    shim = entry->shim;
    entry->c.mutable_state()->set_stopped_by_user(true);
    ++entry->restart_generation;
    paused = entry->paused();
  }
  RETURN_IF_ERROR(shim->Kill(number, false));
  PublishEvent(entry->c, "kill", {{"signal", std::to_string(number)}});
  // Docker thaws a paused container after SIGKILL only; other signals wait.
  if (paused && number == SIGKILL) (void)SetFrozen(entry->c, false);
  return absl::OkStatus();
}

absl::Status ContainerManager::ResizeTty(const std::string& ref, uint32_t height, uint32_t width) {
  ASSIGN_OR_RETURN(std::shared_ptr<Entry> entry, Find(ref));
  std::shared_ptr<ShimHandle> shim;
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (!entry->running() || !entry->shim) {
      return absl::FailedPreconditionError("Container " + entry->c.id() + " is not running");
    }
    shim = entry->shim;
  }
  RETURN_IF_ERROR(shim->Resize(height, width));
  PublishEventFor(ref, "resize",
                  {{"height", std::to_string(height)}, {"width", std::to_string(width)}})
      .IgnoreError();
  return absl::OkStatus();
}

// ---------------------------------------------------------------------------
// Rename

absl::Status ContainerManager::Rename(const std::string& ref, const std::string& new_name) {
  if (new_name.empty() || new_name == "/") {
    return absl::InvalidArgumentError("Neither old nor new names may be empty");
  }
  ASSIGN_OR_RETURN(std::shared_ptr<Entry> entry, Find(ref));
  std::unique_lock<std::mutex> op(entry->op);
  Container c;
  std::string id, old_name, name;
  bool running = false;
  {
    std::lock_guard<std::mutex> lock(mu_);
    id = entry->c.id();
    old_name = entry->c.name();
    // Moby compares before it validates.
    if (old_name == (new_name[0] == '/' ? new_name.substr(1) : new_name)) {
      return absl::InvalidArgumentError(
          "Renaming a container with the same name as its current name");
    }
    ASSIGN_OR_RETURN(name, ValidateContainerName(new_name));
    for (const auto& [other_id, other] : containers_) {
      if (other != entry && !other->removed && other->c.name() == name) {
        return absl::AlreadyExistsError(absl::StrCat(
            "Conflict. The container name \"/", name, "\" is already in use by container \"",
            other_id,
            "\". You have to remove (or rename) that container to be able to reuse that name."));
      }
    }
    // Taken now, so that no other rename or create takes it meanwhile.
    entry->c.set_name(name);
    running = entry->running();
  }
  // A running container's endpoints answer to the new name on its networks
  // (DNS, container:<name>), as Moby renames its sandbox; a failure there
  // keeps the old name everywhere.
  std::optional<std::string> settings;
  if (running) {
    absl::StatusOr<std::string> renamed = network_->RenameSandbox(id, name);
    if (renamed.ok()) {
      settings = std::move(*renamed);
    } else if (!absl::IsNotFound(renamed.status())) {
      std::lock_guard<std::mutex> lock(mu_);
      entry->c.set_name(old_name);
      return renamed.status();
    }
  }
  absl::Status persisted;
  {
    std::lock_guard<std::mutex> lock(mu_);
    const std::string old_settings = entry->c.network_settings_json();
    if (settings) entry->c.set_network_settings_json(*settings);
    persisted = Persist(*entry);
    if (persisted.ok()) {
      c = entry->c;
    } else {
      entry->c.set_name(old_name);
      entry->c.set_network_settings_json(old_settings);
    }
  }
  if (!persisted.ok()) {
    if (settings) network_->RenameSandbox(id, old_name).IgnoreError();
    return persisted;
  }
  PublishEvent(c, "rename", {{"oldName", "/" + old_name}});
  return absl::OkStatus();
}

// ---------------------------------------------------------------------------
// Pause, top

std::string ContainerManager::CgroupsPath(const Container& c) const {
  std::string parent = JsonString(ParseJson(c.host_config_json()).value_or(Json()), "CgroupParent");
  // The container was created with this path, so it is valid.
  return ContainerCgroupsPath(options_.systemd_cgroup, parent, options_.cgroup_parent, c.id())
      .value_or("");
}

std::string ContainerManager::FreezerFile(const Container& c, bool* v2) const {
  const std::string path =
      runtime::CgroupRelativePath(CgroupsPath(c), options_.cgroup_root).value_or("");
  *v2 = options_.cgroup_v2;
  if (*v2) return options_.cgroup_root + "/" + path + "/cgroup.freeze";
  return options_.cgroup_root + "/freezer/" + path + "/freezer.state";
}

absl::Status ContainerManager::SetFrozen(const Container& c, bool frozen) {
  bool v2 = false;
  const std::string file = FreezerFile(c, &v2);
  const std::string value = v2 ? (frozen ? "1" : "0") : (frozen ? "FROZEN" : "THAWED");
  // Cgroup files cannot be replaced by rename: write in place.
  FILE* f = fopen(file.c_str(), "w");
  if (f == nullptr) {
    return absl::InternalError("cannot " + std::string(frozen ? "freeze" : "thaw") + " container " +
                               c.id() + ": " + file + ": " + strerror(errno));
  }
  const bool written = fputs(value.c_str(), f) >= 0;
  if (fclose(f) != 0 || !written) {
    return absl::InternalError("cannot write " + file + ": " + strerror(errno));
  }
  // v1 passes through FREEZING until every task stopped.
  for (int i = 0; i < 500 && frozen != IsFrozen(c); ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(2));
  }
  return absl::OkStatus();
}

bool ContainerManager::IsFrozen(const Container& c) const {
  bool v2 = false;
  auto content = ReadFile(FreezerFile(c, &v2));
  if (!content.ok()) return false;
  const std::string value(absl::StripAsciiWhitespace(*content));
  return v2 ? value == "1" : value == "FROZEN";
}

absl::StatusOr<std::vector<std::string>> ContainerManager::Update(const std::string& ref,
                                                                  const std::string& update_json) {
  ASSIGN_OR_RETURN(std::shared_ptr<Entry> entry, Find(ref));
  ASSIGN_OR_RETURN(Json update, ParseDocument(update_json, "update"));
  std::unique_lock<std::mutex> op(entry->op);
  Container c;
  {
    std::lock_guard<std::mutex> lock(mu_);
    c = entry->c;
  }
  ASSIGN_OR_RETURN(Json host, ParseDocument(c.host_config_json(), "host config"));
  // Docker's checks, in its words.
  RETURN_IF_ERROR(VerifyContainerSettings(Json::object(), update,
                                          ReadHostCpus(options_.cgroup_root), /*update=*/true));
  if (JsonInt(update, "NanoCpus") > 0 &&
      (JsonInt(update, "CpuPeriod") > 0 || JsonInt(update, "CpuQuota") > 0)) {
    return absl::InvalidArgumentError(
        "Conflicting options: Nano CPUs and CPU Period cannot both be set");
  }
  if (update.contains("RestartPolicy") && update["RestartPolicy"].is_object() &&
      !JsonString(update["RestartPolicy"], "Name").empty() && JsonBool(host, "AutoRemove") &&
      JsonString(update["RestartPolicy"], "Name") != "no") {
    return absl::InvalidArgumentError(
        "Restart policy cannot be updated because AutoRemove is enabled for the container");
  }
  int64_t memory = JsonInt(update, "Memory");
  int64_t swap = JsonInt(update, "MemorySwap");
  int64_t current_swap = JsonInt(host, "MemorySwap");
  if (memory > 0 && swap == 0 && current_swap > 0 && memory > current_swap) {
    return absl::InvalidArgumentError(
        "Memory limit should be smaller than already set memoryswap limit, update the memoryswap "
        "at the same time");
  }
  // Set fields replace the container's; zero means unchanged, as in Docker.
  for (const char* key :
       {"BlkioWeight", "CpuShares", "CpuPeriod", "CpuQuota", "CpusetCpus", "CpusetMems", "Memory",
        "MemorySwap", "MemoryReservation", "NanoCpus", "PidsLimit"}) {
    if (!update.contains(key) || update[key].is_null()) continue;
    const Json& value = update[key];
    if ((value.is_number() && value.get<double>() == 0) ||
        (value.is_string() && value.get<std::string>().empty())) {
      continue;
    }
    host[key] = value;
  }
  // NanoCpus and a quota are alternatives: setting one clears the other.
  if (JsonInt(update, "NanoCpus") > 0) {
    host["CpuQuota"] = 0;
    host["CpuPeriod"] = 0;
  } else if (JsonInt(update, "CpuQuota") > 0 || JsonInt(update, "CpuPeriod") > 0) {
    host["NanoCpus"] = 0;
  }
  if (memory > 0 && swap == 0 && current_swap == 0) host["MemorySwap"] = 0;
  if (update.contains("RestartPolicy") && update["RestartPolicy"].is_object() &&
      !JsonString(update["RestartPolicy"], "Name").empty()) {
    host["RestartPolicy"] = update["RestartPolicy"];
  }
  std::vector<std::string> warnings;
  if (c.state().status() == kRunning || c.state().status() == kPaused) {
    ASSIGN_OR_RETURN(runtime::Resources resources, runtime::ParseResourcesJson(OciResources(host)));
    ASSIGN_OR_RETURN(std::unique_ptr<runtime::CgroupManager> cgroup,
                     runtime::NewCgroupManager(CgroupsPath(c), options_.cgroup_root));
    if (absl::Status status = cgroup->Update(resources); !status.ok()) {
      return absl::InvalidArgumentError(
          absl::StrCat("Cannot update container ", c.id(), ": ", status.message()));
    }
  }
  std::lock_guard<std::mutex> lock(mu_);
  entry->c.set_host_config_json(Dump(host));
  RETURN_IF_ERROR(Persist(*entry));
  PublishEvent(entry->c, "update");
  return warnings;
}

absl::Status ContainerManager::Pause(const std::string& ref) {
  ASSIGN_OR_RETURN(std::shared_ptr<Entry> entry, Find(ref));
  Container c;
  {
    std::lock_guard<std::mutex> lock(mu_);
    const std::string& id = entry->c.id();
    if (!entry->running() || !entry->shim) {
      return absl::FailedPreconditionError("Container " + id + " is not running");
    }
    if (entry->paused()) {
      return absl::FailedPreconditionError("Container " + id + " is already paused");
    }
    c = entry->c;
  }
  RETURN_IF_ERROR(SetFrozen(c, true));
  std::lock_guard<std::mutex> lock(mu_);
  if (entry->c.state().status() != kRunning) return absl::OkStatus();
  entry->c.mutable_state()->set_status(kPaused);
  PublishEvent(entry->c, "pause");
  return Persist(*entry);
}

absl::Status ContainerManager::Unpause(const std::string& ref) {
  ASSIGN_OR_RETURN(std::shared_ptr<Entry> entry, Find(ref));
  Container c;
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (!entry->paused()) {
      return absl::FailedPreconditionError("Container " + entry->c.id() + " is not paused");
    }
    c = entry->c;
  }
  RETURN_IF_ERROR(SetFrozen(c, false));
  std::lock_guard<std::mutex> lock(mu_);
  if (!entry->paused()) return absl::OkStatus();
  entry->c.mutable_state()->set_status(kRunning);
  PublishEvent(entry->c, "unpause");
  return Persist(*entry);
}

absl::Status ContainerManager::ConnectNetwork(const std::string& ref, const std::string& network,
                                              const std::string& endpoint_config_json) {
  ASSIGN_OR_RETURN(std::shared_ptr<Entry> entry, Find(ref));
  ASSIGN_OR_RETURN(Json endpoint, ParseDocument(endpoint_config_json, "endpoint config"));
  std::string id, name;
  bool running = false;
  Json networking, host;
  {
    std::lock_guard<std::mutex> lock(mu_);
    id = entry->c.id();
    name = entry->c.name();
    running = entry->running();
    networking = ParseDocument(entry->c.networking_config_json(), "networking config")
                     .value_or(Json::object());
    host = ParseDocument(entry->c.host_config_json(), "host config").value_or(Json::object());
  }
  // Recorded for the next start too, as Docker does; a stopped container
  // only gets the record (docker compose connects created containers).
  RETURN_IF_ERROR(RecordEndpoint(host, network, endpoint, &networking));
  std::string settings;
  if (running) {
    ASSIGN_OR_RETURN(settings, network_->ConnectNetwork(id, name, network, endpoint_config_json));
  }
  std::lock_guard<std::mutex> lock(mu_);
  entry->c.set_networking_config_json(Dump(networking));
  if (running) entry->c.set_network_settings_json(settings);
  return Persist(*entry);
}

absl::Status ContainerManager::DisconnectNetwork(const std::string& ref,
                                                 const std::string& network) {
  ASSIGN_OR_RETURN(std::shared_ptr<Entry> entry, Find(ref));
  std::string id;
  bool running = false;
  Json networking;
  {
    std::lock_guard<std::mutex> lock(mu_);
    id = entry->c.id();
    running = entry->running();
    networking = ParseDocument(entry->c.networking_config_json(), "networking config")
                     .value_or(Json::object());
  }
  const bool recorded = ForgetEndpoint(network, &networking);
  std::string settings;
  if (running) {
    ASSIGN_OR_RETURN(settings, network_->DisconnectNetwork(id, network));
  } else if (!recorded) {
    return absl::PermissionDeniedError("container " + id + " is not connected to network " +
                                       network);
  }
  std::lock_guard<std::mutex> lock(mu_);
  entry->c.set_networking_config_json(Dump(networking));
  if (running) entry->c.set_network_settings_json(settings);
  return Persist(*entry);
}

absl::StatusOr<runtime::v1::TopContainerResponse> ContainerManager::Top(
    const std::string& ref, const std::string& ps_args) {
  ASSIGN_OR_RETURN(std::shared_ptr<Entry> entry, Find(ref));
  Container c;
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (!entry->running()) {
      return absl::FailedPreconditionError("Container " + entry->c.id() + " is not running");
    }
    c = entry->c;
  }
  bool v2 = false;
  std::string procs = FreezerFile(c, &v2);
  procs = procs.substr(0, procs.rfind('/')) + "/cgroup.procs";
  ASSIGN_OR_RETURN(std::string pid_text, ReadFile(procs));
  std::set<std::string> pids;
  for (absl::string_view line : absl::StrSplit(pid_text, '\n', absl::SkipWhitespace())) {
    pids.insert(std::string(absl::StripAsciiWhitespace(line)));
  }
  const std::string args = ps_args.empty() ? "-ef" : ps_args;
  for (char ch : args) {
    // The arguments reach a shell: allow only what ps options are made of.
    if (!absl::ascii_isalnum(ch) && std::string(" -,=_").find(ch) == std::string::npos) {
      return absl::InvalidArgumentError("invalid ps arguments: " + args);
    }
  }
  FILE* ps = popen(("ps " + args + " 2>&1").c_str(), "r");
  if (ps == nullptr) return absl::InternalError("cannot run ps: " + std::string(strerror(errno)));
  std::string output;
  char buffer[4096];
  size_t n;
  while ((n = fread(buffer, 1, sizeof(buffer), ps)) > 0) output.append(buffer, n);
  const int rc = pclose(ps);
  if (rc != 0) {
    return absl::InvalidArgumentError("Error running ps: " +
                                      std::string(absl::StripAsciiWhitespace(output)));
  }
  ASSIGN_OR_RETURN(runtime::v1::TopContainerResponse top, ParsePsOutput(output, pids));
  PublishEvent(c, "top");
  return top;
}

// ---------------------------------------------------------------------------
// Remove

absl::Status ContainerManager::Remove(const std::string& ref, bool force, bool remove_volumes) {
  ASSIGN_OR_RETURN(std::shared_ptr<Entry> entry, Find(ref));
  // A policy restart already under way when rm -f cancels it still starts
  // the container once: that run is killed in a second round.
  for (int round = 0;; ++round) {
    std::shared_ptr<ShimHandle> shim;
    uint64_t seen = 0;
    {
      std::lock_guard<std::mutex> lock(mu_);
      if (entry->removing) {
        return absl::FailedPreconditionError("removal of container " + entry->c.id() +
                                             " is already in progress");
      }
      if (entry->restarting() && !force) {
        return absl::FailedPreconditionError(
            "You cannot remove a restarting container " + entry->c.id() +
            ". Stop the container before attempting removal or force remove");
      }
      CancelRestartLocked(*entry);
      // The kill below must not bring the restart policy into play.
      if (force) entry->c.mutable_state()->set_stopped_by_user(true);
      if (entry->running()) {
        if (!force) {
          return absl::FailedPreconditionError(
              "You cannot remove a running container " + entry->c.id() +
              ". Stop the container before attempting removal or force remove");
        }
        shim = entry->shim;
        seen = entry->exits;
        // Moby's rm -f is a kill like any other.
        PublishEvent(entry->c, "kill", {{"signal", std::to_string(SIGKILL)}});
      }
    }
    if (shim) {
      (void)shim->Kill(SIGKILL, true);
      (void)SetFrozen(entry->c, false);
      if (!WaitForExit(entry, seen, options_.kill_grace_seconds)) {
        return absl::DeadlineExceededError("container " + entry->c.id() +
                                           " did not exit after SIGKILL");
      }
    }
    absl::Status status = RemoveEntry(entry, remove_volumes);
    if (!force || round == 2 || status.code() != absl::StatusCode::kFailedPrecondition) {
      return status;
    }
  }
}

absl::Status ContainerManager::ReleaseVolumes(const Container& c, bool remove_anonymous) {
  absl::StatusOr<Json> config = ParseJson(c.config_json());
  absl::StatusOr<Json> host = ParseJson(c.host_config_json());
  if (!config.ok() || !host.ok()) return absl::OkStatus();
  absl::StatusOr<std::vector<MountPoint>> mounts = ParseMountPoints(*config, *host, c.id());
  // A record whose mounts do not parse never acquired a volume.
  if (!mounts.ok()) return absl::OkStatus();
  for (const MountPoint& m : *mounts) {
    if (m.type != "volume") continue;
    absl::Status status = storage_->ReleaseVolume(m.name, c.id(), remove_anonymous && m.anonymous);
    if (!status.ok() && status.code() != absl::StatusCode::kNotFound) return status;
  }
  return absl::OkStatus();
}

absl::Status ContainerManager::RemoveEntry(const std::shared_ptr<Entry>& entry,
                                           bool remove_volumes) {
  std::unique_lock<std::mutex> op(entry->op);
  const std::string id = entry->c.id();
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (entry->removed) return absl::NotFoundError("No such container: " + id);
    if (entry->running()) {
      return absl::FailedPreconditionError(
          "You cannot remove a running container " + id +
          ". Stop the container before attempting removal or force remove");
    }
    entry->removing = true;
    entry->phase = Phase::kRemoving;
    // Unsynced for a --rm container: found exited at startup, it is removed
    // anyway (Recover), so a power loss may take the mark.
    const bool auto_remove =
        JsonBool(ParseJson(entry->c.host_config_json()).value_or(Json()), "AutoRemove");
    RETURN_IF_ERROR(Persist(*entry, auto_remove ? Durability::kUnsynced : Durability::kSynced));
  }
  PhaseClock clock;
  absl::Status status = storage_->RemoveRootfs(id);
  if (status.code() == absl::StatusCode::kNotFound) status = absl::OkStatus();
  clock.Mark("rootfs");
  if (status.ok()) status = ReleaseVolumes(entry->c, remove_volumes);
  if (status.ok()) status = RemoveAll(ContainerDir(id));
  if (status.ok()) status = RemoveAll(BundleDir(id));
  clock.Mark("volumes+dirs");
  // Unsynced: a lost deletion leaves the row marked removing, which startup
  // finishes.
  if (status.ok()) status = store_->Delete(id, Durability::kUnsynced);
  clock.Mark("record");
  std::vector<std::shared_ptr<Attachment>> pending;
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (!status.ok()) {
      // Still recorded as "removing": startup finishes it if nobody retries.
      entry->removing = false;
      return status;
    }
    entry->removed = true;
    containers_.erase(id);
    pending.swap(entry->pending);
    cv_.notify_all();
  }
  for (auto& attachment : pending) attachment->End();
  spdlog::info("removed container {}", id);
  spdlog::debug("container {} removal: {}", id, clock.Summary());
  PublishEvent(entry->c, "destroy");
  return absl::OkStatus();
}

// ---------------------------------------------------------------------------
// Wait, attach, logs

absl::StatusOr<runtime::v1::WaitResult> ContainerManager::Wait(
    const std::string& ref, const std::string& condition,
    const std::function<void()>& on_registered, const std::function<bool()>& cancelled) {
  enum { kNotRunning, kNextExit, kRemoved } mode;
  if (condition.empty() || condition == "not-running") {
    mode = kNotRunning;
  } else if (condition == "next-exit") {
    mode = kNextExit;
  } else if (condition == "removed") {
    mode = kRemoved;
  } else {
    return absl::InvalidArgumentError("invalid condition: \"" + condition + "\"");
  }
  ASSIGN_OR_RETURN(std::shared_ptr<Entry> entry, Find(ref));
  uint64_t seen = 0;
  bool running = false;
  {
    std::lock_guard<std::mutex> lock(mu_);
    seen = entry->exits;
    running = entry->running() || entry->restarting();
  }
  on_registered();
  std::unique_lock<std::mutex> lock(mu_);
  auto done = [&] {
    switch (mode) {
      case kNotRunning:
        return !running || entry->exits != seen || entry->removed;
      case kNextExit:
        return entry->exits != seen || entry->removed;
      case kRemoved:
        return entry->removed;
    }
    return true;
  };
  while (!done()) {
    if (cancelled()) return absl::CancelledError("wait cancelled");
    cv_.wait_for(lock, std::chrono::milliseconds(100));
  }
  runtime::v1::WaitResult result;
  result.set_exit_code(entry->c.state().exit_code());
  result.set_error(entry->c.state().error());
  return result;
}

absl::StatusOr<std::shared_ptr<Attachment>> ContainerManager::Attach(const std::string& ref,
                                                                     AttachStreams streams) {
  ASSIGN_OR_RETURN(std::shared_ptr<Entry> entry, Find(ref));
  auto attachment = std::make_shared<Attachment>(streams);
  std::shared_ptr<ShimHandle> shim;
  {
    std::lock_guard<std::mutex> lock(mu_);
    // Docker's `attach` event, before the start it may precede (docker run).
    PublishEvent(entry->c, "attach");
    if (entry->running() && entry->shim) {
      shim = entry->shim;
    } else {
      // Drop attachments whose clients left before any start.
      auto& pending = entry->pending;
      pending.erase(std::remove_if(pending.begin(), pending.end(),
                                   [](const auto& a) { return a->cancelled(); }),
                    pending.end());
      pending.push_back(attachment);
    }
  }
  if (shim) {
    auto stream = shim->Attach(streams.stdin, streams.stdout, streams.stderr);
    if (stream.ok()) {
      attachment->Connect(*std::move(stream));
    } else {
      // The container exited in between: its output has ended.
      attachment->End();
    }
  }
  return attachment;
}

absl::StatusOr<std::string> ContainerManager::LogPath(const std::string& ref, LogFormat* format) {
  ASSIGN_OR_RETURN(Container c, Get(ref));
  if (format != nullptr) *format = LogFormatOfContainer(c);
  return c.log_path();
}

absl::Status ContainerManager::Logs(const std::string& ref, LogReadOptions options,
                                    const std::function<bool(const LogRecord&)>& emit,
                                    const std::function<bool()>& cancelled) {
  ASSIGN_OR_RETURN(std::shared_ptr<Entry> entry, Find(ref));
  std::string path;
  {
    std::lock_guard<std::mutex> lock(mu_);
    path = entry->c.log_path();
    options.format = LogFormatOfContainer(entry->c);
  }
  if (path.empty()) {
    return absl::UnimplementedError("configured logging driver does not support reading");
  }
  LogReadCallbacks callbacks;
  callbacks.emit = emit;
  callbacks.cancelled = cancelled;
  callbacks.finished = [this, entry] {
    std::lock_guard<std::mutex> lock(mu_);
    return !entry->running() || entry->removed;
  };
  return ReadLogs(path, options, callbacks);
}

}  // namespace berth::runtimed
