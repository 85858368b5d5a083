// Mounting container root filesystems: overlayfs over layer snapshots.
// Behind an interface so that the bookkeeping in stored/service can be tested
// without mounting.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"

namespace berth::rootfs {

struct OverlaySpec {
  // Layer directories, top-most first (overlayfs's lowerdir order).
  std::vector<std::string> lower_dirs;
  std::string upper_dir;
  std::string work_dir;
};

// "lowerdir=a:b,upperdir=u,workdir=w". The kernel takes mount data of at most
// one page, so an overlong string (too many or too deep layers) is an error
// here rather than a truncated mount.
absl::StatusOr<std::string> OverlayMountOptions(const OverlaySpec& spec);

class Mounter {
 public:
  virtual ~Mounter() = default;
  virtual absl::Status MountOverlay(const OverlaySpec& spec, const std::string& target) = 0;
  // Unmounts target; not being mounted is success. A busy mount is detached
  // (it goes away when its last user does).
  virtual absl::Status Unmount(const std::string& target) = 0;
  virtual absl::StatusOr<bool> IsMounted(const std::string& target) = 0;
};

// The real thing: mount(2)/umount2(2) and /proc/self/mountinfo.
std::unique_ptr<Mounter> NewKernelMounter();

}  // namespace berth::rootfs
