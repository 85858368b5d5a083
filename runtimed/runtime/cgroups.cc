#include "runtimed/runtime/cgroups.h"

#include <fcntl.h>
#include <linux/magic.h>
#include <sys/eventfd.h>
#include <sys/inotify.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <climits>
#include <functional>
#include <optional>
#include <thread>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "common/fs.h"
#include "common/status.h"
#include "runtimed/runtime/device_filter.h"
#include "runtimed/runtime/systemd_cgroup.h"
#include "runtimed/runtime/systemd_paths.h"

namespace berth::runtime {
namespace {

// Writes without O_TRUNC/O_CREAT: cgroupfs files exist and take one value per write.
absl::Status WriteValue(const std::string& dir, const std::string& file, const std::string& value) {
  std::string path = dir + "/" + file;
  int fd = open(path.c_str(), O_WRONLY | O_CLOEXEC);
  if (fd < 0) return LastErrnoStatus(absl::StrCat("cgroup: cannot open ", file));
  ssize_t n = write(fd, value.data(), value.size());
  int err = errno;
  close(fd);
  if (n < 0) {
    return ErrnoStatus(err, absl::StrCat("cgroup: cannot set ", file, " to ", value));
  }
  return absl::OkStatus();
}

std::string ReadValue(const std::string& path) {
  absl::StatusOr<std::string> content = ReadFile(path);
  if (!content.ok()) return "";
  return std::string(absl::StripTrailingAsciiWhitespace(*content));
}

// Polls `done` for up to 5 s: the kernel freezes asynchronously.
absl::Status WaitUntil(const std::function<bool()>& done, const std::string& what) {
  for (int i = 0; i < 1000; ++i) {
    if (done()) return absl::OkStatus();
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  return absl::DeadlineExceededError("cgroup: " + what + " did not change in time");
}

absl::StatusOr<std::vector<pid_t>> ReadProcs(const std::string& dir) {
  absl::StatusOr<std::string> content = ReadFile(dir + "/cgroup.procs");
  if (!content.ok()) {
    if (absl::IsNotFound(content.status())) return std::vector<pid_t>{};
    return content.status();
  }
  std::vector<pid_t> pids;
  for (absl::string_view line : absl::StrSplit(*content, '\n', absl::SkipEmpty())) {
    int pid;
    if (absl::SimpleAtoi(line, &pid)) pids.push_back(pid);
  }
  return pids;
}

// The "oom_kill N" counter of memory.oom_control (v1) / memory.events (v2).
bool OomKillCount(const std::string& path) {
  absl::StatusOr<std::string> content = ReadFile(path);
  if (!content.ok()) return false;
  for (absl::string_view line : absl::StrSplit(*content, '\n', absl::SkipEmpty())) {
    if (absl::ConsumePrefix(&line, "oom_kill ")) {
      int64_t count = 0;
      return absl::SimpleAtoi(line, &count) && count > 0;
    }
  }
  return false;
}

// The "<name> N" line of a flat-keyed cgroup file; nullopt when the file is
// unreadable (the cgroup is gone).
std::optional<int64_t> CounterOf(const std::string& path, absl::string_view name) {
  absl::StatusOr<std::string> content = ReadFile(path);
  if (!content.ok()) return std::nullopt;
  for (absl::string_view line : absl::StrSplit(*content, '\n', absl::SkipEmpty())) {
    if (absl::ConsumePrefix(&line, name) && absl::ConsumePrefix(&line, " ")) {
      int64_t count = 0;
      return absl::SimpleAtoi(line, &count) ? count : 0;
    }
  }
  return 0;
}

absl::StatusOr<std::unique_ptr<OomWatch>> WatchOomV1(const std::string& dir) {
  const std::string control = dir + "/memory.oom_control";
  UniqueFd event(eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC));
  if (!event.valid()) return LastErrnoStatus("cgroup: eventfd");
  UniqueFd file(open(control.c_str(), O_RDONLY | O_CLOEXEC));
  if (!file.valid()) return LastErrnoStatus("cgroup: cannot open " + control);
  // The kernel keeps its own reference to `file`; ours may go.
  RETURN_IF_ERROR(
      WriteValue(dir, "cgroup.event_control", absl::StrCat(event.get(), " ", file.get())));
  return std::make_unique<OomWatch>(std::move(event), control, false);
}

absl::StatusOr<std::unique_ptr<OomWatch>> WatchOomV2(const std::string& dir) {
  const std::string events = dir + "/memory.events";
  UniqueFd inotify(inotify_init1(IN_NONBLOCK | IN_CLOEXEC));
  if (!inotify.valid()) return LastErrnoStatus("cgroup: inotify_init");
  if (inotify_add_watch(inotify.get(), events.c_str(), IN_MODIFY) < 0) {
    return LastErrnoStatus("cgroup: cannot watch " + events);
  }
  return std::make_unique<OomWatch>(std::move(inotify), events, true);
}

absl::Status RemoveDir(const std::string& dir) {
  // The kernel keeps a cgroup busy for a moment after its last task is reaped.
  for (int attempt = 0;; ++attempt) {
    if (rmdir(dir.c_str()) == 0 || errno == ENOENT) return absl::OkStatus();
    if (errno != EBUSY || attempt >= 100) return LastErrnoStatus("cgroup: rmdir " + dir);
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
}

std::string Trimmed(const std::string& cgroups_path) {
  std::string path = cgroups_path;
  while (!path.empty() && path.front() == '/') path.erase(0, 1);
  while (!path.empty() && path.back() == '/') path.pop_back();
  return path;
}

// mkdir -p of `relative` under `base`, calling init(dir) for each level it
// creates (cpuset needs its parent's cpus/mems copied in before use).
template <typename Init>
absl::Status MakeLevels(const std::string& base, const std::string& relative, Init init) {
  std::string dir = base;
  std::vector<std::string> parts = absl::StrSplit(relative, '/', absl::SkipEmpty());
  for (size_t i = 0; i < parts.size(); ++i) {
    std::string parent = dir;
    dir += "/" + parts[i];
    if (mkdir(dir.c_str(), 0755) == 0) {
      RETURN_IF_ERROR(init(parent, dir));
    } else if (errno != EEXIST) {
      return LastErrnoStatus("cgroup: mkdir " + dir);
    }
  }
  return absl::OkStatus();
}

class CgroupV1 : public CgroupManager {
 public:
  CgroupV1(std::string root, std::string relative)
      : root_(std::move(root)), relative_(std::move(relative)) {
    // Co-mounted controllers (cpu,cpuacct) show up as symlinks to one
    // hierarchy; keep each hierarchy once.
    for (const char* controller :
         {"memory", "cpu", "cpuacct", "cpuset", "pids", "freezer", "blkio", "devices"}) {
      std::string mount = root_ + "/" + controller;
      char resolved[PATH_MAX];
      if (realpath(mount.c_str(), resolved) == nullptr) continue;
      bool seen = false;
      for (const auto& [name, path] : hierarchies_) seen |= path == resolved;
      if (!seen) hierarchies_.emplace_back(controller, resolved);
    }
  }

  absl::Status Create(const Resources& resources) override {
    if (hierarchies_.empty()) return absl::FailedPreconditionError("no cgroup v1 controllers");
    absl::Status status = CreateDirs();
    if (status.ok()) status = Apply(resources);
    if (!status.ok()) Destroy().IgnoreError();
    return status;
  }

  absl::Status Update(const Resources& resources) override {
    Resources limits = resources;
    limits.devices.clear();
    return Apply(limits);
  }

  absl::Status Freeze(bool frozen) override {
    std::string freezer = MountOf("freezer");
    if (freezer.empty()) return absl::FailedPreconditionError("the freezer cgroup is not mounted");
    RETURN_IF_ERROR(WriteValue(Dir(freezer), "freezer.state", frozen ? "FROZEN" : "THAWED"));
    return WaitUntil([&] { return Frozen() == frozen; }, "freezer.state");
  }

  bool Frozen() const override {
    std::string freezer = MountOf("freezer");
    return !freezer.empty() && ReadValue(Dir(freezer) + "/freezer.state") == "FROZEN";
  }

  absl::Status AddProcess(pid_t pid) override {
    for (const auto& [controller, mount] : hierarchies_) {
      RETURN_IF_ERROR(WriteValue(Dir(mount), "cgroup.procs", std::to_string(pid)));
    }
    return absl::OkStatus();
  }

  absl::StatusOr<std::vector<UniqueFd>> OpenSelfJoin() override {
    std::vector<UniqueFd> files;
    for (const auto& [controller, mount] : hierarchies_) {
      const std::string path = Dir(mount) + "/tasks";
      UniqueFd fd(open(path.c_str(), O_WRONLY | O_CLOEXEC));
      if (!fd.valid()) return LastErrnoStatus("cgroup: cannot open " + path);
      files.push_back(std::move(fd));
    }
    return files;
  }

  absl::StatusOr<std::vector<pid_t>> Pids() const override {
    if (hierarchies_.empty()) return std::vector<pid_t>{};
    return ReadProcs(Dir(hierarchies_.front().second));
  }

  bool OomKilled() const override {
    std::string memory = MountOf("memory");
    return !memory.empty() && OomKillCount(Dir(memory) + "/memory.oom_control");
  }

  absl::StatusOr<std::unique_ptr<OomWatch>> WatchOom() override {
    std::string memory = MountOf("memory");
    if (memory.empty()) return nullptr;
    return WatchOomV1(Dir(memory));
  }

  absl::Status Destroy() override {
    absl::Status result;
    for (const auto& [controller, mount] : hierarchies_) {
      absl::Status status = RemoveDir(Dir(mount));
      if (result.ok()) result = status;
    }
    return result;
  }

  std::vector<std::string> Paths() const override {
    std::vector<std::string> paths;
    for (const auto& [controller, mount] : hierarchies_) paths.push_back(Dir(mount));
    return paths;
  }

 private:
  std::string Dir(const std::string& mount) const { return mount + "/" + relative_; }

  std::string MountOf(const std::string& controller) const {
    for (const auto& [name, mount] : hierarchies_) {
      if (name == controller) return mount;
    }
    // A controller co-mounted with another one lives under the other's name.
    std::string path = root_ + "/" + controller;
    char resolved[PATH_MAX];
    if (realpath(path.c_str(), resolved) == nullptr) return "";
    return resolved;
  }

  absl::Status CreateDirs() {
    for (const auto& [controller, mount] : hierarchies_) {
      bool cpuset = mount.find("cpuset") != std::string::npos;
      RETURN_IF_ERROR(
          MakeLevels(mount, relative_, [cpuset](const std::string& parent, const std::string& dir) {
            return cpuset ? InheritCpuset(parent, dir) : absl::OkStatus();
          }));
    }
    return absl::OkStatus();
  }

  static absl::Status InheritCpuset(const std::string& parent, const std::string& dir) {
    for (const char* file : {"cpuset.cpus", "cpuset.mems"}) {
      if (!ReadValue(dir + "/" + file).empty()) continue;
      RETURN_IF_ERROR(WriteValue(dir, file, ReadValue(parent + "/" + file)));
    }
    return absl::OkStatus();
  }

  absl::Status Apply(const Resources& r) {
    if (std::string memory = MountOf("memory"); !memory.empty()) {
      std::string dir = Dir(memory);
      if (r.memory_limit) {
        RETURN_IF_ERROR(WriteValue(dir, "memory.limit_in_bytes", std::to_string(*r.memory_limit)));
      }
      // Without swap accounting (swapaccount=0) the file is absent; Docker
      // then ignores the swap limit too.
      if (r.memory_swap && PathExists(dir + "/memory.memsw.limit_in_bytes")) {
        RETURN_IF_ERROR(
            WriteValue(dir, "memory.memsw.limit_in_bytes", std::to_string(*r.memory_swap)));
      }
      if (r.memory_reservation) {
        RETURN_IF_ERROR(
            WriteValue(dir, "memory.soft_limit_in_bytes", std::to_string(*r.memory_reservation)));
      }
      if (r.memory_swappiness) {
        RETURN_IF_ERROR(WriteValue(dir, "memory.swappiness", std::to_string(*r.memory_swappiness)));
      }
      if (r.disable_oom_killer) RETURN_IF_ERROR(WriteValue(dir, "memory.oom_control", "1"));
    } else if (r.memory_limit) {
      return absl::FailedPreconditionError("cgroup: the memory controller is not mounted");
    }
    if (std::string cpu = MountOf("cpu"); !cpu.empty()) {
      std::string dir = Dir(cpu);
      if (r.cpu_shares)
        RETURN_IF_ERROR(WriteValue(dir, "cpu.shares", std::to_string(*r.cpu_shares)));
      if (r.cpu_period) {
        RETURN_IF_ERROR(WriteValue(dir, "cpu.cfs_period_us", std::to_string(*r.cpu_period)));
      }
      if (r.cpu_quota) {
        RETURN_IF_ERROR(WriteValue(dir, "cpu.cfs_quota_us", std::to_string(*r.cpu_quota)));
      }
    }
    if (std::string cpuset = MountOf("cpuset"); !cpuset.empty()) {
      if (!r.cpu_cpus.empty()) RETURN_IF_ERROR(WriteValue(Dir(cpuset), "cpuset.cpus", r.cpu_cpus));
      if (!r.cpu_mems.empty()) RETURN_IF_ERROR(WriteValue(Dir(cpuset), "cpuset.mems", r.cpu_mems));
    }
    if (std::string pids = MountOf("pids"); !pids.empty() && r.pids_limit) {
      std::string value = *r.pids_limit > 0 ? std::to_string(*r.pids_limit) : "max";
      RETURN_IF_ERROR(WriteValue(Dir(pids), "pids.max", value));
    }
    // Without a proportional I/O scheduler the kernel offers no weight file;
    // Docker then discards the weight with a warning, and so does runtimed.
    if (std::string blkio = MountOf("blkio"); !blkio.empty() && r.blkio_weight) {
      for (const char* file : {"blkio.weight", "blkio.bfq.weight"}) {
        if (PathExists(Dir(blkio) + "/" + file)) {
          RETURN_IF_ERROR(WriteValue(Dir(blkio), file, std::to_string(*r.blkio_weight)));
          break;
        }
      }
    }
    if (std::string devices = MountOf("devices"); !devices.empty()) {
      for (const DeviceRule& rule : r.devices) {
        RETURN_IF_ERROR(WriteValue(Dir(devices), rule.allow ? "devices.allow" : "devices.deny",
                                   DeviceRuleLine(rule)));
      }
    } else if (!r.devices.empty()) {
      return absl::FailedPreconditionError("cgroup: the devices controller is not mounted");
    }
    return absl::OkStatus();
  }

  std::string root_;
  std::string relative_;
  std::vector<std::pair<std::string, std::string>> hierarchies_;  // controller, mount
};

class CgroupV2 : public CgroupManager {
 public:
  CgroupV2(std::string root, std::string relative)
      : root_(std::move(root)), dir_(root_ + "/" + relative), relative_(std::move(relative)) {}

  absl::Status Create(const Resources& resources) override {
    absl::Status status = MakeLevels(
        root_, relative_, [](const std::string&, const std::string&) { return absl::OkStatus(); });
    if (status.ok()) status = EnableControllers();
    if (status.ok()) status = Apply(resources);
    if (!status.ok()) Destroy().IgnoreError();
    return status;
  }

  absl::Status Update(const Resources& resources) override {
    Resources limits = resources;
    limits.devices.clear();
    return Apply(limits);
  }

  absl::Status Freeze(bool frozen) override {
    RETURN_IF_ERROR(WriteValue(dir_, "cgroup.freeze", frozen ? "1" : "0"));
    return WaitUntil([&] { return Frozen() == frozen; }, "cgroup.events");
  }

  bool Frozen() const override {
    return absl::StrContains(ReadValue(dir_ + "/cgroup.events"), "frozen 1");
  }

  absl::Status AddProcess(pid_t pid) override {
    return WriteValue(dir_, "cgroup.procs", std::to_string(pid));
  }

  absl::StatusOr<std::vector<pid_t>> Pids() const override { return ReadProcs(dir_); }

  bool OomKilled() const override { return OomKillCount(dir_ + "/memory.events"); }

  absl::StatusOr<std::unique_ptr<OomWatch>> WatchOom() override {
    if (!PathExists(dir_ + "/memory.events")) return nullptr;
    return WatchOomV2(dir_);
  }

  absl::Status Destroy() override { return RemoveDir(dir_); }

  std::vector<std::string> Paths() const override { return {dir_}; }

 private:
  // A controller is usable in a cgroup only once every ancestor delegates it
  // through cgroup.subtree_control.
  absl::Status EnableControllers() {
    std::string available = ReadValue(root_ + "/cgroup.controllers");
    std::vector<std::string> parts = absl::StrSplit(relative_, '/', absl::SkipEmpty());
    std::string dir = root_;
    for (size_t i = 0; i < parts.size(); ++i) {
      for (const char* controller : {"cpu", "cpuset", "io", "memory", "pids"}) {
        if (!absl::StrContains(available, controller)) continue;
        // A parent holding processes itself cannot delegate (EBUSY); limits
        // on that controller then fail below with a precise error.
        WriteValue(dir, "cgroup.subtree_control", absl::StrCat("+", controller)).IgnoreError();
      }
      dir += "/" + parts[i];
    }
    return absl::OkStatus();
  }

  absl::Status Apply(const Resources& r) {
    if (r.memory_limit) {
      RETURN_IF_ERROR(WriteValue(dir_, "memory.max", std::to_string(*r.memory_limit)));
    }
    if (r.memory_swap) {
      // OCI's swap is memory+swap; v2's memory.swap.max is the swap alone.
      std::string value = "max";
      if (*r.memory_swap >= 0) {
        if (!r.memory_limit || *r.memory_limit < 0 || *r.memory_swap < *r.memory_limit) {
          return absl::InvalidArgumentError(
              "cgroup: memory.swap must be at least memory.limit when both are set");
        }
        value = std::to_string(*r.memory_swap - *r.memory_limit);
      }
      if (PathExists(dir_ + "/memory.swap.max")) {
        RETURN_IF_ERROR(WriteValue(dir_, "memory.swap.max", value));
      }
    }
    if (r.memory_reservation) {
      RETURN_IF_ERROR(WriteValue(dir_, "memory.low", std::to_string(*r.memory_reservation)));
    }
    if (r.blkio_weight) {
      if (PathExists(dir_ + "/io.bfq.weight")) {
        RETURN_IF_ERROR(WriteValue(dir_, "io.bfq.weight", std::to_string(*r.blkio_weight)));
      } else if (PathExists(dir_ + "/io.weight")) {
        // runc's conversion of blkio's [10, 1000] to io.weight's [1, 10000].
        uint64_t weight = 1 + (*r.blkio_weight - 10) * 9999 / 990;
        RETURN_IF_ERROR(WriteValue(dir_, "io.weight", "default " + std::to_string(weight)));
      }
    }
    if (r.cpu_shares && *r.cpu_shares > 0) {
      // The conversion runc and crun use: shares [2, 262144] -> weight [1, 10000].
      uint64_t weight = 1 + ((*r.cpu_shares - 2) * 9999) / 262142;
      RETURN_IF_ERROR(WriteValue(dir_, "cpu.weight", std::to_string(weight)));
    }
    if (r.cpu_quota || r.cpu_period) {
      std::string quota = r.cpu_quota && *r.cpu_quota > 0 ? std::to_string(*r.cpu_quota) : "max";
      std::string period = std::to_string(r.cpu_period.value_or(100000));
      RETURN_IF_ERROR(WriteValue(dir_, "cpu.max", quota + " " + period));
    }
    if (!r.cpu_cpus.empty()) RETURN_IF_ERROR(WriteValue(dir_, "cpuset.cpus", r.cpu_cpus));
    if (!r.cpu_mems.empty()) RETURN_IF_ERROR(WriteValue(dir_, "cpuset.mems", r.cpu_mems));
    if (r.pids_limit) {
      std::string value = *r.pids_limit > 0 ? std::to_string(*r.pids_limit) : "max";
      RETURN_IF_ERROR(WriteValue(dir_, "pids.max", value));
    }
    if (!r.devices.empty()) RETURN_IF_ERROR(AttachDeviceFilter(dir_, r.devices));
    return absl::OkStatus();
  }

  std::string root_;
  std::string dir_;
  std::string relative_;
};

}  // namespace

OomWatch::OomWatch(UniqueFd fd, std::string counter_file, bool events_file)
    : fd_(std::move(fd)), counter_file_(std::move(counter_file)), events_file_(events_file) {}

OomWatch::Seen OomWatch::OnReadable() {
  // An eventfd's count, or queued inotify events: either way drained.
  char buffer[4096];
  while (read(fd_.get(), buffer, sizeof(buffer)) > 0) {
  }
  return Check();
}

OomWatch::Seen OomWatch::Check() const {
  std::optional<int64_t> killed = CounterOf(counter_file_, "oom_kill");
  if (!killed) return Seen::kGone;
  if (*killed > 0) return Seen::kKilled;
  // The kernel signals the OOM before it picks and kills a victim. v1 signals
  // only OOMs (and the removal, when the file is already gone); v2's file
  // changes on every memory event and counts the OOMs itself.
  if (!events_file_) return Seen::kOom;
  return CounterOf(counter_file_, "oom").value_or(0) > 0 ? Seen::kOom : Seen::kNothing;
}

absl::Status JoinSelf(std::vector<UniqueFd>* files) {
  for (UniqueFd& fd : *files) {
    // "0" is the writing thread itself: no global lock, no grace period.
    if (write(fd.get(), "0", 1) != 1) return LastErrnoStatus("cgroup: cannot join the cgroup");
    fd.Reset();
  }
  return absl::OkStatus();
}

bool IsCgroup2(const std::string& root) {
  struct statfs st;
  return statfs(root.c_str(), &st) == 0 && st.f_type == CGROUP2_SUPER_MAGIC;
}

std::unique_ptr<CgroupManager> NewCgroupfsManager(const std::string& relative,
                                                  const std::string& root) {
  if (IsCgroup2(root)) return std::make_unique<CgroupV2>(root, relative);
  return std::make_unique<CgroupV1>(root, relative);
}

absl::StatusOr<std::string> CgroupRelativePath(const std::string& cgroups_path,
                                               const std::string& root, const std::string& proc) {
  if (!IsSystemdCgroupsPath(cgroups_path)) return Trimmed(cgroups_path);
  ASSIGN_OR_RETURN(SystemdCgroupsPath path, ParseSystemdCgroupsPath(cgroups_path));
  ASSIGN_OR_RETURN(std::string init, ReadFile(proc + "/1/cgroup"));
  return SystemdScopeRelativePath(path, SystemdRootFromProcCgroup(init, IsCgroup2(root)));
}

absl::StatusOr<std::unique_ptr<CgroupManager>> NewCgroupManager(const std::string& cgroups_path,
                                                                const std::string& root) {
  if (IsSystemdCgroupsPath(cgroups_path)) {
    SystemdCgroupOptions options;
    options.cgroup_root = root;
    return NewSystemdCgroupManager(cgroups_path, std::move(options));
  }
  std::string relative = Trimmed(cgroups_path);
  if (relative.empty()) return absl::InvalidArgumentError("cgroup: empty cgroups path");
  for (absl::string_view part : absl::StrSplit(relative, '/')) {
    if (part.empty() || part == "." || part == "..") {
      return absl::InvalidArgumentError("cgroup: invalid cgroups path \"" + cgroups_path + "\"");
    }
  }
  return NewCgroupfsManager(relative, root);
}

}  // namespace berth::runtime
