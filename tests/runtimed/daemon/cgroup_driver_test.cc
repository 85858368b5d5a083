#include "runtimed/daemon/cgroup_driver.h"

#include <catch2/catch.hpp>

namespace berth::runtimed {
namespace {

TEST_CASE("cgroupfs: the parent's directory, then the id") {
  CHECK(*ContainerCgroupsPath(false, "", "berth", "c1") == "/berth/c1");
  CHECK(*ContainerCgroupsPath(false, "/custom/", "berth", "c1") == "/custom/c1");
  CHECK(*ContainerCgroupsPath(false, "", "", "c1") == "/c1");
}

TEST_CASE("systemd: a scope in the slice, refusing parents that are not slices") {
  CHECK(*ContainerCgroupsPath(true, "", "system.slice", "c1") == "system.slice:berth:c1");
  CHECK(*ContainerCgroupsPath(true, "my-app.slice", "system.slice", "c1") ==
        "my-app.slice:berth:c1");
  absl::StatusOr<std::string> bad = ContainerCgroupsPath(true, "/berth", "system.slice", "c1");
  REQUIRE_FALSE(bad.ok());
  CHECK(bad.status().message() ==
        "cgroup-parent for systemd cgroup should be a valid slice named as \"xxx.slice\"");
  CHECK_FALSE(ContainerCgroupsPath(true, "a/b.slice", "system.slice", "c1").ok());
}

TEST_CASE("the engine's default parent becomes system.slice with systemd") {
  CHECK(*SystemdDefaultParent("berth") == "system.slice");
  CHECK(*SystemdDefaultParent("") == "system.slice");
  CHECK(*SystemdDefaultParent("berth.slice") == "berth.slice");
  CHECK_FALSE(SystemdDefaultParent("custom").ok());
}

}  // namespace
}  // namespace berth::runtimed
