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

#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "common/database.h"
#include "proto/runtime/v1/runtime.pb.h"

namespace berth::runtimed {

enum class Phase { kCreating, kReady, kRemoving };

struct StoredContainer {
  runtime::v1::Container container;
  Phase phase = Phase::kReady;
};

class ContainerStore {
 public:
  static absl::StatusOr<std::unique_ptr<ContainerStore>> Open(const std::string& path);

  // Inserts or replaces the row for container.id(). A name held by another
  // container is AlreadyExists.
  absl::Status Put(const runtime::v1::Container& container, Phase phase);
  absl::Status Delete(const std::string& id);
  absl::StatusOr<std::vector<StoredContainer>> LoadAll();

 private:
  explicit ContainerStore(std::unique_ptr<Database> db) : db_(std::move(db)) {}
  std::unique_ptr<Database> db_;
};

}  // namespace berth::runtimed
