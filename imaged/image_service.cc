#include "imaged/image_service.h"

#include <algorithm>
#include <cstring>

#include "common/grpc_status.h"
#include "common/reference.h"
#include "common/status.h"

namespace berth::imaged {
namespace {

namespace pb = berth::image::v1;

void ToProto(const ImageInfo& info, pb::Image* image) {
  image->set_id(info.id);
  for (const std::string& tag : info.repo_tags) image->add_repo_tags(tag);
  for (const std::string& digest : info.repo_digests) image->add_repo_digests(digest);
  image->set_config_json(info.config_json);
  for (const std::string& chain : info.chain_ids) image->add_chain_ids(chain);
  for (const std::string& diff : info.diff_ids) image->add_diff_ids(diff);
  for (int64_t size : info.layer_sizes) image->add_layer_sizes(size);
  image->set_size(info.size);
  image->set_created(info.created);
  image->set_parent(info.parent);
  for (const auto& [key, value] : info.labels) (*image->mutable_labels())[key] = value;
}

// The archive after the options message: the data of each chunk message.
template <typename Request, typename Reader>
class ChunkSource : public ByteSource {
 public:
  ChunkSource(Reader* reader, std::string first) : reader_(reader), current_(std::move(first)) {}
  absl::StatusOr<size_t> Read(char* buffer, size_t n) override {
    while (offset_ == current_.size()) {
      if (done_) return 0;
      Request request;
      if (!reader_->Read(&request)) {
        done_ = true;
        return 0;
      }
      if (!request.has_chunk()) {
        return absl::InvalidArgumentError("expected a chunk after the options message");
      }
      current_ = std::move(*request.mutable_chunk()->mutable_data());
      offset_ = 0;
    }
    size_t count = std::min(n, current_.size() - offset_);
    std::memcpy(buffer, current_.data() + offset_, count);
    offset_ += count;
    return count;
  }

 private:
  Reader* reader_;
  std::string current_;
  size_t offset_ = 0;
  bool done_ = false;
};

// Gathers the archive into chunks of kChunkSize for the client stream.
class ChunkSink : public ByteSink {
 public:
  static constexpr size_t kChunkSize = 1 << 20;
  explicit ChunkSink(grpc::ServerWriter<berth::types::v1::Chunk>* writer) : writer_(writer) {}
  absl::Status Write(absl::string_view data) override {
    while (!data.empty()) {
      size_t take = std::min(data.size(), kChunkSize - pending_.size());
      pending_.append(data.data(), take);
      data.remove_prefix(take);
      if (pending_.size() == kChunkSize) RETURN_IF_ERROR(Flush());
    }
    return absl::OkStatus();
  }
  absl::Status Flush() {
    if (pending_.empty()) return absl::OkStatus();
    berth::types::v1::Chunk chunk;
    chunk.set_data(std::move(pending_));
    pending_.clear();
    if (!writer_->Write(chunk)) return absl::CancelledError("the client went away");
    return absl::OkStatus();
  }

