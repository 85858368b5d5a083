#include "runtimed/runtime/mounts.h"

#include <fcntl.h>
#include <limits.h>
#include <linux/mount.h>
#include <sched.h>
#include <signal.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "common/fs.h"
#include "common/id_map.h"
#include "common/status.h"
#include "runtimed/runtime/cgroups.h"

namespace berth::runtime {
namespace {

struct FlagOption {
  const char* name;
  bool clear;
  unsigned long flag;
};

constexpr FlagOption kFlagOptions[] = {
    {"ro", false, MS_RDONLY},
    {"rw", true, MS_RDONLY},
    {"nosuid", false, MS_NOSUID},
    {"suid", true, MS_NOSUID},
    {"nodev", false, MS_NODEV},
    {"dev", true, MS_NODEV},
    {"noexec", false, MS_NOEXEC},
    {"exec", true, MS_NOEXEC},
    {"sync", false, MS_SYNCHRONOUS},
    {"async", true, MS_SYNCHRONOUS},
    {"dirsync", false, MS_DIRSYNC},
    {"remount", false, MS_REMOUNT},
    {"mand", false, MS_MANDLOCK},
    {"nomand", true, MS_MANDLOCK},
    {"atime", true, MS_NOATIME},
    {"noatime", false, MS_NOATIME},
    {"diratime", true, MS_NODIRATIME},
    {"nodiratime", false, MS_NODIRATIME},
    {"relatime", false, MS_RELATIME},
    {"norelatime", true, MS_RELATIME},
    {"strictatime", false, MS_STRICTATIME},
    {"nostrictatime", true, MS_STRICTATIME},
    {"bind", false, MS_BIND},
    {"rbind", false, MS_BIND | MS_REC},
    // Not mount(2) flags: applied with mount_setattr (PrepareIdmappedMounts).
    {"idmap", false, 0},
    {"ridmap", false, 0},
};

constexpr std::pair<const char*, unsigned long> kPropagationOptions[] = {
    {"private", MS_PRIVATE},       {"rprivate", MS_PRIVATE | MS_REC},
    {"shared", MS_SHARED},         {"rshared", MS_SHARED | MS_REC},
    {"slave", MS_SLAVE},           {"rslave", MS_SLAVE | MS_REC},
    {"unbindable", MS_UNBINDABLE}, {"runbindable", MS_UNBINDABLE | MS_REC},
};

// Mount flags a bind remount must repeat: without them the kernel refuses
// to change a mount whose flags are locked, and would otherwise clear them.
unsigned long StatMountFlags(const std::string& path) {
  struct statvfs st;
  if (statvfs(path.c_str(), &st) != 0) return 0;
  unsigned long flags = 0;
  if (st.f_flag & ST_RDONLY) flags |= MS_RDONLY;
  if (st.f_flag & ST_NOSUID) flags |= MS_NOSUID;
  if (st.f_flag & ST_NODEV) flags |= MS_NODEV;
  if (st.f_flag & ST_NOEXEC) flags |= MS_NOEXEC;
  if (st.f_flag & ST_NOATIME) flags |= MS_NOATIME;
  if (st.f_flag & ST_NODIRATIME) flags |= MS_NODIRATIME;
  if (st.f_flag & ST_RELATIME) flags |= MS_RELATIME;
  return flags;
}

absl::Status DoMount(const std::string& source, const std::string& target, const std::string& type,
                     unsigned long flags, const std::string& data) {
  if (mount(source.empty() ? nullptr : source.c_str(), target.c_str(),
            type.empty() ? nullptr : type.c_str(), flags,
            data.empty() ? nullptr : data.c_str()) != 0) {
    return LastErrnoStatus(absl::StrCat("mount ", source.empty() ? type : source, " on ", target));
  }
  return absl::OkStatus();
}

// Creates what a mount needs as its target: a file for a file bind, else a directory.
absl::Status CreateTarget(const std::string& target, bool file) {
  struct stat st;
  if (stat(target.c_str(), &st) == 0) return absl::OkStatus();
  std::string parent = target.substr(0, target.rfind('/'));
  if (!file) return MakeDirs(target);
  RETURN_IF_ERROR(MakeDirs(parent.empty() ? "/" : parent));
  int fd = open(target.c_str(), O_WRONLY | O_CREAT | O_CLOEXEC, 0644);
  if (fd < 0) return LastErrnoStatus("create mount target " + target);
  close(fd);
  return absl::OkStatus();
}

// One v1 hierarchy (or the hybrid host's unified one) at `target`: with a
// cgroup namespace, a fresh mount whose root is the container's cgroup;
// without, the container's own cgroup directory bound from the host (as
// runc does), so that it reads its limits at the usual paths either way.
absl::Status MountHierarchy(const std::string& dir, const std::string& controllers,
                            const std::string& path, const std::string& target, unsigned long flags,
                            bool cgroupns) {
  RETURN_IF_ERROR(MakeDirs(target));
  unsigned long fs_flags = flags & (MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC);
  if (cgroupns) {
    absl::Status mounted = controllers.empty()
                               ? DoMount("cgroup2", target, "cgroup2", fs_flags, "")
                               : DoMount("cgroup", target, "cgroup", fs_flags, controllers);
    if (mounted.ok()) return mounted;
  }
  std::string source = "/sys/fs/cgroup/" + dir + (path == "/" ? "" : path);
  RETURN_IF_ERROR(DoMount(source, target, "", MS_BIND | MS_REC, ""));
  return DoMount("", target, "", MS_BIND | MS_REMOUNT | fs_flags | StatMountFlags(target), "");
}

absl::Status MountCgroup(const Spec& spec, const std::string& target, unsigned long flags) {
  if (IsCgroup2("/sys/fs/cgroup")) return DoMount("cgroup2", target, "cgroup2", flags, "");
  // A v1 or hybrid host: a tmpfs holding one mount per hierarchy the init
  // is in (it is in its cgroups and namespace by now), named as on the host.
  RETURN_IF_ERROR(DoMount("tmpfs", target, "tmpfs", flags & ~MS_RDONLY, "mode=755"));
  bool cgroupns = spec.FindNamespace("cgroup") != nullptr;
  ASSIGN_OR_RETURN(std::string self, ReadFile("/proc/self/cgroup"));
  for (absl::string_view line : absl::StrSplit(self, '\n', absl::SkipEmpty())) {
    std::vector<std::string> fields = absl::StrSplit(line, absl::MaxSplits(':', 2));
    if (fields.size() != 3) continue;
    std::string controllers = fields[1];
    std::string dir = controllers;
    if (controllers.empty()) {
      dir = "unified";
    } else if (controllers.rfind("name=", 0) == 0) {
      dir = controllers.substr(5);
    }
    if (!PathExists("/sys/fs/cgroup/" + dir)) continue;
    // name=systemd mounts as "none,name=systemd".
    std::string data = controllers.rfind("name=", 0) == 0 ? "none," + controllers : controllers;
    RETURN_IF_ERROR(
        Annotate(MountHierarchy(dir, data, fields[2], target + "/" + dir, flags, cgroupns),
                 "cgroup " + dir));
    if (dir.find(',') != std::string::npos) {
      for (absl::string_view alias : absl::StrSplit(dir, ',')) {
        std::string link = absl::StrCat(target, "/", alias);
        if (symlink(dir.c_str(), link.c_str()) != 0 && errno != EEXIST) {
          return LastErrnoStatus("symlink " + link);
        }
      }
    }
  }
  if (flags & MS_RDONLY) {
    return DoMount("", target, "", MS_REMOUNT | (flags & ~(MS_BIND | MS_REC)), "mode=755");
  }
  return absl::OkStatus();
}

absl::Status MountEntry(const Spec& spec, const std::string& rootfs, const Mount& m, int idmapped) {
  MountFlags opts = ParseMountOptions(m.options);
  bool bind = m.type == "bind" || (opts.flags & MS_BIND) != 0;
  if (bind) opts.flags |= MS_BIND;
  ASSIGN_OR_RETURN(std::string target, SecureJoin(rootfs, m.destination));
  bool file = false;
  if (bind) {
    struct stat st;
    if (stat(m.source.c_str(), &st) != 0) {
      return LastErrnoStatus(absl::StrCat("bind source ", m.source, " for ", m.destination));
    }
    file = !S_ISDIR(st.st_mode);
  }
  RETURN_IF_ERROR(CreateTarget(target, file));
  if (m.type == "cgroup" || m.type == "cgroup2") {
    RETURN_IF_ERROR(MountCgroup(spec, target, opts.flags & ~(MS_BIND | MS_REC)));
  } else if (bind) {
    if (idmapped >= 0) {
      // The runtime made the idmapped copy (it needs privileges over the
      // source's filesystem that a user namespace lacks); it is attached here.
      if (syscall(SYS_move_mount, idmapped, "", AT_FDCWD, target.c_str(),
                  MOVE_MOUNT_F_EMPTY_PATH) != 0) {
        return LastErrnoStatus("attach the idmapped mount of " + m.source);
      }
    } else {
      RETURN_IF_ERROR(DoMount(m.source, target, "", opts.flags & (MS_BIND | MS_REC), ""));
    }
    // A bind ignores every other flag; they only take effect on a remount.
    unsigned long extra = opts.flags & ~(MS_BIND | MS_REC | MS_REMOUNT);
    if (extra != 0) {
      RETURN_IF_ERROR(
          DoMount("", target, "", MS_BIND | MS_REMOUNT | extra | StatMountFlags(target), ""));
    }
  } else {
    absl::Status status =
        DoMount(m.source.empty() ? m.type : m.source, target, m.type, opts.flags, opts.data);
    // In a user namespace without its own network namespace the kernel
    // refuses a new sysfs; runc binds the host's instead, as does berth.
    if (!status.ok() && m.type == "sysfs" && absl::IsPermissionDenied(status)) {
      status = DoMount("/sys", target, "", MS_BIND | MS_REC, "");
      unsigned long extra = opts.flags & ~(MS_REMOUNT | MS_REC);
      if (status.ok() && extra != 0) {
        status = DoMount("", target, "", MS_BIND | MS_REMOUNT | extra | StatMountFlags(target), "");
      }
    }
    RETURN_IF_ERROR(status);
  }
  if (opts.propagation != 0) RETURN_IF_ERROR(DoMount("", target, "", opts.propagation, ""));
  return absl::OkStatus();
}

struct DefaultDevice {
  const char* path;
  int major;
  int minor;
};

constexpr DefaultDevice kDefaultDevices[] = {
    {"/dev/null", 1, 3},   {"/dev/zero", 1, 5},    {"/dev/full", 1, 7},
    {"/dev/random", 1, 8}, {"/dev/urandom", 1, 9}, {"/dev/tty", 5, 0},
};

absl::Status CreateDevice(const std::string& rootfs, const Device& device) {
  ASSIGN_OR_RETURN(std::string target, SecureJoin(rootfs, device.path));
  std::string parent = target.substr(0, target.rfind('/'));
  RETURN_IF_ERROR(MakeDirs(parent));
  unlink(target.c_str());
  mode_t kind = device.type == 'b' ? S_IFBLK : device.type == 'p' ? S_IFIFO : S_IFCHR;
  if (mknod(target.c_str(), kind | device.file_mode,
            makedev(static_cast<unsigned>(device.major), static_cast<unsigned>(device.minor))) ==
      0) {
    if (chown(target.c_str(), device.uid, device.gid) != 0) {
      return LastErrnoStatus("chown " + device.path);
    }
    // mknod honours the umask; the spec's mode is what the container sees.
    if (chmod(target.c_str(), device.file_mode) != 0)
      return LastErrnoStatus("chmod " + device.path);
    return absl::OkStatus();
  }
  if (errno != EPERM) return LastErrnoStatus("mknod " + device.path);
  // Without CAP_MKNOD (or on a nodev /dev) the host's node is bound instead.
  RETURN_IF_ERROR(CreateTarget(target, /*file=*/true));
  return DoMount(device.path, target, "", MS_BIND, "");
}

absl::Status Symlink(const std::string& rootfs, const std::string& link, const std::string& to) {
  std::string path = rootfs + link;
  if (symlink(to.c_str(), path.c_str()) != 0 && errno != EEXIST) {
    return LastErrnoStatus("symlink " + link);
  }
  return absl::OkStatus();
}

absl::Status SetupDev(const Spec& spec, const std::string& rootfs) {
  std::vector<Device> devices = spec.devices;
  for (const DefaultDevice& d : kDefaultDevices) {
    bool listed = false;
    for (const Device& device : spec.devices) listed |= device.path == d.path;
    if (!listed) devices.push_back(Device{d.path, 'c', d.major, d.minor, 0666, 0, 0});
  }
  for (const Device& device : devices) RETURN_IF_ERROR(CreateDevice(rootfs, device));
  RETURN_IF_ERROR(Symlink(rootfs, "/dev/ptmx", "pts/ptmx"));
  RETURN_IF_ERROR(Symlink(rootfs, "/dev/fd", "/proc/self/fd"));
  RETURN_IF_ERROR(Symlink(rootfs, "/dev/stdin", "/proc/self/fd/0"));
  RETURN_IF_ERROR(Symlink(rootfs, "/dev/stdout", "/proc/self/fd/1"));
  RETURN_IF_ERROR(Symlink(rootfs, "/dev/stderr", "/proc/self/fd/2"));
  if (PathExists("/proc/kcore")) RETURN_IF_ERROR(Symlink(rootfs, "/dev/core", "/proc/kcore"));
  return absl::OkStatus();
}

absl::Status MakeHoldingMountPrivate(std::string path) {
  while (true) {
    if (mount(nullptr, path.c_str(), nullptr, MS_PRIVATE, nullptr) == 0) return absl::OkStatus();
    // EINVAL: not a mount point; its parent directory's mount holds it.
    if (errno != EINVAL || path == "/") {
      return LastErrnoStatus("make the mount of " + path + " private");
    }
    size_t slash = path.rfind('/');
    path = slash == 0 || slash == std::string::npos ? "/" : path.substr(0, slash);
  }
}

absl::Status PivotRoot(const std::string& rootfs) {
  int old_root = open("/", O_DIRECTORY | O_RDONLY | O_CLOEXEC);
  if (old_root < 0) return LastErrnoStatus("open /");
  int new_root = open(rootfs.c_str(), O_DIRECTORY | O_RDONLY | O_CLOEXEC);
  if (new_root < 0) {
    close(old_root);
    return LastErrnoStatus("open " + rootfs);
  }
  // pivot_root(".", ".") stacks the old root on top of the new one, so no
  // directory for it is needed inside the rootfs; detaching it then leaves
  // nothing of the host reachable.
  absl::Status status;
  if (fchdir(new_root) != 0) {
    status = LastErrnoStatus("chdir " + rootfs);
  } else if (syscall(SYS_pivot_root, ".", ".") != 0) {
    status = LastErrnoStatus("pivot_root " + rootfs);
  } else if (fchdir(old_root) != 0) {
    status = LastErrnoStatus("chdir to the old root");
  } else if (mount(nullptr, ".", nullptr, MS_SLAVE | MS_REC, nullptr) != 0) {
    status = LastErrnoStatus("make the old root rslave");
  } else if (umount2(".", MNT_DETACH) != 0) {
    status = LastErrnoStatus("unmount the old root");
  } else if (chdir("/") != 0) {
    status = LastErrnoStatus("chdir /");
  }
  close(old_root);
  close(new_root);
  return status;
}

absl::Status ReadonlyPath(const std::string& path) {
  if (mount(path.c_str(), path.c_str(), nullptr, MS_BIND | MS_REC, nullptr) != 0) {
    if (errno == ENOENT) return absl::OkStatus();
    return LastErrnoStatus("bind " + path);
  }
  return DoMount("", path, "", MS_BIND | MS_REMOUNT | MS_RDONLY | StatMountFlags(path), "");
}

absl::Status MaskPath(const std::string& path) {
  struct stat st;
  if (stat(path.c_str(), &st) != 0) {
    if (errno == ENOENT) return absl::OkStatus();
    return LastErrnoStatus("stat " + path);
  }
  if (S_ISDIR(st.st_mode)) return DoMount("tmpfs", path, "tmpfs", MS_RDONLY, "");
  return DoMount("/dev/null", path, "", MS_BIND, "");
}

}  // namespace

MountFlags ParseMountOptions(const std::vector<std::string>& options) {
  MountFlags result;
  std::vector<std::string> data;
  for (const std::string& option : options) {
    bool known = false;
    for (const FlagOption& f : kFlagOptions) {
      if (option != f.name) continue;
      known = true;
      if (f.clear) {
        result.flags &= ~f.flag;
        result.clear |= f.flag;
      } else {
        result.flags |= f.flag;
        result.clear &= ~f.flag;
      }
    }
    for (const auto& [name, flag] : kPropagationOptions) {
      if (option != name) continue;
      known = true;
      result.propagation = flag;
    }
    if (!known) data.push_back(option);
  }
  result.data = absl::StrJoin(data, ",");
  return result;
}

absl::StatusOr<std::string> SecureJoin(const std::string& root, const std::string& path) {
  std::vector<std::string> pending = absl::StrSplit(path, '/', absl::SkipEmpty());
  std::reverse(pending.begin(), pending.end());
  std::vector<std::string> resolved;
  int links = 0;
  while (!pending.empty()) {
    std::string part = std::move(pending.back());
    pending.pop_back();
    if (part == ".") continue;
    if (part == "..") {
      if (!resolved.empty()) resolved.pop_back();
      continue;
    }
    std::string full =
        root + "/" + absl::StrJoin(resolved, "/") + (resolved.empty() ? "" : "/") + part;
    char target[PATH_MAX];
    ssize_t n = readlink(full.c_str(), target, sizeof(target) - 1);
    if (n < 0) {
      resolved.push_back(part);  // not a symlink, or does not exist yet
      continue;
    }
    if (++links > 255) return absl::InvalidArgumentError("too many symlinks resolving " + path);
    target[n] = '\0';
    if (target[0] == '/') resolved.clear();
    std::vector<std::string> parts = absl::StrSplit(target, '/', absl::SkipEmpty());
    for (auto it = parts.rbegin(); it != parts.rend(); ++it) pending.push_back(*it);
  }
  return root + (resolved.empty() ? "" : "/" + absl::StrJoin(resolved, "/"));
}

bool BindsHostDev(const Spec& spec) {
  for (const Mount& m : spec.mounts) {
    if (m.destination == "/dev" &&
        (m.type == "bind" || ParseMountOptions(m.options).flags & MS_BIND)) {
      return true;
    }
  }
  return false;
}

absl::Status SetupRootfs(const Spec& spec, const std::string& rootfs,
                         const std::function<absl::Status()>& before_pivot,
                         const std::vector<int>& idmapped) {
  // Nothing mounted from here on may propagate back to the host.
  unsigned long propagation = MS_SLAVE | MS_REC;
  if (!spec.rootfs_propagation.empty()) {
    MountFlags parsed = ParseMountOptions({spec.rootfs_propagation});
    if (parsed.propagation != 0) propagation = parsed.propagation | MS_REC;
  }
  RETURN_IF_ERROR(DoMount("", "/", "", propagation, ""));
  // A shared root (for rshared binds) would carry the rootfs bind below and
  // every mount made inside the container back to the host: the mount
  // holding the rootfs goes private first, as runc does.
  if (propagation & MS_SHARED) RETURN_IF_ERROR(MakeHoldingMountPrivate(rootfs));
  RETURN_IF_ERROR(DoMount(rootfs, rootfs, "", MS_BIND | MS_REC, ""));
  for (size_t i = 0; i < spec.mounts.size(); ++i) {
    const Mount& m = spec.mounts[i];
    int idmapped_fd = i < idmapped.size() ? idmapped[i] : -1;
    RETURN_IF_ERROR(Annotate(MountEntry(spec, rootfs, m, idmapped_fd), "mount " + m.destination));
  }
  if (!BindsHostDev(spec)) RETURN_IF_ERROR(SetupDev(spec, rootfs));
  if (before_pivot) RETURN_IF_ERROR(before_pivot());
  RETURN_IF_ERROR(PivotRoot(rootfs));
  // The root itself was bound from a mount made private or slave above; the
  // propagation the spec asks of it is set on it now that it is "/", and on
  // it alone: the spec mounts keep their own.
  if (!spec.rootfs_propagation.empty()) {
    unsigned long root = ParseMountOptions({spec.rootfs_propagation}).propagation & ~MS_REC;
    if (root != 0) RETURN_IF_ERROR(DoMount("", "/", "", root, ""));
  }
  return absl::OkStatus();
}

absl::Status FinalizeRootfs(const Spec& spec) {
  for (const std::string& path : spec.readonly_paths) RETURN_IF_ERROR(ReadonlyPath(path));
  for (const std::string& path : spec.masked_paths) RETURN_IF_ERROR(MaskPath(path));
  if (spec.root_readonly) {
    RETURN_IF_ERROR(
        DoMount("", "/", "", MS_BIND | MS_REMOUNT | MS_RDONLY | StatMountFlags("/"), ""));
  }
  return absl::OkStatus();
}

namespace {}  // namespace

IdmappedMounts::~IdmappedMounts() {
  for (int fd : fds_) {
    if (fd >= 0) close(fd);
  }
}

absl::StatusOr<std::unique_ptr<IdmappedMounts>> IdmappedMounts::Prepare(const Spec& spec) {
  auto result = std::unique_ptr<IdmappedMounts>(new IdmappedMounts());
  bool any = false;
  for (const Mount& m : spec.mounts) any |= m.idmap;
  if (!any) return result;
  result->fds_.assign(spec.mounts.size(), -1);
  for (size_t i = 0; i < spec.mounts.size(); ++i) {
    const Mount& m = spec.mounts[i];
    if (!m.idmap) continue;
    bool recursive = ParseMountOptions(m.options).flags & MS_REC;
    int tree = static_cast<int>(
        syscall(SYS_open_tree, AT_FDCWD, m.source.c_str(),
                OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC | (recursive ? AT_RECURSIVE : 0)));
    if (tree < 0) return LastErrnoStatus("open_tree " + m.source);
    result->fds_[i] = tree;
    ASSIGN_OR_RETURN(UniqueFd userns, OpenMappedUserNamespace(m.uid_mappings, m.gid_mappings));
    mount_attr attr = {};
    attr.attr_set = MOUNT_ATTR_IDMAP;
    attr.userns_fd = static_cast<uint64_t>(userns.get());
    long rc = syscall(SYS_mount_setattr, tree, "",
                      AT_EMPTY_PATH | (m.recursive_idmap ? AT_RECURSIVE : 0), &attr, sizeof(attr));
    if (rc != 0) {
      return LastErrnoStatus("idmap the mount of " + m.source + " (mount_setattr)");
    }
  }
  return result;
}

}  // namespace berth::runtime
