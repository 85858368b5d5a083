#include "runtimed/runtime/systemd_cgroup.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>

#include <chrono>
#include <map>
#include <thread>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "common/fs.h"
#include "common/status.h"
#include "runtimed/runtime/systemd_paths.h"

namespace berth::runtime {
namespace {

bool PidListed(const std::string& procs_file, pid_t pid) {
  absl::StatusOr<std::string> content = ReadFile(procs_file);
  if (!content.ok()) return false;
  for (absl::string_view line : absl::StrSplit(*content, '\n', absl::SkipEmpty())) {
    int listed = 0;
    if (absl::SimpleAtoi(line, &listed) && listed == pid) return true;
  }
  return false;
}

// Adds the device nodes of `dir` ("c 1:3" -> "/dev/null"), those of its
// subdirectories when `depth` > 0 (/dev/net/tun), without following links.
void ScanDeviceNodes(const std::string& dir, int depth, std::map<std::string, std::string>* nodes) {
  DIR* d = opendir(dir.c_str());
  if (d == nullptr) return;
  std::vector<std::string> subdirs;
  while (struct dirent* entry = readdir(d)) {
    const std::string name = entry->d_name;
    if (name == "." || name == "..") continue;
    struct stat st;
    if (fstatat(dirfd(d), entry->d_name, &st, AT_SYMLINK_NOFOLLOW) != 0) continue;
    const std::string path = dir + "/" + name;
    if (S_ISCHR(st.st_mode) || S_ISBLK(st.st_mode)) {
      nodes->emplace(absl::StrCat(S_ISCHR(st.st_mode) ? "c " : "b ", major(st.st_rdev), ":",
                                  minor(st.st_rdev)),
                     path);
    } else if (S_ISDIR(st.st_mode) && depth > 0 && name != "pts" && name != "shm") {
      subdirs.push_back(path);
    }
  }
  closedir(d);
  // The top level's names first: /dev/null, not a copy of it further down.
  for (const std::string& subdir : subdirs) ScanDeviceNodes(subdir, depth - 1, nodes);
}

// Where systemd finds the container's devices on this host.
DeviceNames HostDeviceNames(const std::string& proc) {
  DeviceNames names;
  names.proc_devices = ReadFile(proc + "/devices").value_or("");
  ScanDeviceNodes("/dev", 1, &names.nodes);
  return names;
}

class SystemdCgroup : public CgroupManager {
 public:
  SystemdCgroup(SystemdCgroupsPath path, std::string relative, bool cgroup2,
                SystemdCgroupOptions options)
      : path_(std::move(path)),
        relative_(std::move(relative)),
        cgroup2_(cgroup2),
        options_(std::move(options)),
        fs_(NewCgroupfsManager(relative_, options_.cgroup_root)) {}

  absl::Status Create(const Resources& resources) override {
    // Checked now so a limit systemd cannot take fails before any fork.
    RETURN_IF_ERROR(SystemdResourceProperties(resources, cgroup2_).status());
    RETURN_IF_ERROR(Bus().status());
    resources_ = resources;
    return absl::OkStatus();
  }

  absl::Status Update(const Resources& resources) override {
    ASSIGN_OR_RETURN(std::vector<UnitProperty> props,
                     SystemdResourceProperties(resources, cgroup2_));
    if (!props.empty()) {
      ASSIGN_OR_RETURN(SystemdBus * bus, Bus());
      RETURN_IF_ERROR(bus->SetUnitProperties(path_.unit, props));
    }
    return fs_->Update(resources);
  }

  absl::Status Freeze(bool frozen) override { return fs_->Freeze(frozen); }
  bool Frozen() const override { return fs_->Frozen(); }

  // The first process starts the scope; later ones (exec) join it.
  absl::Status AddProcess(pid_t pid) override {
    if (PathExists(SystemdDir())) return fs_->AddProcess(pid);
    return StartScope(pid);
  }

  absl::StatusOr<std::vector<pid_t>> Pids() const override { return fs_->Pids(); }
  bool OomKilled() const override { return fs_->OomKilled(); }
  // The scope's memory cgroup (v1) or its unified one (v2): systemd removes
  // them as soon as the scope is empty, so only a watch sees every OOM.
  absl::StatusOr<std::unique_ptr<OomWatch>> WatchOom() override { return fs_->WatchOom(); }

