// The image logic of imaged: load, import, list, get, tag and remove images
// over a content store (blobs), a metadata store (records, tags) and a layer
// sink (stored). The gRPC service is a thin adapter over this class; tests
// drive it directly with a fake layer sink.
//
// Crash safety: blobs are committed (verified) and layers applied before the
// image records and tags are written in one transaction, so a crash leaves
// at worst unreferenced blobs, which GarbageCollect removes at start.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "common/json.h"
#include "common/reference.h"
#include "imaged/byte_source.h"
#include "imaged/content_store.h"
#include "imaged/layer_sink.h"
#include "imaged/metadata_store.h"

namespace berth::imaged {

struct ImageInfo {
  std::string id;
  // Familiar form, sorted: "busybox:latest".
  std::vector<std::string> repo_tags;
  std::string config_json;
  std::vector<std::string> chain_ids;
  std::vector<std::string> diff_ids;
  // The layers as blobs in the content store (possibly compressed), bottom first.
  std::vector<std::string> blob_digests;
  // Bytes each layer unpacked to, bottom first.
  std::vector<int64_t> layer_sizes;
  // Familiar form, sorted: "busybox@sha256:<manifest digest>".
  std::vector<std::string> repo_digests;
  int64_t size = 0;
  int64_t created = 0;
  std::string parent;
  std::map<std::string, std::string> labels;

  // Top layer's chain ID; empty for an image without layers.
  std::string top_chain_id() const { return chain_ids.empty() ? "" : chain_ids.back(); }
};

struct ImportOptions {
  // "repo[:tag]"; empty for an untagged image.
  std::string repository;
  // Overrides a tag in repository when set.
  std::string tag;
  std::vector<std::string> changes;
  // Commit message; "Imported from -" when empty.
  std::string message;
  // "os[/arch[/variant]]"; the host's when empty.
  std::string platform;
};

// An image fetched from a registry, ready to be committed. Blobs not yet in
// the content store come as verified, uncommitted writers; a layer whose blob
// or chain is already here has none (it was not downloaded).
struct PulledLayer {
  ContentWriter* blob = nullptr;
  std::string blob_digest;
  std::string diff_id;
};
struct PulledImage {
  // Null when the config blob is already in the content store.
  ContentWriter* config = nullptr;
  std::string id;
  std::string config_json;
  std::vector<PulledLayer> layers;
  // The tag pulled, if any.
  std::vector<Reference> tags;
  // "name@sha256:<manifest digest>".
  Reference repo_digest;
  // Where the blobs came from (for cross-repository mounts at push).
  std::string repository;
  // Images made here: the image they were made from (docker commit).
  std::string parent;
};

// The containers that use images, for the removal rules (Docker names one
// container in its refusals, and a running one cannot be forced away).
struct ImageUsers {
  ImageUsers() = default;
  // Images used by containers known only by their image ("sha256:<hex>" or
  // hex IDs), treated as stopped ones. Implicit: a set of IDs is enough for
  // callers that know no more.
  ImageUsers(const std::set<std::string>& images);  // NOLINT(runtime/explicit)

  void Add(const std::string& image_id, const std::string& container_id, bool running);
  bool Uses(const std::string& image_id) const;
  bool UsedByRunning(const std::string& image_id) const;
  // The short ID of a running (stopped) container using the image; "" when
  // there is none or its ID is not known.
  std::string Running(const std::string& image_id) const;
  std::string Stopped(const std::string& image_id) const;

 private:
  // Image hex ID -> the first container (hex ID, possibly empty) of each kind.
  std::map<std::string, std::string> running_;
  std::map<std::string, std::string> stopped_;
};

struct DeleteItem {
  std::string untagged;
  std::string deleted;
};

class ImageStore {
 public:
  // Keeps the blobs and layer chains an operation (a pull) found present
  // from being collected by a concurrent removal until the operation has
  // committed the image that references them, or has given up. A blob or
  // chain released while held is removed when the last hold on it goes, if
  // no image references it by then.
  class Hold {
   public:
    ~Hold();
    Hold(const Hold&) = delete;
    Hold& operator=(const Hold&) = delete;
    // Whether the blob is in the content store; if so it stays while held.
    bool HasBlob(const std::string& digest);
    // Whether an image uses this layer chain (then stored has it, and keeps
    // it while held).
    bool HasChain(const std::string& chain_id);

