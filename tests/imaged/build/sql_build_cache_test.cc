#include "imaged/build/sql_build_cache.h"

#include <catch2/catch.hpp>

#include "tests/imaged/build/tar_builder.h"

namespace berth::imaged::build {
namespace {

using testing::TempDir;

TEST_CASE("entries survive reopening, prune releases unreferenced images") {
  TempDir dir;
  std::string path = dir.path() + "/imaged.db";
  int64_t now = 100;
  {
    auto db = Database::Open(path, BuildCacheMigrations());
    REQUIRE(db.ok());
    SqlBuildCache cache(db->get(), [&] { return now; });
    CHECK_FALSE(cache.Lookup("k1")->has_value());
    REQUIRE(cache.Record("k1", "sha256:a").ok());
    REQUIRE(cache.Record("k2", "sha256:b").ok());
    REQUIRE(cache.Record("k3", "sha256:b").ok());
    // Recording again replaces.
    REQUIRE(cache.Record("k1", "sha256:c").ok());
  }
  auto db = Database::Open(path, BuildCacheMigrations());
  REQUIRE(db.ok());
  SqlBuildCache cache(db->get(), [&] { return now; });
  CHECK(cache.Lookup("k1")->value() == "sha256:c");
  now = 200;
  CHECK(cache.Lookup("k2")->value() == "sha256:b");
  auto entries = cache.List();
  REQUIRE(entries.ok());
  REQUIRE(entries->size() == 3);
  // k1 and k3 were last used at 100, k2 at 200: b stays referenced by k2.
  auto released = cache.Prune(150);
  REQUIRE(released.ok());
  CHECK(*released == std::vector<std::string>{"sha256:c"});
  CHECK(cache.List()->size() == 1);
  REQUIRE(cache.ForgetImage("sha256:b").ok());
  CHECK(cache.List()->empty());
  REQUIRE(cache.Record("k4", "sha256:d").ok());
  CHECK(*cache.Prune(0) == std::vector<std::string>{"sha256:d"});
}

}  // namespace
}  // namespace berth::imaged::build
