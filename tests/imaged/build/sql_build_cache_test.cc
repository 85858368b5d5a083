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
  REQUIRE(cache.Touch({"k2"}).ok());
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

TEST_CASE("the cache's database commits without a sync, its entries still reopen") {
  TempDir dir;
  {
    auto db = OpenBuildCacheDatabase(dir.path() + "/build.db");
    REQUIRE(db.ok());
    auto mode = (*db)->Prepare("PRAGMA synchronous");
    REQUIRE(mode.ok());
    REQUIRE(*mode->Step());
    CHECK(mode->ColumnInt(0) == 1);  // NORMAL
    SqlBuildCache cache(db->get(), [] { return int64_t{1}; });
    REQUIRE(cache.Record("k", "sha256:a").ok());
  }
  auto db = OpenBuildCacheDatabase(dir.path() + "/build.db");
  REQUIRE(db.ok());
  SqlBuildCache cache(db->get(), [] { return int64_t{2}; });
  CHECK(cache.Lookup("k")->value() == "sha256:a");
}

TEST_CASE("usage counts uses; removing keys releases images no other entry names") {
  TempDir dir;
  auto db = Database::Open(dir.path() + "/build.db", BuildCacheMigrations());
  REQUIRE(db.ok());
  SqlBuildCache cache(db->get(), [] { return int64_t{7}; });
  REQUIRE(cache.Record("k1", "sha256:a").ok());
  REQUIRE(cache.Record("k2", "sha256:a").ok());
  REQUIRE(cache.Record("k3", "sha256:b").ok());
  CHECK(cache.Lookup("k1")->value() == "sha256:a");
  // Only a touch marks an entry used: one transaction for a build's entries,
  // a key reused twice counted twice, unknown keys skipped.
  REQUIRE(cache.Touch({"k1", "k1", "gone"}).ok());
  REQUIRE(cache.Touch({}).ok());
  auto entries = cache.List();
  REQUIRE(entries.ok());
  REQUIRE(entries->size() == 3);
  CHECK((*entries)[0].key == "k1");
  CHECK((*entries)[0].usage_count == 3);
  CHECK((*entries)[1].usage_count == 1);
  CHECK((*entries)[0].created == 7);
  // a is still named by k2; b by nothing; an unknown key is ignored.
  // Many keys at once (more than one statement holds).
  std::vector<std::string> many;
  for (int i = 0; i < 450; ++i) {
    many.push_back("m" + std::to_string(i));
    REQUIRE(cache.Record(many.back(), "sha256:m").ok());
  }
  REQUIRE(cache.Touch(many).ok());
  auto touched = cache.List();
  REQUIRE(touched.ok());
  for (const CacheEntry& entry : *touched) {
    if (entry.key[0] == 'm') CHECK(entry.usage_count == 2);
  }
  REQUIRE(cache.Remove(many).ok());
  CHECK(*cache.Remove({"k1", "k3", "nope"}) == std::vector<std::string>{"sha256:b"});
  CHECK(*cache.Remove({"k2"}) == std::vector<std::string>{"sha256:a"});
  CHECK(cache.List()->empty());
}

TEST_CASE("the generation moves with every recorded or removed entry, not with use") {
  TempDir dir;
  auto db = Database::Open(dir.path() + "/build.db", BuildCacheMigrations());
  REQUIRE(db.ok());
  SqlBuildCache cache(db->get(), [] { return int64_t{100}; });
  int64_t last = cache.Generation().value();
  auto moved = [&] {
    const int64_t now = cache.Generation().value();
    const bool changed = now != last;
    last = now;
    return changed;
  };
  REQUIRE(cache.Record("k1", "sha256:a").ok());
  CHECK(moved());
  REQUIRE(cache.Record("k2", "sha256:b").ok());
  CHECK(moved());
  CHECK(cache.Lookup("k1")->has_value());
  REQUIRE(cache.Touch({"k1", "k2"}).ok());
  CHECK(cache.List()->size() == 2);
  CHECK_FALSE(moved());
  REQUIRE(cache.Remove({"k1"}).ok());
  CHECK(moved());
  REQUIRE(cache.ForgetImage("sha256:b").ok());
  CHECK(moved());
  REQUIRE(cache.Record("k3", "sha256:c").ok());
  CHECK(moved());
  REQUIRE(cache.Prune(0).ok());
  CHECK(moved());
}

}  // namespace
}  // namespace berth::imaged::build
