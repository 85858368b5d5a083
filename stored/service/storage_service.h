// berth.storage.v1.StorageService over gRPC: converts messages and maps
// errors; the logic is in Storage.
#pragma once

#include <map>
#include <string>

#include "common/event_journal.h"
#include "common/userns_remap.h"
#include "proto/storage/v1/storage.grpc.pb.h"
#include "stored/service/container_files.h"
#include "stored/service/storage.h"

namespace berth::stored {

class StorageService final : public storage::v1::StorageService::Service {
 public:
  explicit StorageService(Storage* storage) : storage_(storage) {}
  // files: docker cp and export; without it those calls are Unimplemented.
  StorageService(Storage* storage, ContainerFiles* files) : storage_(storage), files_(files) {}
  // Volume events (create, destroy, mount, unmount, prune) go here.
  void set_events(EventJournal* events) { events_ = events; }
  // userns-remap: committed layers record the container's ids.
  void set_userns_remap(const UsernsRemap* remap) { remap_ = remap; }

  grpc::Status StatLayer(grpc::ServerContext* context, const storage::v1::StatLayerRequest* request,
                         storage::v1::StatLayerResponse* response) override;
  grpc::Status ApplyLayer(grpc::ServerContext* context,
                          grpc::ServerReader<storage::v1::ApplyLayerRequest>* reader,
                          storage::v1::ApplyLayerResponse* response) override;
  grpc::Status RemoveLayer(grpc::ServerContext* context,
                           const storage::v1::RemoveLayerRequest* request,
                           storage::v1::RemoveLayerResponse* response) override;
  grpc::Status PrepareRootfs(grpc::ServerContext* context,
                             const storage::v1::PrepareRootfsRequest* request,
                             storage::v1::PrepareRootfsResponse* response) override;
  grpc::Status MountRootfs(grpc::ServerContext* context,
                           const storage::v1::MountRootfsRequest* request,
                           storage::v1::MountRootfsResponse* response) override;
  grpc::Status UnmountRootfs(grpc::ServerContext* context,
                             const storage::v1::UnmountRootfsRequest* request,
                             storage::v1::UnmountRootfsResponse* response) override;
  grpc::Status RemoveRootfs(grpc::ServerContext* context,
                            const storage::v1::RemoveRootfsRequest* request,
                            storage::v1::RemoveRootfsResponse* response) override;

  grpc::Status CreateVolume(grpc::ServerContext* context,
                            const storage::v1::CreateVolumeRequest* request,
                            storage::v1::CreateVolumeResponse* response) override;
  grpc::Status GetVolume(grpc::ServerContext* context, const storage::v1::GetVolumeRequest* request,
                         storage::v1::GetVolumeResponse* response) override;
  grpc::Status ListVolumes(grpc::ServerContext* context,
                           const storage::v1::ListVolumesRequest* request,
                           storage::v1::ListVolumesResponse* response) override;
  grpc::Status RemoveVolume(grpc::ServerContext* context,
                            const storage::v1::RemoveVolumeRequest* request,
                            storage::v1::RemoveVolumeResponse* response) override;
  grpc::Status PruneVolumes(grpc::ServerContext* context,
                            const storage::v1::PruneVolumesRequest* request,
                            storage::v1::PruneVolumesResponse* response) override;
  grpc::Status AcquireVolume(grpc::ServerContext* context,
                             const storage::v1::AcquireVolumeRequest* request,
                             storage::v1::AcquireVolumeResponse* response) override;
  grpc::Status MountVolume(grpc::ServerContext* context,
                           const storage::v1::MountVolumeRequest* request,
                           storage::v1::MountVolumeResponse* response) override;
  grpc::Status ReleaseVolume(grpc::ServerContext* context,
                             const storage::v1::ReleaseVolumeRequest* request,
                             storage::v1::ReleaseVolumeResponse* response) override;

  grpc::Status StatContainerPath(grpc::ServerContext* context,
                                 const storage::v1::StatContainerPathRequest* request,
                                 storage::v1::StatContainerPathResponse* response) override;
  grpc::Status ArchiveContainerPath(
      grpc::ServerContext* context, const storage::v1::ArchiveContainerPathRequest* request,
      grpc::ServerWriter<storage::v1::ArchiveContainerPathResponse>* writer) override;
  grpc::Status ExtractToContainer(
      grpc::ServerContext* context,
      grpc::ServerReader<storage::v1::ExtractToContainerRequest>* reader,
      storage::v1::ExtractToContainerResponse* response) override;
  grpc::Status ExportRootfs(grpc::ServerContext* context,
                            const storage::v1::ExportRootfsRequest* request,
                            grpc::ServerWriter<types::v1::Chunk>* writer) override;
  grpc::Status ContainerChanges(grpc::ServerContext* context,
                                const storage::v1::ContainerChangesRequest* request,
                                storage::v1::ContainerChangesResponse* response) override;
  grpc::Status ExportChanges(grpc::ServerContext* context,
                             const storage::v1::ExportChangesRequest* request,
                             grpc::ServerWriter<types::v1::Chunk>* writer) override;
  grpc::Status RootfsSize(grpc::ServerContext* context,
                          const storage::v1::RootfsSizeRequest* request,
                          storage::v1::RootfsSizeResponse* response) override;
  grpc::Status VolumeUsage(grpc::ServerContext* context,
                           const storage::v1::VolumeUsageRequest* request,
                           storage::v1::VolumeUsageResponse* response) override;

 private:
  void Publish(const std::string& action, const std::string& volume,
               std::map<std::string, std::string> attributes);

  Storage* storage_;
  ContainerFiles* files_ = nullptr;
  EventJournal* events_ = nullptr;
  const UsernsRemap* remap_ = nullptr;
};

}  // namespace berth::stored
