#include "stored/service/storage_service.h"

#include "common/grpc_status.h"
#include "common/log.h"

namespace berth::stored {
namespace {

using storage::v1::ApplyLayerRequest;

// The chunks following the header, as the extractor pulls them.
class StreamSource final : public layers::ByteSource {
 public:
  StreamSource(grpc::ServerContext* context, grpc::ServerReader<ApplyLayerRequest>* reader)
      : context_(context), reader_(reader) {}

  absl::StatusOr<bool> Next(std::string* chunk) override {
    ApplyLayerRequest request;
    while (reader_->Read(&request)) {
      if (request.part_case() != ApplyLayerRequest::kChunk) {
        return absl::InvalidArgumentError("ApplyLayer: a header after the first message");
      }
      // Empty chunks are legal; skip them rather than signalling the end.
      if (request.chunk().data().empty()) continue;
      chunk->swap(*request.mutable_chunk()->mutable_data());
      return true;
    }
    if (context_->IsCancelled()) return absl::CancelledError("ApplyLayer: client cancelled");
    return false;
  }

 private:
  grpc::ServerContext* context_;
  grpc::ServerReader<ApplyLayerRequest>* reader_;
};

}  // namespace

grpc::Status StorageService::StatLayer(grpc::ServerContext*,
                                       const storage::v1::StatLayerRequest* request,
                                       storage::v1::StatLayerResponse* response) {
  absl::StatusOr<std::optional<LayerInfo>> layer = storage_->StatLayer(request->chain_id());
  if (!layer.ok()) return ToGrpcStatus(layer.status());
  response->set_exists(layer->has_value());
  if (*layer) response->set_size((*layer)->size);
  return grpc::Status::OK;
}

grpc::Status StorageService::ApplyLayer(grpc::ServerContext* context,
                                        grpc::ServerReader<ApplyLayerRequest>* reader,
                                        storage::v1::ApplyLayerResponse* response) {
  ApplyLayerRequest first;
  if (!reader->Read(&first) || first.part_case() != ApplyLayerRequest::kHeader) {
    return ToGrpcStatus(
        absl::InvalidArgumentError("ApplyLayer: the first message must be the header"));
  }
  ApplyLayerHeader header{first.header().chain_id(), first.header().parent_chain_id(),
                          first.header().diff_id()};
  StreamSource source(context, reader);
  absl::StatusOr<LayerInfo> layer = storage_->ApplyLayer(header, source);
  if (!layer.ok()) {
    spdlog::warn("apply layer {}: {}", header.chain_id, layer.status().ToString());
    return ToGrpcStatus(layer.status());
  }
  response->set_chain_id(layer->chain_id);
  response->set_size(layer->size);
  return grpc::Status::OK;
}

grpc::Status StorageService::RemoveLayer(grpc::ServerContext*,
                                         const storage::v1::RemoveLayerRequest* request,
                                         storage::v1::RemoveLayerResponse*) {
  return ToGrpcStatus(storage_->RemoveLayer(request->chain_id()));
}

grpc::Status StorageService::PrepareRootfs(grpc::ServerContext*,
                                           const storage::v1::PrepareRootfsRequest* request,
                                           storage::v1::PrepareRootfsResponse*) {
  return ToGrpcStatus(storage_->PrepareRootfs(request->container_id(), request->parent_chain_id()));
}

grpc::Status StorageService::MountRootfs(grpc::ServerContext*,
                                         const storage::v1::MountRootfsRequest* request,
                                         storage::v1::MountRootfsResponse* response) {
  absl::StatusOr<std::string> path = storage_->MountRootfs(request->container_id());
  if (!path.ok()) return ToGrpcStatus(path.status());
  response->set_path(*path);
  return grpc::Status::OK;
}

grpc::Status StorageService::UnmountRootfs(grpc::ServerContext*,
                                           const storage::v1::UnmountRootfsRequest* request,
                                           storage::v1::UnmountRootfsResponse*) {
  return ToGrpcStatus(storage_->UnmountRootfs(request->container_id()));
}

grpc::Status StorageService::RemoveRootfs(grpc::ServerContext*,
                                          const storage::v1::RemoveRootfsRequest* request,
                                          storage::v1::RemoveRootfsResponse*) {
  return ToGrpcStatus(storage_->RemoveRootfs(request->container_id()));
}

}  // namespace berth::stored
