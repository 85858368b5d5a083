// docker commit: a container's changes become a layer on its image, and its
// config (with --change applied) the new image's config, as Moby's
// daemon/commit.go does. The same "layer tar -> blob -> stored -> image
// record" path serves the build's images (local_image below).
//
// Crash safety: the layer blob is committed to the content store before the
// image record; a crash in between leaves an unreferenced blob, which
// ImageStore::GarbageCollect removes at the next start.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "common/json.h"
#include "imaged/byte_source.h"
#include "imaged/content_store.h"
#include "imaged/image_store.h"

namespace berth::imaged {

// Where a container's changes come from: stored's ExportChanges.
class ContainerChangesSource {
 public:
  virtual ~ContainerChangesSource() = default;
  // The container's writable layer as a layer tar. excluded: mount points.
  virtual absl::StatusOr<std::unique_ptr<ByteSource>> OpenChanges(
      const std::string& container_id, const std::vector<std::string>& excluded) = 0;
};

// sha256 of an empty tar (1024 zero bytes): Docker's layer.EmptyLayer, a
// step that changed nothing.
constexpr char kEmptyLayerDiffId[] =
    "sha256:5f70bf18a086007016e948b04aed3b82103a36bea41755b6cddfaf10ace3c6ef";

// Stores an uncompressed layer tar as a blob (its digest is its diff ID) and
// returns the diff ID and size. An empty tar (kEmptyLayerDiffId) is not kept.
struct StoredLayer {
  std::string diff_id;
  int64_t size = 0;
};
absl::StatusOr<StoredLayer> StoreLayerBlob(ContentStore* content, ByteSource& tar);

// Records an image made here from its config: every diff ID in
// rootfs.diff_ids must be a blob of the content store (layers made here are
// uncompressed, so blob digest = diff ID) or a layer of one of the images in
// known (pulled layers are stored compressed). tags: "repo:tag" references.
absl::StatusOr<std::string> StoreLocalImage(ImageStore* store, ContentStore* content,
                                            const Json& config, const std::vector<ImageInfo>& known,
                                            const std::vector<std::string>& tags,
                                            const std::string& parent = "");

struct CommitOptions {
  std::string container_id;
  // The container's image; empty for none.
  std::string image_id;
  // The container's Config, as inspect shows it.
  Json container_config = Json::object();
  std::vector<std::string> excluded_paths;
  std::string repository;
  std::string tag;
  std::string comment;
  std::string author;
  std::vector<std::string> changes;
};

class ContainerCommitter {
 public:
  // Not owned.
  ContainerCommitter(ImageStore* store, ContentStore* content, ContainerChangesSource* changes)
      : store_(store), content_(content), changes_(changes) {}

  // Returns the new image's ID.
  absl::StatusOr<std::string> Commit(const CommitOptions& options);

 private:
  ImageStore* store_;
  ContentStore* content_;
  ContainerChangesSource* changes_;
};

// The image config of a child of parent_config ("" or the parent's config
// JSON): its platform and history carried over, config replaced, the layer
// appended (or an empty_layer history entry when diff_id is the empty layer).
Json ChildImageConfig(const Json& parent_config, const Json& container_config,
                      const std::string& diff_id, const std::string& created_by,
                      const std::string& author, const std::string& comment);

}  // namespace berth::imaged
