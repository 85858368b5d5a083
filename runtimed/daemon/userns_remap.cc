#include "runtimed/daemon/userns_remap.h"

#include <fcntl.h>
#include <sched.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstring>
#include <thread>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "common/netns_thread.h"
#include "common/status.h"
#include "common/unique_fd.h"
#include "runtimed/daemon/container_config.h"

namespace berth::runtimed {
namespace {

Json MapJson(const std::vector<IdMapping>& map) {
  Json list = Json::array();
  for (const IdMapping& m : map) {
    list.push_back({{"containerID", m.container_id}, {"hostID", m.host_id}, {"size", m.size}});
  }
  return list;
}

std::string ParentDir(std::string path) {
  while (path.size() > 1 && path.back() == '/') path.pop_back();
  size_t slash = path.rfind('/');
  return slash == 0 || slash == std::string::npos ? "/" : path.substr(0, slash);
}

// The engine directory `path` lies below ("" when none).
std::string EngineDirOf(const std::string& path, const std::vector<std::string>& engine_dirs) {
  for (std::string dir : engine_dirs) {
    while (dir.size() > 1 && dir.back() == '/') dir.pop_back();
    if (absl::StartsWith(path, dir + "/")) return dir;
  }
  return "";
}

// Search permission for the remapped root's group on every directory from
// the engine directory down to path's parent that others cannot search.
absl::Status AllowTraversal(const std::string& path, const std::string& engine_dir, gid_t gid) {
  std::vector<std::string> dirs = {engine_dir};
  for (size_t slash = path.find('/', engine_dir.size() + 1); slash != std::string::npos;
       slash = path.find('/', slash + 1)) {
    dirs.push_back(path.substr(0, slash));
  }
  for (const std::string& dir : dirs) {
    struct stat st;
    if (lstat(dir.c_str(), &st) != 0) return LastErrnoStatus("stat " + dir);
    if (!S_ISDIR(st.st_mode) || (st.st_mode & S_IXOTH)) continue;
    if (st.st_gid == gid && (st.st_mode & S_IXGRP)) continue;
    // A directory shared with another group (the apiserver's) keeps it; the
    // init's error will then name the path.
    if (st.st_gid != 0 && st.st_gid != gid) continue;
    if (st.st_gid != gid && lchown(dir.c_str(), static_cast<uid_t>(-1), gid) != 0) {
      return LastErrnoStatus("give " + dir + " to the remapped root's group");
    }
    if (chmod(dir.c_str(), (st.st_mode & 07777) | S_IXGRP) != 0) {
      return LastErrnoStatus("chmod g+x " + dir);
    }
  }
  return absl::OkStatus();
}

}  // namespace

bool RemapsContainer(const Json& host_config, const UsernsRemap* remap) {
  return remap != nullptr && JsonString(host_config, "UsernsMode") != "host";
}

absl::Status CheckRemapConflicts(const Json& host, const UsernsRemap* remap) {
  if (!RemapsContainer(host, remap)) return absl::OkStatus();
  if (JsonBool(host, "Privileged")) {
    return absl::InvalidArgumentError(
        "privileged mode is incompatible with user namespaces.  You must run the container in "
        "the host namespace when running privileged mode");
  }
  if (JsonString(host, "NetworkMode") == "host") {
    return absl::InvalidArgumentError(
        "cannot share the host's network namespace when user namespaces are enabled");
  }
  if (JsonString(host, "PidMode") == "host") {
    return absl::InvalidArgumentError(
        "cannot share the host PID namespace when user namespaces are enabled");
  }
  return absl::OkStatus();
}

void AddUserNamespace(const UsernsRemap& remap, Json* spec) {
  Json& linux = (*spec)["linux"];
  linux["namespaces"].push_back({{"type", "user"}});
  linux["uidMappings"] = MapJson(remap.uids);
  linux["gidMappings"] = MapJson(remap.gids);
}

RemappedPaths ContainerRemappedPaths(const std::string& state_dir, const std::string& run_dir,
                                     const std::string& rootfs,
                                     const std::vector<std::string>& network_files,
                                     const std::vector<MountPoint>& mounts,
                                     const std::string& shared_shm) {
  RemappedPaths paths;
  paths.engine_dirs = {ParentDir(state_dir), ParentDir(run_dir)};
  paths.reached.push_back(rootfs);
  for (const std::string& file : network_files) {
    if (file.empty()) continue;
    paths.reached.push_back(file);
    paths.owned.push_back(file);
  }
  for (const MountPoint& m : mounts) {
    if (m.type == "tmpfs" || m.source.empty()) continue;
    paths.reached.push_back(m.source);
    // A volume is the container's to write, as under dockerd; a bind keeps
    // its owner (host root's files show as nobody inside).
    if (m.type == "volume") paths.owned.push_back(m.source);
  }
  if (!shared_shm.empty()) paths.reached.push_back(shared_shm);
  return paths;
}

absl::Status PrepareRemappedPaths(const RemappedPaths& paths, const UsernsRemap& remap) {
  for (const std::string& path : paths.reached) {
    std::string engine_dir = EngineDirOf(path, paths.engine_dirs);
    if (engine_dir.empty()) continue;
    RETURN_IF_ERROR(AllowTraversal(path, engine_dir, remap.RootGid()));
  }
  for (const std::string& path : paths.owned) {
    if (EngineDirOf(path, paths.engine_dirs).empty()) continue;
    struct stat st;
    if (lstat(path.c_str(), &st) != 0) return LastErrnoStatus("stat " + path);
    if (st.st_uid != 0 || st.st_gid != 0) continue;
    if (lchown(path.c_str(), remap.RootUid(), remap.RootGid()) != 0) {
      return LastErrnoStatus("give " + path + " to the remapped root");
    }
  }
  return absl::OkStatus();
}

absl::Status OpenUnprivilegedNetwork(const std::string& netns_path) {
  // /proc/sys/net shows the namespace of the thread that opens it.
  return RunInNetworkNamespace(netns_path, [&]() -> absl::Status {
    for (const auto& [file, value] : {std::pair<const char*, const char*>{
                                          "/proc/sys/net/ipv4/ip_unprivileged_port_start", "0\n"},
                                      {"/proc/sys/net/ipv4/ping_group_range", "0 2147483647\n"}}) {
      UniqueFd fd(open(file, O_WRONLY | O_CLOEXEC));
      const size_t length = strlen(value);
      if (!fd.valid() || write(fd.get(), value, length) != static_cast<ssize_t>(length)) {
        return LastErrnoStatus(absl::StrCat("set ", file, " in ", netns_path));
      }
    }
    return absl::OkStatus();
  });
}

}  // namespace berth::runtimed
