#include "netd/sandbox/links.h"

#include <catch2/catch.hpp>

#include "netd/ipam/address.h"

namespace berth::netd {

TEST_CASE("--link on the default bridge: Docker's hosts lines and errors", "[netd][sandbox]") {
  auto find = [](const std::string& name) -> std::optional<LinkTarget> {
    if (name == "web") return LinkTarget{"0123456789abcdef", *ParseIpv4("172.17.0.2")};
    if (name == "other") return LinkTarget{"fedcba9876543210", 0};
    return std::nullopt;
  };
  auto lines = LegacyLinkHosts(Json::parse(R"(["web:site", "/web:/me/www", "web"])"), "me", find);
  REQUIRE(lines.ok());
  CHECK(*lines == std::vector<std::string>{"172.17.0.2\tsite 0123456789ab web",
                                           "172.17.0.2\twww 0123456789ab web",
                                           "172.17.0.2\tweb 0123456789ab"});
  CHECK(LegacyLinkHosts(Json(), "me", find)->empty());

  auto missing = LegacyLinkHosts(Json::parse(R"(["db:data"])"), "me", find);
  CHECK(missing.status().code() == absl::StatusCode::kFailedPrecondition);
  CHECK(std::string(missing.status().message()) ==
        "Cannot link to a non running container: /db AS /me/data");
  auto elsewhere = LegacyLinkHosts(Json::parse(R"(["other:o"])"), "me", find);
  CHECK(std::string(elsewhere.status().message()) ==
        "Cannot link to /other, as it does not belong to the default network");
  CHECK_FALSE(LegacyLinkHosts(Json::parse(R"([":x"])"), "me", find).ok());
}

}  // namespace berth::netd
