// Image records and tags, in imaged's one SQLite database (<state>/imaged.db).
//
// Schema (migration 1):
//
//   images          id (PK, "sha256:<hex>" of the config blob) | created | size | parent | added
//      |  1
//      |  n
//   image_layers    (image_id, position) PK | diff_id | chain_id | blob_digest | size
//                   bottom layer first; blob_digest is the layer as it was given
//                   (a blob in the content store, possibly compressed)
//   tags            reference (PK, normalised "docker.io/library/busybox:latest") | image_id
//   layer_removals  chain_id (PK): chains no image uses any more, still to be removed
//                   from stored (kept until stored confirms, so a crash or an
//                   unavailable stored leaks nothing)
//
// Migration 2 (registries):
//
//   repo_digests    reference (PK, "docker.io/library/busybox@sha256:<manifest>") | image_id
//                   the manifests an image was pulled as or pushed to
//   blob_sources    (blob_digest, repository) PK: repositories ("127.0.0.1:5000/a/b")
//                   known to hold a blob, so a push to another repository of the
//                   same registry can mount it instead of uploading it
//
// The config blob itself (config_json) is in the content store under the image ID.
// Deleting an image cascades to its layers and tags.
#pragma once

#include <cstdint>
#include <memory>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "common/database.h"

namespace berth::imaged {

struct LayerRecord {
  std::string diff_id;
  std::string chain_id;
  std::string blob_digest;
  int64_t size = 0;
};

struct ImageRecord {
  std::string id;
  int64_t created = 0;
  int64_t size = 0;
  std::string parent;
  std::vector<LayerRecord> layers;
  // Normalised references, sorted.
  std::vector<std::string> tags;
  // Normalised "name@sha256:<manifest digest>", sorted.
  std::vector<std::string> repo_digests;
};

// What deleting an image released.
struct ReleasedResources {
  // Blobs (config, layers) no remaining image references.
  std::vector<std::string> blobs;
  // Chains no remaining image uses, top first (queued in layer_removals).
  std::vector<std::string> chains;
};

class MetadataStore {
 public:
  static absl::StatusOr<std::unique_ptr<MetadataStore>> Open(const std::string& path);
  // The ordered migrations, exposed for tests.
  static const std::vector<std::string>& Migrations();

  absl::StatusOr<std::vector<ImageRecord>> ListImages();
  // NotFound when absent.
  absl::StatusOr<ImageRecord> GetImage(const std::string& id);
  // IDs whose hex starts with hex_prefix.
  absl::StatusOr<std::vector<std::string>> FindByPrefix(const std::string& hex_prefix);
  // NotFound when the tag does not exist.
  absl::StatusOr<std::string> ResolveTag(const std::string& reference);

  // In one transaction: inserts the images (existing ones are kept as they
  // are), points each tag (reference, image id) at its image, and takes the
  // images' chains off layer_removals.
  // repo_digests are (reference, image id) too.
  absl::Status Commit(const std::vector<ImageRecord>& images,
                      const std::vector<std::pair<std::string, std::string>>& tags,
                      const std::vector<std::pair<std::string, std::string>>& repo_digests = {});
  absl::Status SetTag(const std::string& reference, const std::string& image_id);
  // NotFound when the tag does not exist.
  absl::Status RemoveTag(const std::string& reference);
  // Deletes the image, its layers and tags; queues the chains no other image
  // uses for removal.
  absl::StatusOr<ReleasedResources> DeleteImage(const std::string& id);
  absl::Status SetRepoDigest(const std::string& reference, const std::string& image_id);
  // NotFound when absent.
  absl::StatusOr<std::string> ResolveRepoDigest(const std::string& reference);
  // NotFound when absent.
  absl::Status RemoveRepoDigest(const std::string& reference);
  absl::Status AddBlobSource(const std::string& blob_digest, const std::string& repository);
  absl::StatusOr<std::vector<std::string>> BlobSources(const std::string& blob_digest);

  // Changes whenever anything above was written: while it stays the same,
  // every reference resolves to the same image and every image is there.
  int64_t Generation() { return db_->ChangeCount(); }

  // IDs of images whose parent is id.
  absl::StatusOr<std::vector<std::string>> Children(const std::string& id);

  // Every blob an image references (image IDs are config blob digests).
  absl::StatusOr<std::set<std::string>> ReferencedBlobs();
  // Every chain an image uses.
  absl::StatusOr<std::set<std::string>> ReferencedChains();
  absl::StatusOr<std::vector<std::string>> PendingLayerRemovals();
  absl::Status QueueLayerRemoval(const std::string& chain_id);
  absl::Status FinishLayerRemoval(const std::string& chain_id);

 private:
  explicit MetadataStore(std::unique_ptr<Database> db) : db_(std::move(db)) {}
  absl::Status FillImage(ImageRecord* image);
  std::unique_ptr<Database> db_;
};

}  // namespace berth::imaged
