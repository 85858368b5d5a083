#include "stored/volumes/local_mount.h"

#include <sys/mount.h>

#include <catch2/catch.hpp>

namespace berth::volumes {
namespace {

TEST_CASE("local driver options are validated in Docker's words") {
  CHECK(ValidateLocalOptions("v", {}).ok());
  CHECK(ValidateLocalOptions("v", {{"type", "tmpfs"}, {"device", "tmpfs"}, {"o", "size=1m"}}).ok());
  absl::Status status = ValidateLocalOptions("v", {{"foo", "bar"}});
  CHECK(status.message() == "create v: invalid option key: \"foo\"");
  status = ValidateLocalOptions("v", {{"device", "/x"}});
  CHECK(status.message() == "create v: missing required option: \"type\"");
  status = ValidateLocalOptions("v", {{"type", "tmpfs"}});
  CHECK(status.message() == "create v: missing required option: \"device\"");
}

TEST_CASE("options become a mount") {
  CHECK_FALSE(ParseLocalOptions({}).has_value());
  std::optional<LocalMount> tmpfs =
      ParseLocalOptions({{"type", "tmpfs"}, {"device", "tmpfs"}, {"o", "size=64m,nosuid,uid=1"}});
  REQUIRE(tmpfs);
  CHECK(tmpfs->fstype == "tmpfs");
  CHECK(tmpfs->flags == MS_NOSUID);
  CHECK(tmpfs->data == "size=64m,uid=1");
  CHECK_FALSE(tmpfs->bind);
  std::optional<LocalMount> bind =
      ParseLocalOptions({{"type", "none"}, {"device", "/srv"}, {"o", "bind,ro"}});
  REQUIRE(bind);
  CHECK(bind->bind);
  CHECK(bind->fstype.empty());
  CHECK(bind->device == "/srv");
  CHECK(bind->flags == (MS_BIND | MS_RDONLY));
}

}  // namespace
}  // namespace berth::volumes