   private:
    friend class ImageStore;
    explicit Hold(ImageStore* store) : store_(store) {}
    ImageStore* store_;
    std::vector<std::string> blobs_;
    std::vector<std::string> chains_;
  };

  // Not owned; must outlive the store.
  ImageStore(ContentStore* content, MetadataStore* metadata, LayerSink* layers);

  // Layers of a load or import unpacked at once (as a pull's, see
  // OrderedApplier); 0: a few, at most one per core.
  void set_max_concurrent_applies(int applies) { max_concurrent_applies_ = applies; }

  // Removes blobs that no image references and layers that no image uses
  // (what a crash during a load, a pull or an image removal leaves behind).
  // Call at start, before serving.
  absl::Status GarbageCollect();

  std::unique_ptr<Hold> NewHold() { return std::unique_ptr<Hold>(new Hold(this)); }

  // Resolves a reference (full or familiar name, "sha256:<hex>", full ID,
  // unique ID prefix). NotFound "No such image: <reference>".
  absl::StatusOr<ImageInfo> Get(const std::string& reference);
  absl::StatusOr<std::vector<ImageInfo>> List();

  // One line for the user, e.g. "Loaded image: busybox:latest\n".
  using ProgressFn = std::function<void(const std::string& line)>;
  // Loads a docker-archive (docker save) or OCI image layout tar. Returns the
  // IDs of the images loaded. Nothing is visible unless everything succeeded.
  absl::StatusOr<std::vector<std::string>> Load(ByteSource& archive, const ProgressFn& progress);
  // Imports a root filesystem tar (plain or compressed) as a one-layer image
  // and returns its ID.
  absl::StatusOr<std::string> Import(const ImportOptions& options, ByteSource& tar);

  // Commits a pulled image like a loaded one: blobs made visible, layers
  // applied, then records, tag and repo digest in one transaction; on failure
  // nothing of it stays.
  // Also for images made locally (commit, build): no repo digest, no
  // repository.
  absl::Status CommitPulled(const PulledImage& image);
  // Lets a pull apply layer `index` of diff_ids (the ones below it applied
  // already) while later layers still download. The layer comes from `blob`
  // (a verified download, left uncommitted so that a failed pull keeps it
  // for the next attempt) or, when null, from the content store's
  // blob_digest, which the hold must keep. The chain stays held by `hold`
  // and queued in layer_removals until CommitPulled references it: a failed
  // pull (the hold released) or a crash (GarbageCollect) leaves no layer.
  // Nothing is applied when stored has the chain.
  // Layers of a pull may be applied concurrently: with wait_for_parent set
  // (see LayerHeader) the layer is unpacked while the one below is still
  // being applied, and published only once wait_for_parent returned OK,
  // which it must do only after the parent's ApplyPulledLayer succeeded.
  // Not under mutation_mutex_ while the layer is unpacked.
  absl::Status ApplyPulledLayer(Hold& hold, const std::vector<std::string>& diff_ids, size_t index,
                                const std::string& blob_digest, ContentWriter* blob,
                                std::function<absl::Status()> wait_for_parent = nullptr);
  // Whether a blob is in the content store.
  bool HasBlob(const std::string& digest);
  // See MetadataStore::Generation: the same value means no image, tag or
  // digest reference changed in between.
  int64_t Generation() { return metadata_->Generation(); }
  // Whether an image already uses this layer chain (then stored has it).
  bool HasChain(const std::string& chain_id);
  // Records that the registry repository ("host/path") holds the blobs.
  void RecordBlobSources(const std::vector<std::string>& blobs, const std::string& repository);
  // Repositories known to hold a blob.
  std::vector<std::string> BlobSources(const std::string& digest);
  // Records a manifest an image was pushed as.
  absl::Status AddRepoDigest(const std::string& image_id, const Reference& repo_digest);

