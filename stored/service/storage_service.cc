#include "stored/service/storage_service.h"

#include "common/grpc_status.h"
#include "common/log.h"
#include "stored/service/commit.h"

namespace berth::stored {
namespace {

using storage::v1::ApplyLayerRequest;

// The chunks following the header, as the extractor pulls them. With
// parent_pending the tar ends at a tar_end message, and the stream then
// carries the go-ahead to publish.
class StreamSource final : public layers::ByteSource {
 public:
  StreamSource(grpc::ServerContext* context, grpc::ServerReader<ApplyLayerRequest>* reader,
               bool parent_pending)
      : context_(context), reader_(reader), parent_pending_(parent_pending) {}

  absl::StatusOr<bool> Next(std::string* chunk) override {
    if (tar_ended_) return false;
    ApplyLayerRequest request;
    while (reader_->Read(&request)) {
      if (parent_pending_ && request.part_case() == ApplyLayerRequest::kTarEnd) {
        tar_ended_ = true;
        return false;
      }
      if (request.part_case() != ApplyLayerRequest::kChunk) {
        return absl::InvalidArgumentError("ApplyLayer: expected a chunk of the layer");
      }
      // Empty chunks are legal; skip them rather than signalling the end.
      if (request.chunk().data().empty()) continue;
      chunk->swap(*request.mutable_chunk()->mutable_data());
      return true;
    }
    if (context_->IsCancelled()) return absl::CancelledError("ApplyLayer: client cancelled");
    // Without its tar_end the stream was cut short: the client gave up.
    if (parent_pending_) return absl::CancelledError("ApplyLayer: the layer was abandoned");
    return false;
  }

  // Blocks until the client's go-ahead; an error when the stream ends
  // without it (the client gave the layer up, e.g. its parent failed).
  absl::Status AwaitPublish() {
    if (!tar_ended_) {
      return absl::InvalidArgumentError("ApplyLayer: data after the end of the layer tar");
    }
    ApplyLayerRequest request;
    if (!reader_->Read(&request)) {
      return absl::CancelledError("ApplyLayer: the layer was abandoned before its parent was");
    }
    if (request.part_case() != ApplyLayerRequest::kPublish || !request.publish()) {
      return absl::InvalidArgumentError("ApplyLayer: expected publish after the layer tar");
    }
    return absl::OkStatus();
  }

 private:
  grpc::ServerContext* context_;
  grpc::ServerReader<ApplyLayerRequest>* reader_;
  const bool parent_pending_;
  bool tar_ended_ = false;
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

ContainerViewSpec FromProto(const storage::v1::ContainerView& view) {
  ContainerViewSpec spec;
  spec.container_id = view.container_id();
  spec.pid = view.pid();
  spec.read_only_rootfs = view.read_only_rootfs();
  for (const storage::v1::ContainerMount& m : view.mounts()) {
    spec.mounts.push_back({m.source(), m.volume(), m.destination(), m.read_only()});
  }
  return spec;
}

void ToProto(const containerfs::PathStat& stat, storage::v1::PathStat* out) {
  out->set_name(stat.name);
  out->set_size(stat.size);
  out->set_mode(stat.mode);
  out->set_mtime_sec(stat.mtime_sec);
  out->set_mtime_nsec(stat.mtime_nsec);
  out->set_link_target(stat.link_target);
}

// Archive bytes into a server stream, in the 1 MiB chunks they arrive in.
template <typename Message>
class StreamSink final : public containerfs::ByteSink {
 public:
  using Fill = void (*)(Message*, const char*, size_t);
  StreamSink(grpc::ServerWriter<Message>* writer, Fill fill) : writer_(writer), fill_(fill) {}
  absl::Status Write(const char* data, size_t size) override {
    Message message;
    fill_(&message, data, size);
    if (!writer_->Write(message)) return absl::CancelledError("the client went away");
    return absl::OkStatus();
  }

 private:
  grpc::ServerWriter<Message>* writer_;
  Fill fill_;
};

class ExtractSource final : public layers::ByteSource {
 public:
  ExtractSource(grpc::ServerContext* context,
                grpc::ServerReader<storage::v1::ExtractToContainerRequest>* reader)
      : context_(context), reader_(reader) {}

  absl::StatusOr<bool> Next(std::string* chunk) override {
    storage::v1::ExtractToContainerRequest request;
    while (reader_->Read(&request)) {
      if (request.part_case() != storage::v1::ExtractToContainerRequest::kChunk) {
        return absl::InvalidArgumentError("ExtractToContainer: a header after the first message");
      }
      if (request.chunk().data().empty()) continue;
      chunk->swap(*request.mutable_chunk()->mutable_data());
      return true;
    }
    if (context_->IsCancelled()) return absl::CancelledError("the client went away");
    return false;
  }

