#include "runtimed/daemon/store.h"

#include <catch2/catch.hpp>

#include "tests/runtimed/daemon/test_util.h"

namespace berth::runtimed {
namespace {

using testing::TempDir;

runtime::v1::Container Record(const std::string& id, const std::string& name, int exit_code) {
  runtime::v1::Container c;
  c.set_id(id);
  c.set_name(name);
  c.mutable_state()->set_exit_code(exit_code);
  return c;
}

TEST_CASE("unsynced writes are read back, survive a reopen, and leave commits synced") {
  TempDir dir;
  const std::string path = dir.path() + "/runtimed.db";
  const std::string a(64, 'a'), b(64, 'b');
  {
    auto store = ContainerStore::Open(path);
    REQUIRE(store.ok());
    REQUIRE((*store)->Put(Record(a, "one", 0), Phase::kReady).ok());
    REQUIRE((*store)->Put(Record(b, "two", 0), Phase::kRemoving).ok());
    REQUIRE((*store)->Put(Record(a, "one", 3), Phase::kReady, Durability::kUnsynced).ok());
    CHECK((*store)->SyncedByDefault());
    REQUIRE((*store)->Delete(b, Durability::kUnsynced).ok());
    CHECK((*store)->SyncedByDefault());
    // A failed unsynced write still restores the setting.
    CHECK((*store)->Put(Record(b, "one", 0), Phase::kReady, Durability::kUnsynced).code() ==
          absl::StatusCode::kAlreadyExists);
    CHECK((*store)->SyncedByDefault());
  }
  // Closed without a checkpoint of its own: what a killed runtimed leaves.
  auto reopened = ContainerStore::Open(path);
  REQUIRE(reopened.ok());
  auto rows = (*reopened)->LoadAll();
  REQUIRE(rows.ok());
  REQUIRE(rows->size() == 1);
  CHECK((*rows)[0].container.id() == a);
  CHECK((*rows)[0].container.state().exit_code() == 3);
}

}  // namespace
}  // namespace berth::runtimed
