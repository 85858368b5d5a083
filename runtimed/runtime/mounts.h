// The container's filesystem view, built inside its new mount namespace:
// spec mounts, /dev, pivot_root, masked and read-only paths.
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "runtimed/runtime/spec.h"

namespace berth::runtime {

struct MountFlags {
  unsigned long flags = 0;        // MS_RDONLY, MS_NOSUID, MS_BIND, ...
  unsigned long clear = 0;        // flags an option turned off ("rw", "suid")
  unsigned long propagation = 0;  // MS_PRIVATE | MS_REC, ...
  std::string data;               // filesystem options: "size=65536k,mode=755"
};

// Splits OCI mount options into mount(2) flags, propagation and fs data.
MountFlags ParseMountOptions(const std::vector<std::string>& options);

// Resolves `path` inside `root` as if `root` were "/": symlinks (also
// absolute ones) never lead out of it. Components that do not exist yet are
// appended as they are.
absl::StatusOr<std::string> SecureJoin(const std::string& root, const std::string& path);

// Everything up to and including pivot_root, run by the container's init in
// its new mount namespace.
// before_pivot runs once everything is mounted, before pivot_root (the
// createContainer hooks' moment).
absl::Status SetupRootfs(const Spec& spec, const std::string& rootfs,
                         const std::function<absl::Status()>& before_pivot = nullptr,
                         const std::vector<int>& idmapped = {});

// Idmapped bind mounts (mounts[].options "idmap"/"ridmap"), made by the
// runtime before the init exists: mount_setattr(MOUNT_ATTR_IDMAP) needs
// privileges over the source's filesystem that the init, in its own user
// namespace, lacks. The init attaches each detached copy where it belongs.
class IdmappedMounts {
 public:
  static absl::StatusOr<std::unique_ptr<IdmappedMounts>> Prepare(const Spec& spec);
  ~IdmappedMounts();
  IdmappedMounts(const IdmappedMounts&) = delete;
  IdmappedMounts& operator=(const IdmappedMounts&) = delete;

  // One descriptor per spec mount, -1 where not idmapped; empty when none is.
  const std::vector<int>& fds() const { return fds_; }

 private:
  IdmappedMounts() = default;
  std::vector<int> fds_;
};

// Whether /dev is the host's (bound by a spec mount) rather than one the
// runtime builds: then nothing, /dev/console included, is created in it.
bool BindsHostDev(const Spec& spec);

// After pivot_root (and after sysctls, which need a writable /proc/sys):
// read-only and masked paths, then the read-only root.
absl::Status FinalizeRootfs(const Spec& spec);

}  // namespace berth::runtime
