// Container root filesystems under userns-remap, without chowning a layer:
// each image layer is given to overlayfs as an idmapped mount (the remap's
// user namespace), so a file that is root's on disk is the remapped root's
// in the container. The writable layer is a plain directory owned by the
// remapped root, so what the container writes is stored with the host's
// subordinate ids, as under dockerd.
//
// overlayfs itself cannot be idmapped (mount_setattr answers EINVAL), its
// layers can: the layers are passed as descriptors of detached idmapped
// mounts (fsconfig FSCONFIG_SET_FD "lowerdir+", Linux 6.13), so no helper
// mount is ever attached and none can be left behind by a crash.
#pragma once

#include <memory>

#include "absl/status/statusor.h"
#include "common/userns_remap.h"
#include "stored/rootfs/overlay.h"

namespace berth::rootfs {

// Mounts overlays with idmapped layers; unmounts and checks through `plain`.
absl::StatusOr<std::unique_ptr<Mounter>> NewIdmappedOverlayMounter(std::unique_ptr<Mounter> plain,
                                                                   const UsernsRemap& remap);

}  // namespace berth::rootfs