  // Points repository[:tag] (tag "latest" when empty) at the image source names.
  absl::Status Tag(const std::string& source, const std::string& repository,
                   const std::string& tag);
  // docker save: writes the images named (tags; IDs; repository names, meaning
  // every tag of the repository) to out as one tar, as Moby >= 25 does (see
  // image_save.cc). Names are resolved first: an unknown one is NotFound
  // "No such image: <name>" before anything is written.
  absl::Status Save(const std::vector<std::string>& names, ByteSink& out);
  // Docker's image delete: untags a name, deletes an image by ID or when its
  // last tag is gone. in_use holds IDs of images that containers use. With
  // prune, a deleted image's parents that are left untagged, childless and
  // unused go too (docker rmi without --no-prune), child first.
  absl::StatusOr<std::vector<DeleteItem>> Remove(const std::string& reference, bool force,
                                                 const ImageUsers& users, bool prune = false);

 private:
  struct PendingLayer {
    ContentWriter* blob = nullptr;
    std::string diff_id;
    std::string expected_blob_digest;
  };
  struct PendingImage {
    // Null when the config blob is already committed.
    ContentWriter* config = nullptr;
    std::string id;
    std::string config_json;
    std::vector<PendingLayer> layers;
    std::vector<Reference> tags;
    std::vector<Reference> repo_digests;
    std::string parent;
  };

  absl::StatusOr<std::string> ResolveId(const std::string& reference);
  absl::StatusOr<ImageInfo> Describe(const ImageRecord& record);
  // Makes every layer exist in the sink (unpacked concurrently, published
  // bottom up) and returns the records. A layer comes from its writer when
  // it has one (not yet committed), else from the content store. Under
  // mutation_mutex_.
  absl::StatusOr<std::vector<LayerRecord>> ApplyLayers(
      const std::vector<std::string>& diff_ids, const std::vector<std::string>& blob_digests,
      const std::vector<bool>& decompress, std::vector<std::string>* applied,
      const std::vector<ContentWriter*>& writers = {});
  // Layers without a writer must have their blob committed or their chain in stored.
  absl::Status CommitPending(const std::vector<PendingImage>& images, const ProgressFn& progress);
  // After a failed load or import: drops what it made that nothing references.
  // Under mutation_mutex_.
  void RollBack(const std::vector<std::string>& applied_chains);
  // Asks the sink to remove the chains queued in layer_removals. Best effort.
  // Under mutation_mutex_.
  void ProcessLayerRemovals();
  absl::Status DeleteImage(const std::string& id, std::vector<DeleteItem>* items);
  // Deletes the untagged, childless, unused ancestors of a deleted image.
  // Under mutation_mutex_.
  absl::Status PruneParents(std::string parent, const ImageUsers& users,
                            std::vector<DeleteItem>* items);
  // Deletes a blob no image references, unless a Hold keeps it (then the
  // last hold's release deletes it). Under mutation_mutex_.
  void DeleteUnreferencedBlob(const std::string& digest);
  // Drops a Hold's references; removes what was released while it held it.
  void Release(const std::vector<std::string>& blobs, const std::vector<std::string>& chains);

  // As a pull's default (max-concurrent-downloads).
  static constexpr int kDefaultApplies = 3;

  ContentStore* content_;
  MetadataStore* metadata_;
  LayerSink* layers_;
  int max_concurrent_applies_ = 0;
  // Serialises everything that commits blobs, applies or removes layers, or
  // changes records, so that a removal never deletes a blob or a layer that a
  // concurrent load is about to reference. Spooling happens outside it.
  std::mutex mutation_mutex_;
  // Guards the hold counts; taken inside mutation_mutex_ when both are held.
  std::mutex holds_mutex_;
  std::map<std::string, int> held_blobs_;
  std::map<std::string, int> held_chains_;
};

// Seconds since the epoch of an RFC 3339 time ("2024-01-02T03:04:05.123Z"); 0 when
// it does not parse.
int64_t ParseCreated(const std::string& rfc3339);

}  // namespace berth::imaged
