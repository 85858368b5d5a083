// The apiserver's narrow interface to a container's files, kept by stored:
// docker cp, diff, export and the size fields. The gRPC implementation is
// grpc_files.h; handler tests substitute a fake.
#pragma once

#include <map>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "apiserver/backends/backends.h"
#include "proto/storage/v1/storage.pb.h"

namespace berth::apiserver {

// Upload of an archive into a container (PUT archive).
class ExtractSession {
 public:
  virtual ~ExtractSession() = default;
  // False once stored stopped listening (it failed: Finish says why).
  virtual bool Write(const std::string& chunk) = 0;
  virtual absl::Status Finish() = 0;
};

class ContainerFilesBackend {
 public:
  virtual ~ContainerFilesBackend() = default;
  virtual absl::StatusOr<storage::v1::PathStat> StatPath(const storage::v1::ContainerView& view,
                                                         const std::string& path) = 0;
  // The first message is the stat, then chunks.
  virtual std::unique_ptr<ReadStream<storage::v1::ArchiveContainerPathResponse>> ArchivePath(
      const storage::v1::ContainerView& view, const std::string& path) = 0;
  virtual std::unique_ptr<ExtractSession> Extract(
      const storage::v1::ExtractToContainerHeader& header) = 0;
  virtual std::unique_ptr<ReadStream<types::v1::Chunk>> Export(const std::string& id) = 0;
  virtual absl::StatusOr<std::vector<storage::v1::FileChange>> Changes(const std::string& id) = 0;
  virtual absl::StatusOr<storage::v1::RootfsSizeResponse> Size(const std::string& id) = 0;
  virtual absl::StatusOr<std::map<std::string, int64_t>> VolumeUsage() = 0;
};

}  // namespace berth::apiserver