 private:
  grpc::ServerContext* context_;
  grpc::ServerReader<storage::v1::ExtractToContainerRequest>* reader_;
};

absl::Status NoFiles() {
  return absl::UnimplementedError("stored was started without container file access");
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
  StreamSource source(context, reader, first.header().parent_pending());
  if (first.header().parent_pending()) {
    header.parent_pending = true;
    header.await_publish = [&source] { return source.AwaitPublish(); };
  }
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

grpc::Status StorageService::MountRootfs(grpc::ServerContext* context,
                                         const storage::v1::MountRootfsRequest* request,
                                         storage::v1::MountRootfsResponse* response) {
  absl::StatusOr<std::string> path =
      storage_->MountRootfs(request->container_id(), [context] { return context->IsCancelled(); });
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

void StorageService::Publish(const std::string& action, const std::string& volume,
                             std::map<std::string, std::string> attributes) {
  if (events_ != nullptr) events_->Publish("volume", action, volume, std::move(attributes));
}

grpc::Status StorageService::CreateVolume(grpc::ServerContext*,
                                          const storage::v1::CreateVolumeRequest* request,
                                          storage::v1::CreateVolumeResponse* response) {
  absl::StatusOr<volumes::Volume> volume = storage_->volumes().Create(
      request->name(), FromProto(request->labels()), FromProto(request->options()), false);
  if (!volume.ok()) return ToGrpcStatus(volume.status());
  ToProto(*volume, response->mutable_volume());
  Publish("create", volume->name, {{"driver", "local"}});
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
  absl::Status status = storage_->volumes().Remove(request->name(), request->force());
  if (status.ok()) Publish("destroy", request->name(), {{"driver", "local"}});
  return ToGrpcStatus(status);
}

grpc::Status StorageService::PruneVolumes(grpc::ServerContext*,
                                          const storage::v1::PruneVolumesRequest* request,
                                          storage::v1::PruneVolumesResponse* response) {
  absl::StatusOr<volumes::PruneReport> report = storage_->volumes().Prune(request->all());
  if (!report.ok()) return ToGrpcStatus(report.status());
  for (const std::string& name : report->deleted) {
    response->add_deleted(name);
    Publish("destroy", name, {{"driver", "local"}});
  }
  response->set_space_reclaimed(report->space_reclaimed);
  Publish("prune", "", {{"reclaimed", std::to_string(report->space_reclaimed)}});
  return grpc::Status::OK;
}

grpc::Status StorageService::AcquireVolume(grpc::ServerContext*,
                                           const storage::v1::AcquireVolumeRequest* request,
                                           storage::v1::AcquireVolumeResponse* response) {
  // Docker reports the volumes a container creates for itself too.
  const bool existed = !request->name().empty() && storage_->volumes().Get(request->name()).ok();
  absl::StatusOr<volumes::Volume> volume =
      storage_->volumes().Acquire(request->name(), request->container_id(), request->anonymous());
  if (!volume.ok()) return ToGrpcStatus(volume.status());
  if (!existed) Publish("create", volume->name, {{"driver", "local"}});
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
  Publish("mount", request->name(),
          {{"container", request->container_id()},
           {"destination", request->container_path()},
           {"driver", "local"}});
  return grpc::Status::OK;
}

grpc::Status StorageService::ReleaseVolume(grpc::ServerContext*,
                                           const storage::v1::ReleaseVolumeRequest* request,
                                           storage::v1::ReleaseVolumeResponse*) {
  absl::Status status = storage_->volumes().Release(request->name(), request->container_id(),
                                                    request->remove_anonymous());
  if (status.ok()) {
    Publish("unmount", request->name(),
            {{"container", request->container_id()}, {"driver", "local"}});
  }
  return ToGrpcStatus(status);
}

grpc::Status StorageService::StatContainerPath(grpc::ServerContext*,
                                               const storage::v1::StatContainerPathRequest* request,
                                               storage::v1::StatContainerPathResponse* response) {
  if (files_ == nullptr) return ToGrpcStatus(NoFiles());
  absl::StatusOr<containerfs::PathStat> stat =
      files_->Stat(FromProto(request->container()), request->path());
  if (!stat.ok()) return ToGrpcStatus(stat.status());
  ToProto(*stat, response->mutable_stat());
  return grpc::Status::OK;
}

grpc::Status StorageService::ArchiveContainerPath(
    grpc::ServerContext*, const storage::v1::ArchiveContainerPathRequest* request,
    grpc::ServerWriter<storage::v1::ArchiveContainerPathResponse>* writer) {
  if (files_ == nullptr) return ToGrpcStatus(NoFiles());
  using Response = storage::v1::ArchiveContainerPathResponse;
  StreamSink<Response> sink(writer, [](Response* m, const char* data, size_t size) {
    m->mutable_chunk()->set_data(data, size);
  });
  absl::Status status = files_->Archive(
      FromProto(request->container()), request->path(),
      [&](const containerfs::PathStat& stat) -> absl::Status {
        Response first;
        ToProto(stat, first.mutable_stat());
        if (!writer->Write(first)) return absl::CancelledError("the client went away");
        return absl::OkStatus();
      },
      sink);
  return ToGrpcStatus(status);
}

grpc::Status StorageService::ExtractToContainer(
    grpc::ServerContext* context,
    grpc::ServerReader<storage::v1::ExtractToContainerRequest>* reader,
    storage::v1::ExtractToContainerResponse*) {
  if (files_ == nullptr) return ToGrpcStatus(NoFiles());
  storage::v1::ExtractToContainerRequest first;
  if (!reader->Read(&first) ||
      first.part_case() != storage::v1::ExtractToContainerRequest::kHeader) {
    return ToGrpcStatus(
        absl::InvalidArgumentError("ExtractToContainer: the first message must be the header"));
  }
  const storage::v1::ExtractToContainerHeader& header = first.header();
  containerfs::ExtractOptions options;
  options.no_overwrite_dir_non_dir = header.no_overwrite_dir_non_dir();
  options.keep_owners = header.copy_uid_gid();
  options.uid = header.uid();
  options.gid = header.gid();
  options.owner = header.owner();
  ExtractSource source(context, reader);
  return ToGrpcStatus(
      files_->Extract(FromProto(header.container()), header.path(), options, source));
}

grpc::Status StorageService::ExportRootfs(grpc::ServerContext*,
                                          const storage::v1::ExportRootfsRequest* request,
                                          grpc::ServerWriter<types::v1::Chunk>* writer) {
  if (files_ == nullptr) return ToGrpcStatus(NoFiles());
  StreamSink<types::v1::Chunk> sink(
      writer, [](types::v1::Chunk* m, const char* data, size_t size) { m->set_data(data, size); });
  return ToGrpcStatus(files_->Export(request->container_id(), sink));
}

grpc::Status StorageService::ExportChanges(grpc::ServerContext*,
                                           const storage::v1::ExportChangesRequest* request,
                                           grpc::ServerWriter<types::v1::Chunk>* writer) {
  absl::StatusOr<Storage::RootfsPaths> paths = storage_->Rootfs(request->container_id());
  if (!paths.ok()) return ToGrpcStatus(paths.status());
  std::vector<std::string> excluded = DefaultCommitExclusions();
  excluded.insert(excluded.end(), request->excluded_paths().begin(),
                  request->excluded_paths().end());
  StreamSink<types::v1::Chunk> sink(
      writer, [](types::v1::Chunk* m, const char* data, size_t size) { m->set_data(data, size); });
  return ToGrpcStatus(WriteLayerDiff(paths->overlay.upper_dir, excluded, sink, remap_));
}

grpc::Status StorageService::ContainerChanges(grpc::ServerContext*,
                                              const storage::v1::ContainerChangesRequest* request,
                                              storage::v1::ContainerChangesResponse* response) {
  absl::StatusOr<std::vector<containerfs::Change>> changes =
      storage_->Changes(request->container_id());
  if (!changes.ok()) return ToGrpcStatus(changes.status());
  for (const containerfs::Change& change : *changes) {
    storage::v1::FileChange* out = response->add_changes();
    out->set_path(change.path);
    out->set_kind(static_cast<int32_t>(change.kind));
  }
  return grpc::Status::OK;
}

grpc::Status StorageService::RootfsSize(grpc::ServerContext*,
                                        const storage::v1::RootfsSizeRequest* request,
                                        storage::v1::RootfsSizeResponse* response) {
  absl::StatusOr<Storage::RootfsSize> size = storage_->Size(request->container_id());
  if (!size.ok()) return ToGrpcStatus(size.status());
  response->set_size_rw(size->rw);
  response->set_size_root_fs(size->root_fs);
  return grpc::Status::OK;
}

grpc::Status StorageService::VolumeUsage(grpc::ServerContext*,
                                         const storage::v1::VolumeUsageRequest*,
                                         storage::v1::VolumeUsageResponse* response) {
  absl::StatusOr<std::map<std::string, int64_t>> sizes = storage_->VolumeUsage();
  if (!sizes.ok()) return ToGrpcStatus(sizes.status());
  for (const auto& [name, size] : *sizes) (*response->mutable_sizes())[name] = size;
  return grpc::Status::OK;
}

}  // namespace berth::stored