 private:
  grpc::ServerWriter<berth::types::v1::Chunk>* writer_;
  std::string pending_;
};

registry::Credentials ToCredentials(const pb::RegistryAuth& auth) {
  registry::Credentials credentials;
  credentials.username = auth.username();
  credentials.password = auth.password();
  credentials.identity_token = auth.identity_token();
  credentials.registry_token = auth.registry_token();
  return credentials;
}

ProgressSink StreamSink(grpc::ServerWriter<pb::Progress>* writer) {
  return [writer](const ProgressEvent& event) {
    pb::Progress progress;
    progress.set_status(event.status);
    progress.set_id(event.id);
    progress.set_current(event.current);
    progress.set_total(event.total);
    progress.set_aux_json(event.aux_json);
    // False when the client went away: the pull or push is then cancelled.
    return writer->Write(progress);
  };
}

absl::Status NoDistribution() {
  return absl::UnimplementedError("registry operations are not enabled in this imaged");
}

}  // namespace

std::string ImageService::IdOf(const std::string& reference) {
  absl::StatusOr<ImageInfo> info = store_->Get(reference);
  return info.ok() ? info->id : "";
}

void ImageService::Publish(const std::string& action, const std::string& id,
                           const std::string& name) {
  if (events_ == nullptr) return;
  std::map<std::string, std::string> attributes;
  if (!name.empty()) attributes["name"] = name;
  events_->Publish("image", action, id, std::move(attributes));
}

grpc::Status ImageService::PullImage(grpc::ServerContext* /*context*/,
                                     const pb::PullImageRequest* request,
                                     grpc::ServerWriter<pb::Progress>* writer) {
  if (distribution_ == nullptr) return ToGrpcStatus(NoDistribution());
  absl::Status status = distribution_->Pull(request->reference(), request->platform(),
                                            ToCredentials(request->auth()), StreamSink(writer));
  if (status.ok()) Publish("pull", request->reference(), request->reference());
  return ToGrpcStatus(status);
}

grpc::Status ImageService::PushImage(grpc::ServerContext* /*context*/,
                                     const pb::PushImageRequest* request,
                                     grpc::ServerWriter<pb::Progress>* writer) {
  if (distribution_ == nullptr) return ToGrpcStatus(NoDistribution());
  absl::Status status =
      distribution_->Push(request->reference(), ToCredentials(request->auth()), StreamSink(writer));
  if (status.ok()) Publish("push", request->reference(), request->reference());
  return ToGrpcStatus(status);
}

grpc::Status ImageService::Login(grpc::ServerContext* /*context*/, const pb::LoginRequest* request,
                                 pb::LoginResponse* response) {
  if (distribution_ == nullptr) return ToGrpcStatus(NoDistribution());
  absl::StatusOr<std::string> identity_token =
      distribution_->Login(request->auth().server_address(), ToCredentials(request->auth()));
  if (!identity_token.ok()) return ToGrpcStatus(identity_token.status());
  response->set_status("Login Succeeded");
  response->set_identity_token(*identity_token);
  return grpc::Status::OK;
}

grpc::Status ImageService::InspectDistribution(grpc::ServerContext* /*context*/,
                                               const pb::InspectDistributionRequest* request,
                                               pb::InspectDistributionResponse* response) {
  if (distribution_ == nullptr) return ToGrpcStatus(NoDistribution());
  absl::StatusOr<Distribution::RemoteImage> remote =
      distribution_->Inspect(request->reference(), ToCredentials(request->auth()));
  if (!remote.ok()) return ToGrpcStatus(remote.status());
  response->set_media_type(remote->descriptor.media_type);
  response->set_digest(remote->descriptor.digest);
  response->set_size(remote->descriptor.size);
  for (const registry::Platform& platform : remote->platforms) {
    pb::DistributionPlatform* out = response->add_platforms();
    out->set_os(platform.os);
    out->set_architecture(platform.architecture);
    out->set_variant(platform.variant);
  }
  return grpc::Status::OK;
}

grpc::Status ImageService::SaveImages(grpc::ServerContext* /*context*/,
                                      const pb::SaveImagesRequest* request,
                                      grpc::ServerWriter<berth::types::v1::Chunk>* writer) {
  std::vector<std::string> names(request->references().begin(), request->references().end());
  if (names.empty()) return ToGrpcStatus(absl::InvalidArgumentError("no image names given"));
  ChunkSink sink(writer);
  absl::Status status = store_->Save(names, sink);
  if (status.ok()) status = sink.Flush();
  if (status.ok()) {
    for (const std::string& name : names) Publish("save", IdOf(name), name);
  }
  return ToGrpcStatus(status);
}

grpc::Status ImageService::GetImage(grpc::ServerContext* context,
                                    const pb::GetImageRequest* request,
                                    pb::GetImageResponse* response) {
  absl::StatusOr<ImageInfo> info = store_->Get(request->reference());
  if (!info.ok()) return ToGrpcStatus(info.status());
  ToProto(*info, response->mutable_image());
  berth::types::v1::ImageSpec* spec = response->mutable_spec();
  spec->set_id(info->id);
  spec->set_reference(request->reference());
  spec->set_config_json(info->config_json);
  spec->set_top_chain_id(info->top_chain_id());
  return grpc::Status::OK;
}

grpc::Status ImageService::ListImages(grpc::ServerContext* context,
                                      const pb::ListImagesRequest* request,
                                      pb::ListImagesResponse* response) {
  absl::StatusOr<std::vector<ImageInfo>> images = store_->List();
  if (!images.ok()) return ToGrpcStatus(images.status());
  for (const ImageInfo& info : *images) ToProto(info, response->add_images());
  return grpc::Status::OK;
}

grpc::Status ImageService::LoadImages(
    grpc::ServerContext* context,
    grpc::ServerReaderWriter<pb::Progress, pb::LoadImagesRequest>* stream) {
  pb::LoadImagesRequest first;
  if (!stream->Read(&first)) {
    return ToGrpcStatus(absl::InvalidArgumentError("empty load request"));
  }
  // The options message may be left out: then the first message is archive data.
  ChunkSource<pb::LoadImagesRequest, grpc::ServerReaderWriter<pb::Progress, pb::LoadImagesRequest>>
      source(stream, first.has_chunk() ? first.chunk().data() : "");
  absl::StatusOr<std::vector<std::string>> ids = store_->Load(source, [&](const std::string& line) {
    pb::Progress progress;
    progress.set_stream(line);
    stream->Write(progress);
  });
  if (ids.ok()) {
    for (const std::string& id : *ids) Publish("load", id, "");
  }
  return ToGrpcStatus(ids.status());
}

grpc::Status ImageService::ImportImage(grpc::ServerContext* context,
                                       grpc::ServerReader<pb::ImportImageRequest>* reader,
                                       pb::ImportImageResponse* response) {
  pb::ImportImageRequest first;
  if (!reader->Read(&first) || !first.has_options()) {
    return ToGrpcStatus(absl::InvalidArgumentError("the first message must carry the options"));
  }
  ImportOptions options;
  options.repository = first.options().repository();
  options.tag = first.options().tag();
  options.changes.assign(first.options().changes().begin(), first.options().changes().end());
  options.message = first.options().message();
  options.platform = first.options().platform();
  ChunkSource<pb::ImportImageRequest, grpc::ServerReader<pb::ImportImageRequest>> source(reader,
                                                                                         "");
  absl::StatusOr<std::string> id = store_->Import(options, source);
  if (!id.ok()) return ToGrpcStatus(id.status());
  response->set_id(*id);
  Publish("import", *id, "");
  return grpc::Status::OK;
}

grpc::Status ImageService::TagImage(grpc::ServerContext* context,
                                    const pb::TagImageRequest* request,
                                    pb::TagImageResponse* response) {
  absl::Status status = store_->Tag(request->source(), request->repository(), request->tag());
  if (status.ok()) {
    // Events name images in their familiar form, as the user writes them.
    const std::string target =
        request->repository() + ":" + (request->tag().empty() ? "latest" : request->tag());
    absl::StatusOr<Reference> parsed = Reference::ParseNormalized(target);
    Publish("tag", IdOf(request->source()), parsed.ok() ? parsed->FamiliarString() : target);
  }
  return ToGrpcStatus(status);
}

grpc::Status ImageService::RemoveImage(grpc::ServerContext* context,
                                       const pb::RemoveImageRequest* request,
                                       pb::RemoveImageResponse* response) {
  ImageUsers users;
  for (const pb::ImageUser& user : request->image_users()) {
    users.Add(user.image_id(), user.container_id(), user.running());
  }
  for (const std::string& image : request->images_in_use()) {
    if (!users.Uses(image)) users.Add(image, "", /*running=*/false);
  }
  const std::string id = IdOf(request->reference());
  absl::StatusOr<std::vector<DeleteItem>> items =
      store_->Remove(request->reference(), request->force(), users, !request->no_prune());
  if (!items.ok()) return ToGrpcStatus(items.status());
  for (const DeleteItem& item : *items) {
    pb::ImageDeleteItem* out = response->add_items();
    out->set_untagged(item.untagged);
    out->set_deleted(item.deleted);
    if (!item.untagged.empty()) Publish("untag", id, item.untagged);
    if (!item.deleted.empty()) Publish("delete", item.deleted, "");
  }
  return grpc::Status::OK;
}

grpc::Status ImageService::CommitContainer(grpc::ServerContext*,
                                           const berth::image::v1::CommitContainerRequest* request,
                                           berth::image::v1::CommitContainerResponse* response) {
  if (committer_ == nullptr) {
    return ToGrpcStatus(absl::UnimplementedError("commit is not supported"));
  }
  CommitOptions options;
  options.container_id = request->container_id();
  options.image_id = request->image_id();
  if (!request->config_json().empty()) {
    absl::StatusOr<Json> config = ParseJson(request->config_json());
    if (!config.ok()) return ToGrpcStatus(config.status());
    options.container_config = std::move(*config);
  }
  options.excluded_paths.assign(request->excluded_paths().begin(), request->excluded_paths().end());
  options.repository = request->repository();
  options.tag = request->tag();
  options.comment = request->comment();
  options.author = request->author();
  options.changes.assign(request->changes().begin(), request->changes().end());
  absl::StatusOr<std::string> id = committer_->Commit(options);
  if (!id.ok()) return ToGrpcStatus(id.status());
  response->set_id(*id);
  return grpc::Status::OK;
}

namespace {

// The context chunks that follow the parameters, as the extractor pulls them.
class BuildContextSource : public ByteSource {
 public:
  explicit BuildContextSource(grpc::ServerReaderWriter<berth::image::v1::BuildResponse,
                                                       berth::image::v1::BuildRequest>* stream)
      : stream_(stream) {}
  absl::StatusOr<size_t> Read(char* buffer, size_t n) override {
    while (offset_ == chunk_.size()) {
      if (done_) return size_t{0};
      berth::image::v1::BuildRequest request;
      if (!stream_->Read(&request)) {
        done_ = true;
        return size_t{0};
      }
      if (request.part_case() != berth::image::v1::BuildRequest::kContext) {
        return absl::InvalidArgumentError("Build: parameters after the first message");
      }
      chunk_ = std::move(*request.mutable_context());
      offset_ = 0;
      complete_ = request.context_complete();
    }
    size_t count = std::min(n, chunk_.size() - offset_);
    std::memcpy(buffer, chunk_.data() + offset_, count);
    offset_ += count;
    return count;
  }
  bool Drained() override { return done_ || (complete_ && offset_ == chunk_.size()); }

