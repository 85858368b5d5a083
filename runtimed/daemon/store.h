// runtimed's persistent record of containers: <root>/runtimed/runtimed.db.
//
// Schema (migrations below, applied in order, never edited once released):
//
//   containers
//     id      TEXT PRIMARY KEY   64 hex digits
//     name    TEXT UNIQUE        without Docker's leading "/"
//     phase   TEXT               "creating": create in progress (rootfs may
//                                 exist); "ready": a normal container;
//                                 "removing": rm in progress. After a crash,
//                                 creating and removing rows are finished off
//                                 (undone / completed) at startup.
//     record  BLOB               berth.runtime.v1.Container, binary proto
//
// Every write is one statement (hence one transaction): the row is the single
// source of truth, and a crash leaves either the old record or the new one.
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "common/database.h"
#include "proto/runtime/v1/runtime.pb.h"

namespace berth::runtimed {

enum class Phase { kCreating, kReady, kRemoving };

// kUnsynced: the commit goes to the write-ahead log without an fsync. A crash
// of runtimed keeps it (the log is in the page cache); a power loss may undo
// it, and the unsynced commits after it, up to the last synced one, never
// leaving a torn record. For records whose loss after a reboot recovery
// makes good: an exit (a running record without its shim is recorded as
// killed at startup) and the deletion of a row marked removing (startup
// finishes the removal). Every fsync is a journal commit that docker run
// would wait for.
enum class Durability { kSynced, kUnsynced };

struct StoredContainer {
  runtime::v1::Container container;
  Phase phase = Phase::kReady;
};

class ContainerStore {
 public:
  static absl::StatusOr<std::unique_ptr<ContainerStore>> Open(const std::string& path);

  // Inserts or replaces the row for container.id(). A name held by another
  // container is AlreadyExists.
  absl::Status Put(const runtime::v1::Container& container, Phase phase,
                   Durability durability = Durability::kSynced);
  absl::Status Delete(const std::string& id, Durability durability = Durability::kSynced);
  absl::StatusOr<std::vector<StoredContainer>> LoadAll();
  // The connection is back to synced commits (tests).
  bool SyncedByDefault();

 private:
  explicit ContainerStore(std::unique_ptr<Database> db) : db_(std::move(db)) {}
  // Runs `write` with the connection's synchronous setting for `durability`.
  absl::Status Write(Durability durability, const std::function<absl::Status()>& write);
  std::unique_ptr<Database> db_;
};

}  // namespace berth::runtimed
