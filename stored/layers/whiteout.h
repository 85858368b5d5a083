// OCI layer whiteouts and their overlayfs equivalents.
//
// OCI (image-spec layer.md) marks deletions with files in the tar:
//   <dir>/.wh.<name>       <name> was deleted from the layers below
//   <dir>/.wh..wh..opq     <dir> hides everything the layers below have in it
// overlayfs expresses the same with
//   <dir>/<name>           a character device 0:0, owned by 0:0
//   <dir>                  xattr trusted.overlay.opaque="y"
// Converting at extraction time lets the snapshots be stacked as overlay lower
// directories without any copy.
#pragma once

#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"

namespace berth::layers {

inline constexpr char kWhiteoutPrefix[] = ".wh.";
inline constexpr char kWhiteoutMetaPrefix[] = ".wh..wh.";
inline constexpr char kOpaqueWhiteout[] = ".wh..wh..opq";
inline constexpr char kOverlayOpaqueXattr[] = "trusted.overlay.opaque";

enum class WhiteoutKind {
  kNone,
  // ".wh.<name>": hide one name.
  kFile,
  // ".wh..wh..opq": hide the whole directory below.
  kOpaque,
  // Other ".wh..wh.*" (aufs bookkeeping such as .wh..wh.plnk): ignored.
  kMeta,
};

WhiteoutKind ClassifyWhiteout(absl::string_view base_name);

// Creates the overlay whiteout for `name` in the directory dir_fd. When the
// layer itself also has an entry called `name`, that entry already hides the
// lower one and is kept.
absl::Status CreateOverlayWhiteout(int dir_fd, const std::string& name);

// Marks the directory dir_fd opaque for overlayfs.
absl::Status MarkOverlayOpaque(int dir_fd);

}  // namespace berth::layers
