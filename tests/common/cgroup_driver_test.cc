#include "common/cgroup_driver.h"

#include <catch2/catch.hpp>

namespace berth {
namespace {

TEST_CASE("daemon.json's exec-opts pick the cgroup driver") {
  CHECK(*CgroupDriverFromConfig(Json::object()) == CgroupDriver::kCgroupfs);
  CHECK(*CgroupDriverFromConfig(*ParseJson(R"({"exec-opts": ["native.cgroupdriver=systemd"]})")) ==
        CgroupDriver::kSystemd);
  // dockerd's parsing: any case for the key, spaces around '='; the last wins.
  CHECK(*CgroupDriverFromConfig(*ParseJson(
            R"({"exec-opts": ["Native.CgroupDriver = systemd"]})")) == CgroupDriver::kSystemd);
  CHECK(*CgroupDriverFromConfig(*ParseJson(
            R"({"exec-opts": ["native.cgroupdriver=systemd", "native.cgroupdriver=cgroupfs"]})")) ==
        CgroupDriver::kCgroupfs);
  CHECK(*CgroupDriverFromConfig(*ParseJson(R"({"exec-opts": ["isolation=process"]})")) ==
        CgroupDriver::kCgroupfs);

  absl::StatusOr<CgroupDriver> bad =
      CgroupDriverFromConfig(*ParseJson(R"({"exec-opts": ["native.cgroupdriver=upstart"]})"));
  REQUIRE_FALSE(bad.ok());
  CHECK(bad.status().message() == "native.cgroupdriver option upstart not supported");
  CHECK_FALSE(
      CgroupDriverFromConfig(*ParseJson(R"({"exec-opts": "native.cgroupdriver=systemd"})")).ok());
  CHECK(CgroupDriverName(CgroupDriver::kSystemd) == "systemd");
  CHECK(CgroupDriverName(CgroupDriver::kCgroupfs) == "cgroupfs");
}

TEST_CASE("a missing daemon.json means cgroupfs") {
  CHECK(*CgroupDriverFromConfigFile("") == CgroupDriver::kCgroupfs);
  CHECK(*CgroupDriverFromConfigFile("/nonexistent/daemon.json") == CgroupDriver::kCgroupfs);
}

}  // namespace
}  // namespace berth
