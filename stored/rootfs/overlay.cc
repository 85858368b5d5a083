#include "stored/rootfs/overlay.h"

#include <sys/mount.h>
#include <unistd.h>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "common/log.h"
#include "common/mountinfo.h"
#include "common/status.h"

namespace berth::rootfs {
namespace {

class KernelMounter final : public Mounter {
 public:
  absl::Status MountOverlay(const OverlaySpec& spec, const std::string& target) override {
    ASSIGN_OR_RETURN(std::string options, OverlayMountOptions(spec));
    if (mount("overlay", target.c_str(), "overlay", 0, options.c_str()) != 0) {
      return LastErrnoStatus("mount overlay on " + target);
    }
    return absl::OkStatus();
  }

  absl::Status Unmount(const std::string& target) override {
    ASSIGN_OR_RETURN(bool mounted, IsMounted(target));
    // Stacked mounts on the same point (never made by stored, but possible by
    // hand) are peeled until none is left.
    for (int attempt = 0; mounted && attempt < 16; ++attempt) {
      if (umount2(target.c_str(), UMOUNT_NOFOLLOW) != 0) {
        if (errno == EINVAL || errno == ENOENT) return absl::OkStatus();
        if (errno != EBUSY) return LastErrnoStatus("unmount " + target);
        spdlog::warn("{} is busy, detaching it", target);
        if (umount2(target.c_str(), MNT_DETACH | UMOUNT_NOFOLLOW) != 0 && errno != EINVAL) {
          return LastErrnoStatus("detach " + target);
        }
      }
      ASSIGN_OR_RETURN(mounted, IsMounted(target));
    }
    if (mounted) return absl::InternalError("cannot unmount " + target);
    return absl::OkStatus();
  }

  absl::StatusOr<bool> IsMounted(const std::string& target) override {
    return IsMountPoint(target);
  }
};

}  // namespace

absl::StatusOr<std::string> OverlayMountOptions(const OverlaySpec& spec) {
  if (spec.lower_dirs.empty()) return absl::InvalidArgumentError("overlay needs a lower dir");
  for (const std::string& dir : spec.lower_dirs) {
    // ':' and ',' separate overlay options; stored's own paths never have them.
    if (dir.find_first_of(":,") != std::string::npos) {
      return absl::InvalidArgumentError("overlay lower dir has ':' or ',': " + dir);
    }
  }
  std::string options = absl::StrCat("lowerdir=", absl::StrJoin(spec.lower_dirs, ":"),
                                     ",upperdir=", spec.upper_dir, ",workdir=", spec.work_dir);
  const size_t page = static_cast<size_t>(sysconf(_SC_PAGESIZE));
  if (options.size() >= page) {
    return absl::ResourceExhaustedError(
        absl::StrCat("overlay mount options for ", spec.lower_dirs.size(), " layers are ",
                     options.size(), " bytes, more than the kernel's limit of ", page - 1));
  }
  return options;
}

std::unique_ptr<Mounter> NewKernelMounter() { return std::make_unique<KernelMounter>(); }

}  // namespace berth::rootfs
