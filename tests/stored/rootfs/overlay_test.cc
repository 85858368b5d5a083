#include "stored/rootfs/overlay.h"

#include <catch2/catch.hpp>

namespace berth::rootfs {

TEST_CASE("overlay options list the lower dirs top-most first", "[rootfs]") {
  OverlaySpec spec{{"/s/l/2", "/s/l/1"}, "/s/c/1/diff", "/s/c/1/work"};
  auto options = OverlayMountOptions(spec);
  REQUIRE(options.ok());
  CHECK(*options == "lowerdir=/s/l/2:/s/l/1,upperdir=/s/c/1/diff,workdir=/s/c/1/work");
}

TEST_CASE("overlay options that do not fit a page are refused", "[rootfs]") {
  OverlaySpec spec;
  for (int i = 0; i < 500; ++i)
    spec.lower_dirs.push_back("/var/lib/berth/stored/l/" + std::to_string(i));
  spec.upper_dir = "/u";
  spec.work_dir = "/w";
  CHECK(OverlayMountOptions(spec).status().code() == absl::StatusCode::kResourceExhausted);
  spec.lower_dirs = {"/a:b"};
  CHECK(OverlayMountOptions(spec).status().code() == absl::StatusCode::kInvalidArgument);
  spec.lower_dirs = {};
  CHECK(OverlayMountOptions(spec).status().code() == absl::StatusCode::kInvalidArgument);
}

}  // namespace berth::rootfs
