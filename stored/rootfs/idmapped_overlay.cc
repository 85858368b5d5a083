#include "stored/rootfs/idmapped_overlay.h"

#include <fcntl.h>
#include <linux/mount.h>
#include <sched.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <csignal>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "common/fs.h"
#include "common/status.h"
#include "common/unique_fd.h"

namespace berth::rootfs {
namespace {

// The kernel's own words for a failed fsconfig, which say far more than
// EINVAL ("overlayfs: failed to clone lowerpath").
std::string FsContextLog(int fs) {
  std::string log;
  char line[512];
  for (int i = 0; i < 8; ++i) {
    ssize_t n = read(fs, line, sizeof(line) - 1);
    if (n <= 0) break;
    if (!log.empty()) log += "; ";
    log.append(line, static_cast<size_t>(n));
  }
  return log;
}

absl::Status FsconfigError(int fs, const std::string& what) {
  int err = errno;
  std::string log = FsContextLog(fs);
  return ErrnoStatus(err, log.empty() ? what : absl::StrCat(what, " (", log, ")"));
}

class IdmappedOverlayMounter final : public Mounter {
 public:
  IdmappedOverlayMounter(std::unique_ptr<Mounter> plain, UsernsRemap remap, UniqueFd userns)
      : plain_(std::move(plain)), remap_(std::move(remap)), userns_(std::move(userns)) {}

  absl::Status MountOverlay(const OverlaySpec& spec, const std::string& target) override {
    if (spec.lower_dirs.empty()) return absl::InvalidArgumentError("overlay needs a lower dir");
    // The container's "/" is the upper dir's root: the remapped root's, as
    // dockerd chowns it. Only a fresh (host root's) one is changed, so a
    // mode or owner the container set stays.
    struct stat st;
    if (lstat(spec.upper_dir.c_str(), &st) != 0) return LastErrnoStatus("stat " + spec.upper_dir);
    if (st.st_uid == 0 && st.st_gid == 0 &&
        lchown(spec.upper_dir.c_str(), remap_.RootUid(), remap_.RootGid()) != 0) {
      return LastErrnoStatus("chown " + spec.upper_dir + " to the remapped root");
    }
    UniqueFd fs(static_cast<int>(syscall(SYS_fsopen, "overlay", FSOPEN_CLOEXEC)));
    if (!fs.valid()) return LastErrnoStatus("fsopen overlay");
    if (syscall(SYS_fsconfig, fs.get(), FSCONFIG_SET_STRING, "source", "overlay", 0) != 0) {
      return FsconfigError(fs.get(), "overlay source");
    }
    // The detached layer mounts must stay open until the superblock exists:
    // closing one unmounts it, and overlayfs could no longer clone it.
    std::vector<UniqueFd> layers;
    for (const std::string& dir : spec.lower_dirs) {
      UniqueFd tree(static_cast<int>(
          syscall(SYS_open_tree, AT_FDCWD, dir.c_str(), OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC)));
      if (!tree.valid()) return LastErrnoStatus("open_tree " + dir);
      mount_attr attr = {};
      attr.attr_set = MOUNT_ATTR_IDMAP;
      attr.userns_fd = static_cast<uint64_t>(userns_.get());
      if (syscall(SYS_mount_setattr, tree.get(), "", AT_EMPTY_PATH, &attr, sizeof(attr)) != 0) {
        return LastErrnoStatus("idmap the layer " + dir + " (mount_setattr)");
      }
      if (syscall(SYS_fsconfig, fs.get(), FSCONFIG_SET_FD, "lowerdir+", nullptr, tree.get()) != 0) {
        return FsconfigError(fs.get(), "overlay lowerdir+ " + dir);
      }
      layers.push_back(std::move(tree));
    }
    for (const auto& [key, dir] :
         {std::pair<const char*, const std::string&>{"upperdir", spec.upper_dir},
          {"workdir", spec.work_dir}}) {
      if (syscall(SYS_fsconfig, fs.get(), FSCONFIG_SET_STRING, key, dir.c_str(), 0) != 0) {
        return FsconfigError(fs.get(), absl::StrCat("overlay ", key, " ", dir));
      }
    }
    if (syscall(SYS_fsconfig, fs.get(), FSCONFIG_CMD_CREATE, nullptr, nullptr, 0) != 0) {
      return FsconfigError(fs.get(), "create the overlay for " + target);
    }
    UniqueFd mnt(static_cast<int>(syscall(SYS_fsmount, fs.get(), FSMOUNT_CLOEXEC, 0)));
    if (!mnt.valid()) return LastErrnoStatus("fsmount the overlay for " + target);
    if (syscall(SYS_move_mount, mnt.get(), "", AT_FDCWD, target.c_str(), MOVE_MOUNT_F_EMPTY_PATH) !=
        0) {
      return LastErrnoStatus("mount overlay on " + target);
    }
    return absl::OkStatus();
  }

  absl::Status Unmount(const std::string& target) override { return plain_->Unmount(target); }

  absl::StatusOr<bool> IsMounted(const std::string& target) override {
    return plain_->IsMounted(target);
  }

 private:
  const std::unique_ptr<Mounter> plain_;
  const UsernsRemap remap_;
  const UniqueFd userns_;
};

}  // namespace

absl::StatusOr<std::unique_ptr<Mounter>> NewIdmappedOverlayMounter(std::unique_ptr<Mounter> plain,
                                                                   const UsernsRemap& remap) {
  ASSIGN_OR_RETURN(UniqueFd userns, OpenMappedUserNamespace(remap.uids, remap.gids));
  return std::unique_ptr<Mounter>(
      new IdmappedOverlayMounter(std::move(plain), remap, std::move(userns)));
}

}  // namespace berth::rootfs
