// LayerSink over berth.storage.v1.StorageService (berth-stored). The channel
// connects lazily, so imaged starts without stored; calls made while stored
// is down fail with Unavailable "stored is unavailable: ...".
#pragma once

#include <grpcpp/grpcpp.h>

#include <memory>
#include <string>

#include "imaged/layer_sink.h"
#include "proto/storage/v1/storage.grpc.pb.h"

namespace berth::imaged {

class GrpcLayerSink : public LayerSink {
 public:
  explicit GrpcLayerSink(const std::string& socket_path);

  absl::StatusOr<LayerStat> StatLayer(const std::string& chain_id) override;
  absl::StatusOr<int64_t> ApplyLayer(const LayerHeader& header, ByteSource& tar) override;
  absl::Status RemoveLayer(const std::string& chain_id) override;

 private:
  std::unique_ptr<berth::storage::v1::StorageService::Stub> stub_;
};

}  // namespace berth::imaged
