// Bind propagation as Docker applies it: a bind asking for shared or slave
// propagation only works if its source sits on a mount that is shared (or a
// slave) on the host, and the container's root must then propagate too.
// Docker checks the first at start and refuses in its own words, and sets
// linux.rootfsPropagation for the second; runtimed does the same with these.
#pragma once

#include <string>
#include <vector>

#include "absl/status/status.h"
#include "common/mount_points.h"

namespace berth {

// The mount (mount point and the optional fields of its mountinfo line,
// such as "shared:5 master:2") holding `path`, from a /proc/self/mountinfo
// text. `path` must already be free of symlinks.
struct HoldingMount {
  std::string mount_point;
  std::string optional_fields;
};
absl::StatusOr<HoldingMount> MountHolding(const std::string& path, const std::string& mountinfo);

// FailedPrecondition, in Docker's words, when the bind's propagation needs a
// shared (shared, rshared) or shared-or-slave (slave, rslave) source mount
// that `source` is not on. Symlinks in source are resolved first; a source
// that does not exist passes (its mount fails on its own).
absl::Status CheckBindPropagation(const MountPoint& bind, const std::string& mountinfo);

// linux.rootfsPropagation for these mounts, as Docker picks it: "shared" if
// a bind is shared, else "rslave" if one is a slave, else "" (the runtime's
// default).
std::string RootfsPropagationFor(const std::vector<MountPoint>& mounts);

}  // namespace berth