 private:
  grpc::ServerReaderWriter<berth::image::v1::BuildResponse, berth::image::v1::BuildRequest>*
      stream_;
  std::string chunk_;
  size_t offset_ = 0;
  bool done_ = false;
  // The client marked chunk_ as the context's last.
  bool complete_ = false;
};

}  // namespace

grpc::Status ImageService::Build(grpc::ServerContext* context,
                                 grpc::ServerReaderWriter<berth::image::v1::BuildResponse,
                                                          berth::image::v1::BuildRequest>* stream) {
  if (builder_ == nullptr) return ToGrpcStatus(absl::UnimplementedError("build is not supported"));
  berth::image::v1::BuildRequest first;
  if (!stream->Read(&first) || first.part_case() != berth::image::v1::BuildRequest::kParameters) {
    return ToGrpcStatus(absl::InvalidArgumentError("Build: the parameters come first"));
  }
  const berth::image::v1::BuildParameters& p = first.parameters();
  BuildParams params;
  params.options.tags.assign(p.tags().begin(), p.tags().end());
  for (const auto& [key, value] : p.build_args()) {
    params.options.build_args[key] =
        value.null() ? std::nullopt : std::optional<std::string>(value.value());
  }
  params.options.labels.insert(p.labels().begin(), p.labels().end());
  params.options.target = p.target();
  params.options.no_cache = p.no_cache();
  params.options.cache_from.assign(p.cache_from().begin(), p.cache_from().end());
  params.options.keep_containers = p.keep_containers();
  params.options.force_rm = p.force_rm();
  params.options.pull = p.pull();
  params.options.platform = p.platform();
  if (!p.host_config_json().empty()) {
    absl::StatusOr<Json> host_config = ParseJson(p.host_config_json());
    if (!host_config.ok()) return ToGrpcStatus(host_config.status());
    params.options.host_config = std::move(*host_config);
  }
  params.options.cancelled = [context] { return context->IsCancelled(); };
  params.dockerfile = p.dockerfile();
  params.quiet = p.quiet();
  BuildContextSource source(stream);
  auto writer = [stream](grpc::WriteOptions options) {
    return [stream, options](const std::string& bytes) {
      berth::image::v1::BuildResponse response;
      response.set_json_lines(bytes);
      if (!stream->Write(response, options)) return absl::CancelledError("the client went away");
      return absl::OkStatus();
    };
  };
  // The last message goes out with the status: one write, and the
  // apiserver reads the end together with it.
  absl::Status status = builder_->Build(params, source, writer(grpc::WriteOptions()),
                                        writer(grpc::WriteOptions().set_last_message()));
  return ToGrpcStatus(status);
}

}  // namespace berth::imaged
