// docker commit and the RUN steps of docker build: a container's writable
// layer (its overlay upper directory) as a layer tar in the image format.
//
// Overlay marks deletions with 0:0 character devices and hides lower
// directories with trusted.overlay.opaque=y; the image format says the same
// with ".wh.<name>" and ".wh..wh..opq" entries, as Moby's overlay driver
// writes them. The upper directory may be written to while it is read (a
// running container): the walk goes from directory fds and never follows a
// symlink.
#pragma once

#include <string>
#include <vector>

#include "absl/status/status.h"
#include "common/userns_remap.h"
#include "stored/archive/tar_io.h"

namespace berth::stored {

// The paths Docker never commits: files the engine bind-mounts over the
// container's own ("/etc/hosts", ...). Mount points of volumes and binds are
// added by the caller.
std::vector<std::string> DefaultCommitExclusions();

// Writes the tar of upper_dir to sink. excluded: absolute container paths
// left out with everything below them. remap: the owners on disk are the
// host's subordinate ids, recorded as the container's (as dockerd does).
absl::Status WriteLayerDiff(const std::string& upper_dir, const std::vector<std::string>& excluded,
                            containerfs::ByteSink& sink, const UsernsRemap* remap = nullptr);

}  // namespace berth::stored