  absl::Status Destroy() override {
    absl::Status status = StopScope();
    // The hierarchies systemd does not manage (v1 cpuset, freezer) are ours.
    absl::Status removed = fs_->Destroy();
    return status.ok() ? removed : status;
  }

  std::vector<std::string> Paths() const override { return fs_->Paths(); }

 private:
  // The directory systemd itself creates for the scope: the name=systemd
  // hierarchy on v1 and hybrid hosts, the unified one on v2.
  std::string SystemdDir() const {
    return cgroup2_ ? absl::StrCat(options_.cgroup_root, "/", relative_)
                    : absl::StrCat(options_.cgroup_root, "/systemd/", relative_);
  }

  absl::StatusOr<SystemdBus*> Bus() {
    if (bus_ == nullptr) {
      ASSIGN_OR_RETURN(bus_, options_.connect());
    }
    return bus_.get();
  }

  template <typename Done>
  bool WaitFor(Done done) const {
    for (int waited = 0;; waited += 5) {
      if (done()) return true;
      if (waited >= options_.wait_ms) return false;
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
  }

  absl::Status StartScope(pid_t pid) {
    ASSIGN_OR_RETURN(SystemdBus * bus, Bus());
    DeviceNames devices;
    if (!resources_.devices.empty()) devices = HostDeviceNames(options_.proc);
    ASSIGN_OR_RETURN(std::vector<UnitProperty> props,
                     SystemdScopeProperties(path_, pid, resources_, cgroup2_, devices));
    RETURN_IF_ERROR(bus->StartTransientUnit(path_.unit, props));
    // StartTransientUnit only queues the job; the limits apply once the PID
    // is in the scope, which must happen before the container runs.
    const std::string procs = SystemdDir() + "/cgroup.procs";
    if (!WaitFor([&] { return PidListed(procs, pid); })) {
      bus->StopUnit(path_.unit).IgnoreError();
      return absl::DeadlineExceededError(absl::StrCat(
          "systemd: ", path_.unit, " did not take process ", pid, " (no ", procs, ")"));
    }
    absl::Status status = fs_->Create(resources_);
    if (status.ok()) status = fs_->AddProcess(pid);
    if (!status.ok()) bus->StopUnit(path_.unit).IgnoreError();
    return status;
  }

  absl::Status StopScope() {
    absl::StatusOr<SystemdBus*> bus = Bus();
    if (!bus.ok()) return bus.status();
    absl::Status status = (*bus)->StopUnit(path_.unit);
    // An empty scope is collected as soon as its last process exits.
    if (absl::IsNotFound(status)) status = absl::OkStatus();
    RETURN_IF_ERROR(status);
    if (!WaitFor([&] { return !PathExists(SystemdDir()); })) {
      return absl::DeadlineExceededError(
          absl::StrCat("systemd: ", path_.unit, " still has its cgroup ", SystemdDir()));
    }
    return absl::OkStatus();
  }

  const SystemdCgroupsPath path_;
  const std::string relative_;
  const bool cgroup2_;
  const SystemdCgroupOptions options_;
  std::unique_ptr<CgroupManager> fs_;
  std::unique_ptr<SystemdBus> bus_;
  Resources resources_;
};

}  // namespace

absl::StatusOr<std::unique_ptr<CgroupManager>> NewSystemdCgroupManager(
    const std::string& cgroups_path, SystemdCgroupOptions options) {
  ASSIGN_OR_RETURN(SystemdCgroupsPath path, ParseSystemdCgroupsPath(cgroups_path));
  bool cgroup2 = IsCgroup2(options.cgroup_root);
  absl::StatusOr<std::string> init = ReadFile(options.proc + "/1/cgroup");
  if (!init.ok()) return init.status();
  ASSIGN_OR_RETURN(std::string relative,
                   SystemdScopeRelativePath(path, SystemdRootFromProcCgroup(*init, cgroup2)));
  if (!options.connect) {
    options.connect = [address = SystemdBusAddress()] { return ConnectSystemd(address); };
  }
  return std::make_unique<SystemdCgroup>(std::move(path), std::move(relative), cgroup2,
                                         std::move(options));
}

}  // namespace berth::runtime
