#include "netd/config.h"

#include <catch2/catch.hpp>

namespace berth::netd {

TEST_CASE("netd's configuration from daemon.json and flags", "[netd]") {
  auto defaults = LoadNetworkConfig("", "", "");
  REQUIRE(defaults.ok());
  CHECK(defaults->bridge_name == "berth0");
  CHECK(defaults->bip.empty());
  CHECK(defaults->pools.front().base.ToString() == "172.17.0.0/12");

  auto file = LoadNetworkConfig(R"({"bridge": "be1", "bip": "10.9.0.1/24",
      "default-address-pools": [{"base": "10.10.0.0/16", "size": 24}], "debug": true})",
                                "", "");
  REQUIRE(file.ok());
  CHECK(file->bridge_name == "be1");
  CHECK(file->bip == "10.9.0.1/24");
  REQUIRE(file->pools.size() == 1);
  CHECK(file->pools[0].base.ToString() == "10.10.0.0/16");
  CHECK(file->pools[0].size == 24);

  // Flags win over the file.
  auto flags = LoadNetworkConfig(R"({"bridge": "be1"})", "be2", "10.8.0.1/16");
  REQUIRE(flags.ok());
  CHECK(flags->bridge_name == "be2");
  CHECK(flags->bip == "10.8.0.1/16");

  CHECK_FALSE(LoadNetworkConfig("{", "", "").ok());
  CHECK_FALSE(LoadNetworkConfig("", "a-bridge-name-too-long", "").ok());
  CHECK_FALSE(LoadNetworkConfig("", "", "10.8.0.0/16").ok());
  CHECK_FALSE(LoadNetworkConfig("", "", "10.8.0.1").ok());
  CHECK_FALSE(LoadNetworkConfig(R"({"default-address-pools": [{"base": "10.0.0.0/16",
      "size": 8}]})",
                                "", "")
                  .ok());
  CHECK_FALSE(LoadNetworkConfig(R"({"default-address-pools": {}})", "", "").ok());
}

}  // namespace berth::netd
