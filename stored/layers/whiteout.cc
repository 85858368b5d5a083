#include "stored/layers/whiteout.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>
#include <unistd.h>

#include "absl/strings/match.h"
#include "common/status.h"

namespace berth::layers {

WhiteoutKind ClassifyWhiteout(absl::string_view base_name) {
  if (base_name == kOpaqueWhiteout) return WhiteoutKind::kOpaque;
  if (absl::StartsWith(base_name, kWhiteoutMetaPrefix)) return WhiteoutKind::kMeta;
  if (absl::StartsWith(base_name, kWhiteoutPrefix)) return WhiteoutKind::kFile;
  return WhiteoutKind::kNone;
}

absl::Status CreateOverlayWhiteout(int dir_fd, const std::string& name) {
  if (mknodat(dir_fd, name.c_str(), S_IFCHR | 0000, makedev(0, 0)) != 0) {
    if (errno == EEXIST) return absl::OkStatus();
    return LastErrnoStatus("create whiteout for " + name);
  }
  if (fchownat(dir_fd, name.c_str(), 0, 0, AT_SYMLINK_NOFOLLOW) != 0) {
    return LastErrnoStatus("chown whiteout for " + name);
  }
  return absl::OkStatus();
}

absl::Status MarkOverlayOpaque(int dir_fd) {
  if (fsetxattr(dir_fd, kOverlayOpaqueXattr, "y", 1, 0) != 0) {
    return LastErrnoStatus("mark directory opaque");
  }
  return absl::OkStatus();
}

}  // namespace berth::layers
