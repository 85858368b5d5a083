// The Builder's executor interfaces (imaged/build/executor.h) over imaged's
// own stores, stored (layers, a RUN container's changes) and runtimed (RUN
// containers). Layers a build makes are uncompressed tars kept as blobs, so
// their blob digest is their diff ID, and reach stored through the image
// store's ApplyLayer path when the step's image is recorded.
#pragma once

#include <grpcpp/grpcpp.h>

#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <utility>

#include "imaged/build/executor.h"
#include "imaged/commit.h"
#include "imaged/content_store.h"
#include "imaged/distribution.h"
#include "imaged/image_store.h"
#include "imaged/registry/http.h"
#include "proto/runtime/v1/runtime.grpc.pb.h"

namespace berth::imaged {

// An image's files read from its layer blobs (whiteouts applied), as a
// SourceTree. Without a content_dir only the entries are known, plus the
// contents of /etc/passwd and /etc/group (for --chown); with one, regular
// files are written there so that Open works (COPY --from). imaged runs
// unprivileged and never mounts a layer, hence reading the blobs.
class ImageFilesTree : public build::SourceTree {
 public:
  static absl::StatusOr<std::unique_ptr<ImageFilesTree>> Read(ContentStore* content,
                                                              const ImageInfo& image,
                                                              const std::string& content_dir);

  absl::StatusOr<build::FileInfo> Lstat(const std::string& path) const override;
  absl::StatusOr<std::vector<std::string>> List(const std::string& dir) const override;
  absl::StatusOr<std::unique_ptr<ByteSource>> Open(const std::string& path) const override;
  bool AbsoluteLinksAreRooted() const override { return true; }

  const std::string& passwd() const { return passwd_; }
  const std::string& group() const { return group_; }

 private:
  ImageFilesTree() = default;
  absl::Status ReadLayer(ByteSource& blob, const std::string& content_dir, int layer);

  std::map<std::string, build::FileInfo> entries_;
  // Regular file -> where its content was written.
  std::map<std::string, std::string> contents_;
  std::string passwd_;
  std::string group_;
  int64_t next_file_ = 0;
};

// OK when the image config's os/architecture[/variant] is platform (a
// normalized "os/arch[/variant]", or "" for any); else Moby's NotFound "image
// with reference <r> was found but does not match the specified platform:
// wanted <p>, actual: <q>".
absl::Status MatchesPlatform(const std::string& reference, const std::string& config_json,
                             const std::string& platform);

// Image configs by image ID, shared by the builds of a process. An ID is
// the digest of its config, so an entry never goes stale; whether the image
// is still stored is another matter (see StoreBaseImages).
class ImageConfigCache {
 public:
  static constexpr size_t kCapacity = 512;
  std::shared_ptr<const Json> Find(const std::string& id);
  // When full, the cache starts over: builds refill what they use.
  void Insert(const std::string& id, std::shared_ptr<const Json> config);
  void Erase(const std::string& id);

 private:
  std::mutex mutex_;
  std::map<std::string, std::shared_ptr<const Json>> configs_;
};

// Base images from the image store; a missing one (or any with --pull) is
// pulled first when a distribution is given, anonymously.
//
// A cached build resolves each step's image by ID, and reading the record
// and config of each was most of such a build's time: an ID whose config is
// in `configs` (may be null) and whose config blob is still in the content
// store (removing an image removes it) is answered from there, and checked
// against the image's record only when the build confirms it.
class StoreBaseImages : public build::BaseImages {
 public:
  StoreBaseImages(ImageStore* store, Distribution* distribution,
                  ImageConfigCache* configs = nullptr)
      : store_(store), distribution_(distribution), configs_(configs) {}
  absl::StatusOr<build::ImageRecord> Resolve(const std::string& reference,
                                             const std::string& platform, bool pull,
                                             const build::LineFn& progress) override;
  absl::Status Confirm(const std::string& image_id) override;
  // Looks the image up as Resolve would without pulling; Resolve(pull=false)
  // then answers from what it found (one build's instance: for a few ms).
  void Prefetch(const std::string& reference, const std::string& platform) override;

