// ImageStore::Save: docker save's archive, as Moby >= 25 writes it. One tar
// is both a docker-archive (manifest.json, repositories) and an OCI image
// layout (oci-layout, index.json, an image manifest per image); every file
// of either lives once under blobs/sha256/, layers as uncompressed tars named
// by their diff IDs, so Docker 20.10 (which reads manifest.json) and
// OCI tools (which read index.json) both load it.
#include <time.h>

#include <algorithm>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "common/digest.h"
#include "common/status.h"
#include "imaged/image_store.h"
#include "imaged/layers.h"
#include "imaged/tar_writer.h"

namespace berth::imaged {
namespace {

using OrderedJson = nlohmann::ordered_json;

constexpr char kBlobsDir[] = "blobs/sha256/";
constexpr char kIndexMediaType[] = "application/vnd.oci.image.index.v1+json";
constexpr char kManifestMediaType[] = "application/vnd.oci.image.manifest.v1+json";
constexpr char kConfigMediaType[] = "application/vnd.oci.image.config.v1+json";
constexpr char kLayerMediaType[] = "application/vnd.oci.image.layer.v1.tar";
constexpr char kImageNameAnnotation[] = "io.containerd.image.name";
constexpr char kRefNameAnnotation[] = "org.opencontainers.image.ref.name";

std::string BlobPath(const std::string& digest) {
  return absl::StrCat(kBlobsDir, std::string(DigestHex(digest)));
}

struct SavedImage {
  std::string id;
  std::string config_json;
  std::vector<std::string> diff_ids;
  // Tagged references, in the order they were named.
  std::vector<Reference> refs;
};

struct SavedLayer {
  std::string diff_id;
  // The uncompressed tar's size: what the tar header announces.
  int64_t size = 0;
  // The stored blob, decompressed on the way when it is compressed.
  std::unique_ptr<ByteSource> source;
  // Only for a compressed blob: a second handle to measure it with before
  // anything is written.
  std::unique_ptr<ByteSource> measure;
};

struct SmallBlob {
  std::string digest;
  std::string data;
};

}  // namespace

absl::Status ImageStore::Save(const std::vector<std::string>& names, ByteSink& out) {
  std::vector<SavedImage> images;
  std::map<std::string, SavedLayer> layers;
  {
    // Every blob is opened under the lock: an image removed while the archive
    // streams keeps its open files readable.
    std::lock_guard<std::mutex> lock(mutation_mutex_);
    std::map<std::string, size_t> position;
    auto add = [&](const std::string& id, const Reference* ref) {
      auto [it, inserted] = position.emplace(id, images.size());
      if (inserted) images.push_back(SavedImage{id, "", {}, {}});
      SavedImage& image = images[it->second];
      if (ref == nullptr) return;
      for (const Reference& known : image.refs) {
        if (known == *ref) return;
      }
      image.refs.push_back(*ref);
    };
    for (const std::string& name : names) {
      absl::StatusOr<Reference> parsed = Reference::ParseNormalized(name);
      bool by_id = absl::StartsWith(name, "sha256:") || IsFullHexId(name) || !parsed.ok() ||
                   parsed->has_digest();
      if (!by_id && !parsed->has_tag()) {
        // A repository name saves every tag of the repository (Moby).
        ASSIGN_OR_RETURN(std::vector<ImageRecord> records, metadata_->ListImages());
        bool found = false;
        for (const ImageRecord& record : records) {
          for (const std::string& tag : record.tags) {
            absl::StatusOr<Reference> tagged = Reference::Parse(tag);
            if (!tagged.ok() || tagged->Name() != parsed->Name()) continue;
            add(record.id, &*tagged);
            found = true;
          }
        }
        if (found) continue;
        by_id = true;
      }
      ASSIGN_OR_RETURN(std::string id, ResolveId(name));
      add(id, by_id ? nullptr : &*parsed);
    }
    for (SavedImage& image : images) {
      ASSIGN_OR_RETURN(ImageRecord record, metadata_->GetImage(image.id));
      ASSIGN_OR_RETURN(image.config_json, content_->ReadBlob(image.id));
      for (const LayerRecord& layer : record.layers) {
        image.diff_ids.push_back(layer.diff_id);
        if (layers.count(layer.diff_id)) continue;
        SavedLayer saved;
        saved.diff_id = layer.diff_id;
        ASSIGN_OR_RETURN(saved.source, content_->OpenBlob(layer.blob_digest));
        if (layer.blob_digest == layer.diff_id) {
          ASSIGN_OR_RETURN(saved.size, content_->BlobSize(layer.blob_digest));
        } else {
          // Kept as given (gzip, zstd...): docker-archive layers are the
          // uncompressed tars, whose digest is the diff ID.
          ASSIGN_OR_RETURN(saved.measure, content_->OpenBlob(layer.blob_digest));
        }
        layers.emplace(layer.diff_id, std::move(saved));
      }
    }
  }
  for (auto& [diff_id, layer] : layers) {
    if (!layer.measure) continue;
    ASSIGN_OR_RETURN(std::unique_ptr<ByteSource> plain, Decompress(std::move(layer.measure)));
    ASSIGN_OR_RETURN(StreamDigest measured, DigestStream(*plain));
    if (measured.digest != diff_id) {
      return absl::DataLossError(absl::StrCat("layer ", diff_id, " is stored with content ",
                                              measured.digest, " that does not match it"));
    }
    layer.size = measured.size;
    ASSIGN_OR_RETURN(layer.source, Decompress(std::move(layer.source)));
  }

  std::vector<SmallBlob> small;
  OrderedJson manifest = OrderedJson::array();
  OrderedJson index_manifests = OrderedJson::array();
  OrderedJson repositories = OrderedJson::object();
  for (const SavedImage& image : images) {
    small.push_back({image.id, image.config_json});
    OrderedJson layer_descriptors = OrderedJson::array();
    OrderedJson layer_paths = OrderedJson::array();
    for (const std::string& diff_id : image.diff_ids) {
      layer_descriptors.push_back(
          {{"mediaType", kLayerMediaType}, {"digest", diff_id}, {"size", layers.at(diff_id).size}});
      layer_paths.push_back(BlobPath(diff_id));
    }
    OrderedJson oci_manifest = {{"schemaVersion", 2},
                                {"mediaType", kManifestMediaType},
                                {"config",
                                 {{"mediaType", kConfigMediaType},
                                  {"digest", image.id},
                                  {"size", static_cast<int64_t>(image.config_json.size())}}},
                                {"layers", layer_descriptors}};
    std::string manifest_json = oci_manifest.dump();
    std::string manifest_digest = Sha256Digest(manifest_json);
    OrderedJson descriptor = {{"mediaType", kManifestMediaType},
                              {"digest", manifest_digest},
                              {"size", static_cast<int64_t>(manifest_json.size())}};
    small.push_back({manifest_digest, std::move(manifest_json)});

    OrderedJson repo_tags = nullptr;
    for (const Reference& ref : image.refs) {
      if (repo_tags.is_null()) repo_tags = OrderedJson::array();
      repo_tags.push_back(ref.FamiliarString());
      OrderedJson tagged = descriptor;
      tagged["annotations"] = {{kImageNameAnnotation, ref.String()},
                               {kRefNameAnnotation, ref.tag()}};
      index_manifests.push_back(std::move(tagged));
      if (!image.diff_ids.empty()) {
        repositories[ref.FamiliarName()][ref.tag()] = std::string(DigestHex(image.diff_ids.back()));
      }
    }
    if (image.refs.empty()) index_manifests.push_back(descriptor);
    manifest.push_back(
        {{"Config", BlobPath(image.id)}, {"RepoTags", repo_tags}, {"Layers", layer_paths}});
  }

  // Entries in the order Moby's archive.Tar walks its staging directory
  // (lexical), blobs once each.
  struct Blob {
    const SmallBlob* small = nullptr;
    SavedLayer* layer = nullptr;
  };
  std::map<std::string, Blob> blobs;
  for (const SmallBlob& blob : small) blobs[std::string(DigestHex(blob.digest))].small = &blob;
  for (auto& [diff_id, layer] : layers) blobs[std::string(DigestHex(diff_id))].layer = &layer;

  TarWriter tar(&out, static_cast<int64_t>(time(nullptr)));
  RETURN_IF_ERROR(tar.Open());
  RETURN_IF_ERROR(tar.AddDirectory("blobs/"));
  RETURN_IF_ERROR(tar.AddDirectory(kBlobsDir));
  for (auto& [hex, blob] : blobs) {
    std::string path = absl::StrCat(kBlobsDir, hex);
    if (blob.layer != nullptr) {
      RETURN_IF_ERROR(
          tar.AddStream(path, blob.layer->size, *blob.layer->source, blob.layer->diff_id));
    } else {
      RETURN_IF_ERROR(tar.AddFile(path, blob.small->data));
    }
  }
  OrderedJson index = {
      {"schemaVersion", 2}, {"mediaType", kIndexMediaType}, {"manifests", index_manifests}};
  RETURN_IF_ERROR(tar.AddFile("index.json", index.dump()));
  RETURN_IF_ERROR(tar.AddFile("manifest.json", manifest.dump()));
  RETURN_IF_ERROR(tar.AddFile("oci-layout", R"({"imageLayoutVersion":"1.0.0"})"));
  if (!repositories.empty()) {
    RETURN_IF_ERROR(tar.AddFile("repositories", repositories.dump()));
  }
  return tar.Close();
}

}  // namespace berth::imaged
