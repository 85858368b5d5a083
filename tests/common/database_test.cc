#include "common/database.h"

#include <catch2/catch.hpp>
#include <cstdlib>

#include "common/fs.h"
#include "common/status.h"

namespace berth {

TEST_CASE("migrations apply once and data survives reopening", "[database]") {
  const char* base = std::getenv("TEST_TMPDIR");
  std::string dir = std::string(base ? base : "/tmp") + "/dbXXXXXX";
  REQUIRE(mkdtemp(dir.data()) != nullptr);
  std::string path = dir + "/state.db";
  std::vector<std::string> migrations = {
      "CREATE TABLE items (name TEXT PRIMARY KEY, value INTEGER NOT NULL)",
  };
  {
    auto db = Database::Open(path, migrations);
    REQUIRE(db.ok());
    auto insert = (*db)->Prepare("INSERT INTO items (name, value) VALUES (?, ?)");
    REQUIRE(insert.ok());
    REQUIRE(insert->Bind(1, "a").Bind(2, int64_t{7}).Run().ok());
    // A duplicate key is AlreadyExists, and a failing transaction rolls back.
    absl::Status status = (*db)->Transaction([&]() -> absl::Status {
      auto again = (*db)->Prepare("INSERT INTO items (name, value) VALUES ('b', 1)");
      RETURN_IF_ERROR(again.status());
      RETURN_IF_ERROR(again->Run());
      auto dup = (*db)->Prepare("INSERT INTO items (name, value) VALUES ('a', 2)");
      RETURN_IF_ERROR(dup.status());
      return dup->Run();
    });
    CHECK(status.code() == absl::StatusCode::kAlreadyExists);
  }
  migrations.push_back("ALTER TABLE items ADD COLUMN note TEXT NOT NULL DEFAULT ''");
  auto db = Database::Open(path, migrations);
  REQUIRE(db.ok());
  auto query = (*db)->Prepare("SELECT name, value, note FROM items ORDER BY name");
  REQUIRE(query.ok());
  REQUIRE(*query->Step());
  CHECK(query->ColumnText(0) == "a");
  CHECK(query->ColumnInt(1) == 7);
  CHECK(query->ColumnText(2).empty());
  CHECK_FALSE(*query->Step());
  // A binary that knows fewer migrations than the database refuses to open it.
  CHECK_FALSE(Database::Open(path, {migrations[0]}).ok());
  REQUIRE(RemoveAll(dir).ok());
}

TEST_CASE("a statement comes back from the cache reset and unbound", "[database]") {
  const char* base = std::getenv("TEST_TMPDIR");
  std::string dir = std::string(base ? base : "/tmp") + "/dbXXXXXX";
  REQUIRE(mkdtemp(dir.data()) != nullptr);
  std::string path = dir + "/state.db";
  std::vector<std::string> migrations = {"CREATE TABLE items (name TEXT PRIMARY KEY)"};
  auto db = Database::Open(path, migrations);
  REQUIRE(db.ok());
  for (const char* name : {"a", "b", "c"}) {
    auto insert = (*db)->Prepare("INSERT INTO items (name) VALUES (?)");
    REQUIRE(insert.ok());
    REQUIRE(insert->Bind(1, name).Run().ok());
  }
  {
    // Left after its first row: its read must end when it is returned.
    auto query = (*db)->Prepare("SELECT name FROM items ORDER BY name");
    REQUIRE(query.ok());
    REQUIRE(*query->Step());
  }
  {
    // A write through another connection is seen: no read snapshot was kept.
    auto other = Database::Open(path, migrations);
    REQUIRE(other.ok());
    REQUIRE((*other)->Exec("INSERT INTO items (name) VALUES ('d')").ok());
  }
  // The same statement again, from its first row.
  auto query = (*db)->Prepare("SELECT name FROM items ORDER BY name");
  REQUIRE(query.ok());
  std::vector<std::string> names;
  while (*query->Step()) names.push_back(query->ColumnText(0));
  CHECK(names == std::vector<std::string>{"a", "b", "c", "d"});
  {
    auto unbound = (*db)->Prepare("SELECT count(*) FROM items WHERE name = ?");
    REQUIRE(unbound.ok());
    REQUIRE(unbound->Bind(1, "a").Step().value());
    CHECK(unbound->ColumnInt(0) == 1);
  }
  auto unbound = (*db)->Prepare("SELECT count(*) FROM items WHERE name = ?");
  REQUIRE(unbound.ok());
  REQUIRE(*unbound->Step());
  CHECK(unbound->ColumnInt(0) == 0);
  REQUIRE(RemoveAll(dir).ok());
}

int64_t Synchronous(Database& db) {
  auto query = db.Prepare("PRAGMA synchronous");
  REQUIRE(query.ok());
  REQUIRE(*query->Step());
  return query->ColumnInt(0);
}

TEST_CASE("an unsynced write lowers synchronous for itself only", "[database]") {
  const char* base = std::getenv("TEST_TMPDIR");
  std::string dir = std::string(base ? base : "/tmp") + "/dbXXXXXX";
  REQUIRE(mkdtemp(dir.data()) != nullptr);
  auto db = Database::Open(dir + "/state.db", {"CREATE TABLE items (name TEXT PRIMARY KEY)"});
  REQUIRE(db.ok());
  CHECK(Synchronous(**db) == 2);  // FULL
  int64_t inside = -1;
  REQUIRE((*db)
              ->WriteUnsynced([&]() -> absl::Status {
                inside = Synchronous(**db);
                return (*db)->Exec("INSERT INTO items (name) VALUES ('a')");
              })
              .ok());
  CHECK(inside == 1);  // NORMAL
  CHECK(Synchronous(**db) == 2);
  // Restored after a failing write too, whose error is the one returned.
  absl::Status failed = (*db)->WriteUnsynced(
      [&]() -> absl::Status { return (*db)->Exec("INSERT INTO items (name) VALUES ('a')"); });
  CHECK_FALSE(failed.ok());
  CHECK(Synchronous(**db) == 2);
  // A connection already at NORMAL stays there.
  REQUIRE((*db)->Exec("PRAGMA synchronous=NORMAL").ok());
  REQUIRE((*db)->WriteUnsynced([] { return absl::OkStatus(); }).ok());
  CHECK(Synchronous(**db) == 1);
  REQUIRE(RemoveAll(dir).ok());
}

TEST_CASE("the change count moves with written rows only", "[database]") {
  const char* base = std::getenv("TEST_TMPDIR");
  std::string dir = std::string(base ? base : "/tmp") + "/dbXXXXXX";
  REQUIRE(mkdtemp(dir.data()) != nullptr);
  auto db = Database::Open(dir + "/state.db", {"CREATE TABLE items (name TEXT PRIMARY KEY)"});
  REQUIRE(db.ok());
  const int64_t start = (*db)->ChangeCount();
  REQUIRE((*db)->Exec("INSERT INTO items (name) VALUES ('a')").ok());
  const int64_t inserted = (*db)->ChangeCount();
  CHECK(inserted > start);
  auto select = (*db)->Prepare("SELECT name FROM items");
  REQUIRE(select.ok());
  REQUIRE(select->Step().value());
  CHECK((*db)->ChangeCount() == inserted);
  // A rolled back write counts too: the count never goes back.
  CHECK_FALSE((*db)
                  ->Transaction([&]() -> absl::Status {
                    RETURN_IF_ERROR((*db)->Exec("DELETE FROM items"));
                    return absl::AbortedError("changed my mind");
                  })
                  .ok());
  CHECK((*db)->ChangeCount() > inserted);
  CHECK(RemoveAll(dir).ok());
}

}  // namespace berth
