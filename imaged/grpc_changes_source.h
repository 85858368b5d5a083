// ContainerChangesSource over stored's ExportChanges. Lazily connected:
// stored being down is Unavailable "stored is unavailable: ...".
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "imaged/commit.h"
#include "proto/storage/v1/storage.grpc.pb.h"

namespace berth::imaged {

class GrpcChangesSource : public ContainerChangesSource {
 public:
  explicit GrpcChangesSource(const std::string& socket_path);

  absl::StatusOr<std::unique_ptr<ByteSource>> OpenChanges(
      const std::string& container_id, const std::vector<std::string>& excluded) override;

 private:
  std::unique_ptr<berth::storage::v1::StorageService::Stub> stub_;
};

}  // namespace berth::imaged