 private:
  // The image's parsed config, from configs_ when there.
  absl::StatusOr<std::shared_ptr<const Json>> ConfigOf(const ImageInfo& image);

  ImageStore* store_;
  Distribution* distribution_;
  ImageConfigCache* configs_;
  // IDs answered from configs_ and not confirmed yet.
  std::set<std::string> unconfirmed_;
  // (reference, platform) -> the stored image Prefetch found.
  std::map<std::pair<std::string, std::string>, build::ImageRecord> prefetched_;
};

class StoreImageWriter : public build::ImageWriter {
 public:
  StoreImageWriter(ImageStore* store, ContentStore* content) : store_(store), content_(content) {}
  absl::StatusOr<std::string> Write(const Json& image_config,
                                    const std::string& parent_id) override;
  absl::Status Tag(const std::string& image_id, const std::string& reference) override;

 private:
  ImageStore* store_;
  ContentStore* content_;
};

class BlobLayerStore : public build::LayerStore {
 public:
  // scratch_dir: a private directory for COPY --from's files.
  BlobLayerStore(ImageStore* store, ContentStore* content, ContainerChangesSource* changes,
                 std::string scratch_dir)
      : store_(store), content_(content), changes_(changes), scratch_dir_(std::move(scratch_dir)) {}

  absl::StatusOr<build::Layer> CommitContainer(const std::string& container_id) override;
  absl::StatusOr<build::Layer> CommitCopy(const build::ImageRecord& parent,
                                          const build::CopyPlan& plan,
                                          const build::SourceTree& source) override;
  absl::StatusOr<build::Layer> CommitWorkdir(const build::ImageRecord& parent,
                                             const std::string& dir,
                                             const std::string& user) override;
  absl::StatusOr<bool> IsDirectory(const build::ImageRecord& image,
                                   const std::string& path) override;
  absl::StatusOr<std::unique_ptr<build::SourceTree>> OpenImage(
      const build::ImageRecord& image) override;

 private:
  absl::StatusOr<std::unique_ptr<ImageFilesTree>> Files(const build::ImageRecord& image,
                                                        const std::string& content_dir);
  // The entries of an image (no contents), kept for the build: a COPY asks
  // about its parent's files more than once.
  absl::StatusOr<const ImageFilesTree*> Entries(const build::ImageRecord& image);

  ImageStore* store_;
  ContentStore* content_;
  ContainerChangesSource* changes_;
  std::string scratch_dir_;
  int opened_ = 0;
  std::map<std::string, std::unique_ptr<ImageFilesTree>> entries_;
};

// ADD's http(s) sources, fetched by imaged itself (it is the daemon with
// outbound connections).
class HttpDownloader : public build::Downloader {
 public:
  explicit HttpDownloader(registry::HttpTransport* http) : http_(http) {}
  absl::Status Fetch(const std::string& url, const std::string& path,
                     const build::LineFn& progress) override;

 private:
  registry::HttpTransport* http_;
};

// RUN containers through runtimed: created from the step's image, started,
// waited for, their output read from the log, removed. They carry the label
// kBuildStepLabel so that those an imaged crash left behind are found and
// removed before this process creates its first one.
class GrpcStepRunner : public build::StepRunner {
 public:
  GrpcStepRunner(std::shared_ptr<grpc::Channel> runtimed, ImageStore* store);

  absl::StatusOr<std::string> Create(const Request& request) override;
  absl::StatusOr<int> Run(const std::string& container_id, const build::LineFn& output) override;
  absl::Status Remove(const std::string& container_id) override;

 private:
  absl::Status RemoveOrphans();

  std::unique_ptr<berth::runtime::v1::RuntimeService::Stub> stub_;
  ImageStore* store_;
  std::mutex orphans_mutex_;
  bool orphans_removed_ = false;
  std::mutex cancels_mutex_;
  // Request::cancelled of the containers created, until they are removed.
  std::map<std::string, std::function<bool()>> cancels_;
};

inline constexpr char kBuildStepLabel[] = "berth.build.step";

}  // namespace berth::imaged
