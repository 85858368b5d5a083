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

void ToProto(const volumes::Volume& volume, storage::v1::Volume* out) {
  out->set_name(volume.name);
  out->set_mountpoint(volume.mountpoint);
  for (const auto& [k, v] : volume.labels) (*out->mutable_labels())[k] = v;
  for (const auto& [k, v] : volume.options) (*out->mutable_options())[k] = v;
  out->set_anonymous(volume.anonymous);
  out->set_created_at(volume.created_at);
  for (const std::string& id : volume.users) out->add_container_ids(id);
}

std::map<std::string, std::string> FromProto(
    const google::protobuf::Map<std::string, std::string>& m) {
  return std::map<std::string, std::string>(m.begin(), m.end());
}

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

grpc::Status StorageService::CreateVolume(grpc::ServerContext*,
                                          const storage::v1::CreateVolumeRequest* request,
                                          storage::v1::CreateVolumeResponse* response) {
  absl::StatusOr<volumes::Volume> volume = storage_->volumes().Create(
      request->name(), FromProto(request->labels()), FromProto(request->options()), false);
  if (!volume.ok()) return ToGrpcStatus(volume.status());
  ToProto(*volume, response->mutable_volume());
  return grpc::Status::OK;
}

grpc::Status StorageService::GetVolume(grpc::ServerContext*,
                                       const storage::v1::GetVolumeRequest* request,
                                       storage::v1::GetVolumeResponse* response) {
  absl::StatusOr<volumes::Volume> volume = storage_->volumes().Get(request->name());
  if (!volume.ok()) return ToGrpcStatus(volume.status());
  ToProto(*volume, response->mutable_volume());
  return grpc::Status::OK;
}

grpc::Status StorageService::ListVolumes(grpc::ServerContext*,
                                         const storage::v1::ListVolumesRequest*,
                                         storage::v1::ListVolumesResponse* response) {
  absl::StatusOr<std::vector<volumes::Volume>> list = storage_->volumes().List();
  if (!list.ok()) return ToGrpcStatus(list.status());
  for (const volumes::Volume& volume : *list) ToProto(volume, response->add_volumes());
  return grpc::Status::OK;
}

grpc::Status StorageService::RemoveVolume(grpc::ServerContext*,
                                          const storage::v1::RemoveVolumeRequest* request,
                                          storage::v1::RemoveVolumeResponse*) {
  return ToGrpcStatus(storage_->volumes().Remove(request->name(), request->force()));
}

grpc::Status StorageService::PruneVolumes(grpc::ServerContext*,
                                          const storage::v1::PruneVolumesRequest* request,
                                          storage::v1::PruneVolumesResponse* response) {
  absl::StatusOr<volumes::PruneReport> report = storage_->volumes().Prune(request->all());
  if (!report.ok()) return ToGrpcStatus(report.status());
  for (const std::string& name : report->deleted) response->add_deleted(name);
  response->set_space_reclaimed(report->space_reclaimed);
  return grpc::Status::OK;
}

grpc::Status StorageService::AcquireVolume(grpc::ServerContext*,
                                           const storage::v1::AcquireVolumeRequest* request,
                                           storage::v1::AcquireVolumeResponse* response) {
  absl::StatusOr<volumes::Volume> volume =
      storage_->volumes().Acquire(request->name(), request->container_id(), request->anonymous());
  if (!volume.ok()) return ToGrpcStatus(volume.status());
  ToProto(*volume, response->mutable_volume());
  return grpc::Status::OK;
}

grpc::Status StorageService::MountVolume(grpc::ServerContext*,
                                         const storage::v1::MountVolumeRequest* request,
                                         storage::v1::MountVolumeResponse* response) {
  absl::StatusOr<std::string> path =
      storage_->MountVolume(request->name(), request->container_id(), request->container_path(),
                            request->copy_image_data());
  if (!path.ok()) return ToGrpcStatus(path.status());
  response->set_mountpoint(*path);
  return grpc::Status::OK;
}

grpc::Status StorageService::ReleaseVolume(grpc::ServerContext*,
                                           const storage::v1::ReleaseVolumeRequest* request,
                                           storage::v1::ReleaseVolumeResponse*) {
  return ToGrpcStatus(storage_->volumes().Release(request->name(), request->container_id(),
                                                  request->remove_anonymous()));
}

}  // namespace berth::stored
