// A container's files, kept by stored: docker cp (HEAD/GET/PUT
// /containers/{id}/archive), docker diff (/changes), docker export, the size
// fields of ps -s and inspect --size, and docker system df.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "apiserver/backends/backends.h"
#include "apiserver/backends/files_backend.h"
#include "apiserver/router.h"
#include "common/json.h"

namespace berth::apiserver {

class FileHandlers {
 public:
  // Backends are not owned.
  FileHandlers(ContainerBackend* containers, ImageBackend* images, VolumeBackend* volumes,
               ContainerFilesBackend* files)
      : containers_(containers), images_(images), volumes_(volumes), files_(files) {}

  void Register(Router& router);

  absl::Status StatPath(Exchange& exchange, const std::string& name);
  absl::Status GetArchive(Exchange& exchange, const std::string& name);
  absl::Status PutArchive(Exchange& exchange, const std::string& name);
  absl::Status Changes(Exchange& exchange, const std::string& name);
  absl::Status Export(Exchange& exchange, const std::string& name);
  absl::Status DiskUsage(Exchange& exchange);

  // Adds SizeRw and SizeRootFs to a container summary or inspect object.
  void AddSize(const runtime::v1::Container& container, Json& out);
  // system df's BuildCache list, once builds are enabled.
  void set_build_cache_usage(std::function<absl::StatusOr<Json>()> usage) {
    build_cache_usage_ = std::move(usage);
  }

 private:
  ContainerBackend* containers_;
  ImageBackend* images_;
  VolumeBackend* volumes_;
  ContainerFilesBackend* files_;
  std::function<absl::StatusOr<Json>()> build_cache_usage_;
};

// The container's filesystem view for stored: its mounts (volumes, binds)
// and, while it runs, its pid.
absl::StatusOr<storage::v1::ContainerView> ContainerViewOf(const runtime::v1::Container& container);

// docker system df's image sizes: a layer held by several images counts
// once in the total and is each one's SharedSize, as Moby counts them.
struct ImageDiskUsage {
  // Per image, in the order given: the bytes of its layers other images use too.
  std::vector<int64_t> shared_sizes;
  // The distinct layers of all images.
  int64_t layers_size = 0;
};
ImageDiskUsage ImageLayerUsage(const std::vector<image::v1::Image>& images);

// Go's os.FileMode bits for a st_mode, as Docker's path stat carries them.
uint32_t GoFileMode(uint32_t st_mode);

// The X-Docker-Container-Path-Stat header value: base64url(JSON).
std::string PathStatHeader(const storage::v1::PathStat& stat);

}  // namespace berth::apiserver
