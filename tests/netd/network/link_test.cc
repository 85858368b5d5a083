#include "netd/network/link.h"

#include <catch2/catch.hpp>

namespace berth::netd {
namespace {

TEST_CASE("links parse in the CLI's and the daemon's forms") {
  absl::StatusOr<Link> link = ParseLink("db:database");
  REQUIRE(link.ok());
  CHECK(link->name == "db");
  CHECK(link->alias == "database");

  link = ParseLink("/db:/web/database");
  REQUIRE(link.ok());
  CHECK(link->name == "db");
  CHECK(link->alias == "database");

  link = ParseLink("db");
  REQUIRE(link.ok());
  CHECK(link->name == "db");
  CHECK(link->alias == "db");

  link = ParseLink("/db");
  REQUIRE(link.ok());
  CHECK(link->alias == "db");
}

TEST_CASE("a link without a name or an alias is refused") {
  for (const char* text : {":alias", "db:", "/:/web/x", "db:/web/"}) {
    absl::StatusOr<Link> link = ParseLink(text);
    INFO(text);
    CHECK(absl::IsInvalidArgument(link.status()));
  }
}

}  // namespace
}  // namespace berth::netd
