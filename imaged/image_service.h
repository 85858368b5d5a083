// berth.image.v1.ImageService: converts messages and errors, nothing more;
// the logic is in ImageStore.
#pragma once

#include "common/event_journal.h"
#include "imaged/build_service.h"
#include "imaged/commit.h"
#include "imaged/distribution.h"
#include "imaged/image_store.h"
#include "proto/image/v1/image.grpc.pb.h"

namespace berth::imaged {

class ImageService final : public berth::image::v1::ImageService::Service {
 public:
  // distribution may be null: then pull, push and login are Unimplemented.
  explicit ImageService(ImageStore* store, Distribution* distribution = nullptr)
      : store_(store), distribution_(distribution) {}
  // Image events (pull, push, load, import, tag, untag, delete, save) go here.
  void set_events(EventJournal* events) { events_ = events; }

  grpc::Status GetImage(grpc::ServerContext* context,
                        const berth::image::v1::GetImageRequest* request,
                        berth::image::v1::GetImageResponse* response) override;
  grpc::Status ListImages(grpc::ServerContext* context,
                          const berth::image::v1::ListImagesRequest* request,
                          berth::image::v1::ListImagesResponse* response) override;
  grpc::Status LoadImages(
      grpc::ServerContext* context,
      grpc::ServerReaderWriter<berth::image::v1::Progress, berth::image::v1::LoadImagesRequest>*
          stream) override;
  grpc::Status ImportImage(grpc::ServerContext* context,
                           grpc::ServerReader<berth::image::v1::ImportImageRequest>* reader,
                           berth::image::v1::ImportImageResponse* response) override;
  grpc::Status TagImage(grpc::ServerContext* context,
                        const berth::image::v1::TagImageRequest* request,
                        berth::image::v1::TagImageResponse* response) override;
  grpc::Status RemoveImage(grpc::ServerContext* context,
                           const berth::image::v1::RemoveImageRequest* request,
                           berth::image::v1::RemoveImageResponse* response) override;
  grpc::Status SaveImages(grpc::ServerContext* context,
                          const berth::image::v1::SaveImagesRequest* request,
                          grpc::ServerWriter<berth::types::v1::Chunk>* writer) override;
  grpc::Status PullImage(grpc::ServerContext* context,
                         const berth::image::v1::PullImageRequest* request,
                         grpc::ServerWriter<berth::image::v1::Progress>* writer) override;
  grpc::Status PushImage(grpc::ServerContext* context,
                         const berth::image::v1::PushImageRequest* request,
                         grpc::ServerWriter<berth::image::v1::Progress>* writer) override;
  grpc::Status Login(grpc::ServerContext* context, const berth::image::v1::LoginRequest* request,
                     berth::image::v1::LoginResponse* response) override;
  grpc::Status InspectDistribution(
      grpc::ServerContext* context, const berth::image::v1::InspectDistributionRequest* request,
      berth::image::v1::InspectDistributionResponse* response) override;
  grpc::Status CommitContainer(grpc::ServerContext* context,
                               const berth::image::v1::CommitContainerRequest* request,
                               berth::image::v1::CommitContainerResponse* response) override;

  grpc::Status Build(grpc::ServerContext* context,
                     grpc::ServerReaderWriter<berth::image::v1::BuildResponse,
                                              berth::image::v1::BuildRequest>* stream) override;

  // docker commit; Unimplemented while unset.
  void set_committer(ContainerCommitter* committer) { committer_ = committer; }
  // docker build; Unimplemented while unset.
  void set_builder(BuildService* builder) { builder_ = builder; }

 private:
  ImageStore* store_;
  Distribution* distribution_;
  ContainerCommitter* committer_ = nullptr;
  BuildService* builder_ = nullptr;
  // The image's ID for an event about `reference` ("" when unknown).
  std::string IdOf(const std::string& reference);
  void Publish(const std::string& action, const std::string& id, const std::string& name);
  EventJournal* events_ = nullptr;
};

}  // namespace berth::imaged
