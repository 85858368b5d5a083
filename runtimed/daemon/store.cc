#include "runtimed/daemon/store.h"

#include <mutex>

#include "common/status.h"

namespace berth::runtimed {
namespace {

const std::vector<std::string>& Migrations() {
  static const std::vector<std::string> migrations = {
      "CREATE TABLE containers ("
      "  id TEXT PRIMARY KEY,"
      "  name TEXT NOT NULL UNIQUE,"
      "  phase TEXT NOT NULL,"
      "  record BLOB NOT NULL)",
  };
  return migrations;
}

const char* PhaseName(Phase phase) {
  switch (phase) {
    case Phase::kCreating:
      return "creating";
    case Phase::kReady:
      return "ready";
    case Phase::kRemoving:
      return "removing";
  }
  return "ready";
}

}  // namespace

absl::StatusOr<std::unique_ptr<ContainerStore>> ContainerStore::Open(const std::string& path) {
  ASSIGN_OR_RETURN(std::unique_ptr<Database> db, Database::Open(path, Migrations()));
  return std::unique_ptr<ContainerStore>(new ContainerStore(std::move(db)));
}

absl::Status ContainerStore::Write(Durability durability,
                                   const std::function<absl::Status()>& write) {
  if (durability == Durability::kSynced) return write();
  return db_->WriteUnsynced(write);
}

absl::Status ContainerStore::Put(const runtime::v1::Container& container, Phase phase,
                                 Durability durability) {
  return Write(durability, [&]() -> absl::Status {
    ASSIGN_OR_RETURN(Statement statement,
                     db_->Prepare("INSERT INTO containers (id, name, phase, record) "
                                  "VALUES (?, ?, ?, ?) ON CONFLICT(id) DO UPDATE SET "
                                  "name = excluded.name, phase = excluded.phase, "
                                  "record = excluded.record"));
    std::string record = container.SerializeAsString();
    return statement.Bind(1, container.id())
        .Bind(2, container.name())
        .Bind(3, PhaseName(phase))
        .BindBlob(4, record)
        .Run();
  });
}

absl::Status ContainerStore::Delete(const std::string& id, Durability durability) {
  return Write(durability, [&]() -> absl::Status {
    ASSIGN_OR_RETURN(Statement statement, db_->Prepare("DELETE FROM containers WHERE id = ?"));
    return statement.Bind(1, id).Run();
  });
}

bool ContainerStore::SyncedByDefault() {
  std::lock_guard<std::recursive_mutex> lock(db_->mutex());
  absl::StatusOr<Statement> query = db_->Prepare("PRAGMA synchronous");
  if (!query.ok()) return false;
  absl::StatusOr<bool> row = query->Step();
  return row.ok() && *row && query->ColumnInt(0) == 2;  // FULL
}

absl::StatusOr<std::vector<StoredContainer>> ContainerStore::LoadAll() {
  std::lock_guard<std::recursive_mutex> lock(db_->mutex());
  ASSIGN_OR_RETURN(Statement statement,
                   db_->Prepare("SELECT id, phase, record FROM containers ORDER BY rowid"));
  std::vector<StoredContainer> result;
  for (;;) {
    ASSIGN_OR_RETURN(bool row, statement.Step());
    if (!row) break;
    StoredContainer stored;
    if (!stored.container.ParseFromString(statement.ColumnBlob(2))) {
      return absl::DataLossError("corrupt container record " + statement.ColumnText(0));
    }
    std::string phase = statement.ColumnText(1);
    stored.phase = phase == "creating"   ? Phase::kCreating
                   : phase == "removing" ? Phase::kRemoving
                                         : Phase::kReady;
    result.push_back(std::move(stored));
  }
  return result;
}

}  // namespace berth::runtimed
