#include "imaged/image_store.h"

#include <algorithm>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "common/digest.h"
#include "common/log.h"
#include "common/status.h"
#include "imaged/changes.h"
#include "imaged/layers.h"
#include "imaged/ordered_applier.h"
#include "imaged/spooled_archive.h"

namespace berth::imaged {
namespace {

constexpr char kBlobsPrefix[] = "blobs/sha256/";

absl::Status NoSuchImage(const std::string& reference) {
  return absl::NotFoundError(absl::StrCat("No such image: ", reference));
}

std::string ShortId(const std::string& id) { return std::string(DigestHex(id)).substr(0, 12); }

bool IsLowerHex(absl::string_view text) {
  if (text.empty()) return false;
  for (char c : text) {
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return false;
  }
  return true;
}

// The digest a path names when it is in a blobs/sha256/ directory (OCI
// layout, and docker save since Moby 25), or "<hex>.json" (docker save's
// config in 20.10): such content must hash to its name.
std::string DigestNamedByPath(const std::string& path) {
  std::string cleaned = CleanArchivePath(path).value_or(path);
  std::string base = cleaned.substr(cleaned.rfind('/') + 1);
  if (absl::StartsWith(cleaned, kBlobsPrefix) && IsFullHexId(base)) return "sha256:" + base;
  if (absl::EndsWith(base, ".json") && IsFullHexId(base.substr(0, base.size() - 5))) {
    return "sha256:" + base.substr(0, base.size() - 5);
  }
  return "";
}

std::string HostArchitecture() {
#if defined(__x86_64__)
  return "amd64";
#elif defined(__aarch64__)
  return "arm64";
#elif defined(__arm__)
  return "arm";
#else
  return "unknown";
#endif
}

std::string FormatRfc3339(absl::Time time) {
  return absl::FormatTime("%Y-%m-%dT%H:%M:%E9SZ", time, absl::UTCTimeZone());
}

// Parses and validates the config of an image in an archive against its layers.
absl::Status CheckConfig(const std::string& config_json, size_t layer_count,
                         std::vector<std::string>* diff_ids) {
  auto config = ParseJson(config_json);
  if (!config.ok() || !config->is_object()) {
    return absl::InvalidArgumentError("invalid image config: not a JSON object");
  }
  const Json* rootfs = config->contains("rootfs") ? &(*config)["rootfs"] : nullptr;
  if (rootfs == nullptr || !rootfs->is_object() || !rootfs->contains("diff_ids") ||
      !(*rootfs)["diff_ids"].is_array()) {
    if (layer_count == 0) return absl::OkStatus();
    return absl::InvalidArgumentError("invalid image config: no rootfs.diff_ids");
  }
  for (const Json& diff_id : (*rootfs)["diff_ids"]) {
    if (!diff_id.is_string() || !IsSha256Digest(diff_id.get<std::string>())) {
      return absl::InvalidArgumentError("invalid image config: bad diff ID in rootfs.diff_ids");
    }
    diff_ids->push_back(diff_id.get<std::string>());
  }
  if (diff_ids->size() != layer_count) {
    return absl::InvalidArgumentError(
        absl::StrCat("invalid manifest, layers length mismatch: expected ", diff_ids->size(),
                     ", got ", layer_count));
  }
  return absl::OkStatus();
}

absl::StatusOr<std::string> ReadSmall(ContentWriter* writer, const std::string& what) {
  constexpr int64_t kMax = 64 << 20;
  if (writer->size() > kMax) {
    return absl::InvalidArgumentError(absl::StrCat("invalid archive: ", what, " is too large"));
  }
  return writer->ReadBack();
}

}  // namespace

int64_t ParseCreated(const std::string& rfc3339) {
  absl::Time time;
  std::string error;
  if (!absl::ParseTime(absl::RFC3339_full, rfc3339, &time, &error)) return 0;
  return absl::ToUnixSeconds(time);
}

ImageStore::ImageStore(ContentStore* content, MetadataStore* metadata, LayerSink* layers)
    : content_(content), metadata_(metadata), layers_(layers) {}

absl::Status ImageStore::GarbageCollect() {
  std::lock_guard<std::mutex> lock(mutation_mutex_);
  ASSIGN_OR_RETURN(std::set<std::string> referenced, metadata_->ReferencedBlobs());
  ASSIGN_OR_RETURN(std::vector<std::string> blobs, content_->List());
  for (const std::string& blob : blobs) {
    if (referenced.count(blob)) continue;
    spdlog::info("removing unreferenced blob {}", blob);
    RETURN_IF_ERROR(content_->Delete(blob));
  }
  // Layers a crash left applied but not committed are queued (ApplyLayers
  // queues a chain before it asks for it). If stored is down they stay queued
  // for the next mutation.
  ProcessLayerRemovals();
  return absl::OkStatus();
}

ImageStore::Hold::~Hold() { store_->Release(blobs_, chains_); }

bool ImageStore::Hold::HasBlob(const std::string& digest) {
  std::lock_guard<std::mutex> lock(store_->holds_mutex_);
  // Deletions check the holds under the same mutex, so the blob cannot go
  // between this check and the hold.
  if (!store_->content_->Exists(digest)) return false;
  ++store_->held_blobs_[digest];
  blobs_.push_back(digest);
  return true;
}

bool ImageStore::Hold::HasChain(const std::string& chain_id) {
  std::lock_guard<std::mutex> lock(store_->holds_mutex_);
  auto chains = store_->metadata_->ReferencedChains();
  if (!chains.ok() || chains->count(chain_id) == 0) return false;
  ++store_->held_chains_[chain_id];
  chains_.push_back(chain_id);
  return true;
}

void ImageStore::Release(const std::vector<std::string>& blobs,
                         const std::vector<std::string>& chains) {
  if (blobs.empty() && chains.empty()) return;
  std::lock_guard<std::mutex> lock(mutation_mutex_);
  std::vector<std::string> freed;
  {
    std::lock_guard<std::mutex> holds(holds_mutex_);
    for (const std::string& blob : blobs) {
      if (--held_blobs_[blob] == 0) {
        held_blobs_.erase(blob);
        freed.push_back(blob);
      }
    }
    for (const std::string& chain : chains) {
      if (--held_chains_[chain] == 0) held_chains_.erase(chain);
    }
  }
  auto referenced = metadata_->ReferencedBlobs();
  if (!referenced.ok()) return;  // Collected at the next start.
  for (const std::string& blob : freed) {
    if (!referenced->count(blob)) DeleteUnreferencedBlob(blob);
  }
  // Chains removed while held are still queued.
  ProcessLayerRemovals();
}

void ImageStore::DeleteUnreferencedBlob(const std::string& digest) {
  std::lock_guard<std::mutex> holds(holds_mutex_);
  if (held_blobs_.count(digest)) return;
  absl::Status status = content_->Delete(digest);
  // A blob left behind is collected at the next start.
  if (!status.ok()) spdlog::warn("removing blob {}: {}", digest, status.ToString());
}

absl::StatusOr<std::string> ImageStore::ResolveId(const std::string& reference) {
  if (reference.empty()) return NoSuchImage(reference);
  std::string id_part = reference;
  bool explicit_id = absl::StartsWith(reference, "sha256:");
  if (explicit_id) id_part = reference.substr(7);
  if (IsFullHexId(id_part)) {
    std::string id = "sha256:" + id_part;
    auto record = metadata_->GetImage(id);
    if (record.ok()) return id;
    if (!absl::IsNotFound(record.status())) return record.status();
    return NoSuchImage(reference);
  }
  if (!explicit_id) {
    absl::StatusOr<Reference> parsed = Reference::ParseNormalized(reference);
    if (!parsed.ok()) {
      if (!IsLowerHex(reference)) return parsed.status();
    } else if (!parsed->has_digest()) {
      auto id = metadata_->ResolveTag(parsed->TagNameOnly().String());
      if (id.ok() || !absl::IsNotFound(id.status())) return id;
    } else {
      auto id = metadata_->ResolveRepoDigest(absl::StrCat(parsed->Name(), "@", parsed->digest()));
      if (id.ok() || !absl::IsNotFound(id.status())) return id;
      return NoSuchImage(reference);
    }
  }
  if (!IsLowerHex(id_part)) return NoSuchImage(reference);
  ASSIGN_OR_RETURN(std::vector<std::string> ids, metadata_->FindByPrefix(id_part));
  if (ids.size() > 1) {
    return absl::InvalidArgumentError(
        absl::StrCat("multiple IDs found with provided prefix: ", reference));
  }
  if (ids.empty()) return NoSuchImage(reference);
  return ids[0];
}

absl::StatusOr<ImageInfo> ImageStore::Describe(const ImageRecord& record) {
  ImageInfo info;
  info.id = record.id;
  info.size = record.size;
  info.created = record.created;
  info.parent = record.parent;
  for (const std::string& tag : record.tags) {
    auto reference = Reference::Parse(tag);
    info.repo_tags.push_back(reference.ok() ? reference->FamiliarString() : tag);
  }
  std::sort(info.repo_tags.begin(), info.repo_tags.end());
  for (const std::string& digest : record.repo_digests) {
    auto reference = Reference::Parse(digest);
    info.repo_digests.push_back(reference.ok() ? reference->FamiliarString() : digest);
  }
  std::sort(info.repo_digests.begin(), info.repo_digests.end());
  for (const LayerRecord& layer : record.layers) {
    info.chain_ids.push_back(layer.chain_id);
    info.diff_ids.push_back(layer.diff_id);
    info.blob_digests.push_back(layer.blob_digest);
    info.layer_sizes.push_back(layer.size);
  }
  ASSIGN_OR_RETURN(info.config_json, content_->ReadBlob(record.id));
  auto config = ParseJson(info.config_json);
  if (config.ok() && config->is_object() && config->contains("config")) {
    const Json& container_config = (*config)["config"];
    if (container_config.is_object() && container_config.contains("Labels") &&
        container_config["Labels"].is_object()) {
      for (const auto& [key, value] : container_config["Labels"].items()) {
        if (value.is_string()) info.labels[key] = value.get<std::string>();
      }
    }
  }
  return info;
}

absl::StatusOr<ImageInfo> ImageStore::Get(const std::string& reference) {
  ASSIGN_OR_RETURN(std::string id, ResolveId(reference));
  auto record = metadata_->GetImage(id);
  if (absl::IsNotFound(record.status())) return NoSuchImage(reference);
  if (!record.ok()) return record.status();
  auto info = Describe(*record);
  // Removed between the lookup and reading its config.
  if (absl::IsNotFound(info.status())) return NoSuchImage(reference);
  return info;
}

absl::StatusOr<std::vector<ImageInfo>> ImageStore::List() {
  ASSIGN_OR_RETURN(std::vector<ImageRecord> records, metadata_->ListImages());
  std::vector<ImageInfo> images;
  for (const ImageRecord& record : records) {
    auto info = Describe(record);
    if (absl::IsNotFound(info.status())) continue;
    if (!info.ok()) return info.status();
    images.push_back(std::move(*info));
  }
  return images;
}

absl::StatusOr<std::vector<LayerRecord>> ImageStore::ApplyLayers(
    const std::vector<std::string>& diff_ids, const std::vector<std::string>& blob_digests,
    const std::vector<bool>& decompress, std::vector<std::string>* applied,
    const std::vector<ContentWriter*>& writers) {
  std::vector<std::string> chains = ChainIds(diff_ids);
  std::vector<LayerRecord> records(diff_ids.size());
  std::mutex applied_mutex;
  // As a pull's: unpacked concurrently, published in order. The caller
  // holds mutation_mutex_ throughout, so nothing is removed meanwhile.
  OrderedApplier applier(diff_ids.size(), ApplyWorkers(max_concurrent_applies_, kDefaultApplies));
  applier.SetAllReady();
  const absl::Time start = absl::Now();
  RETURN_IF_ERROR(
      applier.Run([&](size_t i, std::function<absl::Status()> wait_for_parent) -> absl::Status {
        LayerRecord& record = records[i];
        record = LayerRecord{diff_ids[i], chains[i], blob_digests[i], 0};
        ASSIGN_OR_RETURN(LayerStat stat, layers_->StatLayer(chains[i]));
        if (stat.exists) {
          record.size = stat.size;
          return absl::OkStatus();
        }
        std::unique_ptr<ByteSource> blob;
        if (i < writers.size() && writers[i] != nullptr) {
          ASSIGN_OR_RETURN(blob, writers[i]->Open());
        } else {
          ASSIGN_OR_RETURN(blob, content_->OpenBlob(blob_digests[i]));
        }
        if (decompress[i]) {
          ASSIGN_OR_RETURN(blob, Decompress(std::move(blob)));
        }
        LayerHeader header{chains[i], i == 0 ? "" : chains[i - 1], diff_ids[i],
                           std::move(wait_for_parent)};
        // Queued before it exists: if imaged dies before the image's records
        // are committed (which takes it off the queue), the next start removes
        // it from stored instead of leaking it.
        RETURN_IF_ERROR(metadata_->QueueLayerRemoval(chains[i]));
        const absl::Time began = absl::Now();
        absl::StatusOr<int64_t> size = layers_->ApplyLayer(header, *blob);
        if (!size.ok()) {
          // stored keeps nothing of a layer it failed to apply, but the entry
          // stays queued: a pull may be applying the same chain beside us
          // (ApplyPulledLayer) and count on it until its commit. Processing
          // the queue finishes it (a held chain waits for its hold).
          return Annotate(size.status(), absl::StrCat("applying layer ", diff_ids[i]));
        }
        spdlog::debug("layer {} applied in {:.2f} s (done at {:.2f} s)", chains[i],
                      absl::ToDoubleSeconds(absl::Now() - began),
                      absl::ToDoubleSeconds(absl::Now() - start));
        std::lock_guard<std::mutex> lock(applied_mutex);
        applied->push_back(chains[i]);
        record.size = *size;
        return absl::OkStatus();
      }));
  return records;
}

void ImageStore::RollBack(const std::vector<std::string>& applied_chains) {
  auto referenced = metadata_->ReferencedChains();
  if (referenced.ok()) {
    for (auto it = applied_chains.rbegin(); it != applied_chains.rend(); ++it) {
      if (!referenced->count(*it)) metadata_->QueueLayerRemoval(*it).IgnoreError();
    }
  }
  ProcessLayerRemovals();
  auto blobs = metadata_->ReferencedBlobs();
  auto all = content_->List();
  if (blobs.ok() && all.ok()) {
    for (const std::string& blob : *all) {
      if (!blobs->count(blob)) DeleteUnreferencedBlob(blob);
    }
  }
}

void ImageStore::ProcessLayerRemovals() {
  auto pending = metadata_->PendingLayerRemovals();
  if (!pending.ok() || pending->empty()) return;
  auto referenced = metadata_->ReferencedChains();
  if (!referenced.ok()) return;
  for (const std::string& chain : *pending) {
    if (referenced->count(chain)) {
      // An image took the chain again (a load of it while it was queued).
      metadata_->FinishLayerRemoval(chain).IgnoreError();
      continue;
    }
    {
      std::lock_guard<std::mutex> holds(holds_mutex_);
      // A pull counts on it; the hold's release comes back here.
      if (held_chains_.count(chain)) continue;
    }
    absl::Status status = layers_->RemoveLayer(chain);
    if (!status.ok()) {
      spdlog::warn("removing layer {} from stored (will retry): {}", chain, status.ToString());
      return;
    }
    metadata_->FinishLayerRemoval(chain).IgnoreError();
  }
}

absl::Status ImageStore::CommitPending(const std::vector<PendingImage>& images,
                                       const ProgressFn& progress) {
  std::lock_guard<std::mutex> lock(mutation_mutex_);
  ProcessLayerRemovals();
  std::vector<std::string> applied;
  std::vector<std::string> committed;
  auto commit = [&]() -> absl::Status {
    std::vector<ImageRecord> records;
    std::vector<std::pair<std::string, std::string>> tags;
    std::vector<std::pair<std::string, std::string>> repo_digests;
    for (const PendingImage& image : images) {
      // An image that is here already keeps its blobs and layers (an archive
      // may carry them in another compression, which would then be stored
      // for nothing); it only gains the names.
      auto existing = metadata_->GetImage(image.id);
      if (existing.ok()) {
        for (const Reference& tag : image.tags) tags.emplace_back(tag.String(), image.id);
        for (const Reference& digest : image.repo_digests) {
          repo_digests.emplace_back(digest.String(), image.id);
        }
        continue;
      }
      if (!absl::IsNotFound(existing.status())) return existing.status();
      if (image.config != nullptr) {
        RETURN_IF_ERROR(image.config->Commit(image.id));
        committed.push_back(image.id);
      } else if (!content_->Exists(image.id)) {
        return absl::NotFoundError(absl::StrCat("config blob ", image.id, " is gone"));
      }
      std::vector<std::string> diff_ids;
      std::vector<std::string> blob_digests;
      std::vector<ContentWriter*> writers;
      for (const PendingLayer& layer : image.layers) {
        std::string digest = layer.expected_blob_digest;
        if (layer.blob != nullptr) {
          ASSIGN_OR_RETURN(digest, layer.blob->Finish());
        }
        diff_ids.push_back(layer.diff_id);
        blob_digests.push_back(digest);
        writers.push_back(layer.blob);
      }
      ImageRecord record;
      record.id = image.id;
      record.parent = image.parent;
      ASSIGN_OR_RETURN(record.layers,
                       ApplyLayers(diff_ids, blob_digests,
                                   std::vector<bool>(diff_ids.size(), false), &applied, writers));
      // Committed after the layers are applied: their blobs' write-back then
      // overlaps the unpacking (and stored's sync), and a commit's fsync
      // finds them written.
      for (const PendingLayer& layer : image.layers) {
        if (layer.blob == nullptr) continue;
        RETURN_IF_ERROR(layer.blob->Commit(layer.expected_blob_digest));
        ASSIGN_OR_RETURN(std::string digest, layer.blob->Finish());
        committed.push_back(digest);
      }
      for (const LayerRecord& layer : record.layers) record.size += layer.size;
      auto config = ParseJson(image.config_json);
      if (config.ok() && config->contains("created") && (*config)["created"].is_string()) {
        record.created = ParseCreated((*config)["created"].get<std::string>());
      }
      records.push_back(std::move(record));
      for (const Reference& tag : image.tags) tags.emplace_back(tag.String(), image.id);
      for (const Reference& digest : image.repo_digests) {
        repo_digests.emplace_back(digest.String(), image.id);
      }
    }
    return metadata_->Commit(records, tags, repo_digests);
  };
  absl::Status status = commit();
  if (!status.ok()) {
    RollBack(applied);
    return status;
  }
  // A blob committed above that no record names (the same layer given twice
  // in different compressions) would otherwise stay until the next start.
  if (auto referenced = metadata_->ReferencedBlobs(); referenced.ok()) {
    for (const std::string& blob : committed) {
      if (!referenced->count(blob)) DeleteUnreferencedBlob(blob);
    }
  }
  for (const PendingImage& image : images) {
    if (image.tags.empty()) progress(absl::StrCat("Loaded image ID: ", image.id, "\n"));
    for (const Reference& tag : image.tags) {
      progress(absl::StrCat("Loaded image: ", tag.FamiliarString(), "\n"));
    }
  }
  return absl::OkStatus();
}

namespace {

// Fills an image's config and layers from the archive, verifying what can be
// verified before anything is committed.
absl::Status CollectLayers(const SpooledArchive& archive, const std::string& config_path,
                           const std::vector<std::string>& layer_paths,
                           const std::vector<std::string>& layer_digests, std::string* id,
                           ContentWriter** config_writer, std::string* config_json,
                           std::vector<std::tuple<ContentWriter*, std::string, std::string>>* out) {
  ContentWriter* config = archive.Find(config_path);
  if (config == nullptr) {
    return absl::InvalidArgumentError(
        absl::StrCat("invalid archive: config ", config_path, " not found"));
  }
  ASSIGN_OR_RETURN(std::string digest, config->Finish());
  std::string expected = DigestNamedByPath(config_path);
  if (!expected.empty() && expected != digest) {
    return absl::InvalidArgumentError(absl::StrCat(
        "invalid archive: config ", config_path, " has digest ", digest, ", expected ", expected));
  }
  *id = digest;
  *config_writer = config;
  ASSIGN_OR_RETURN(*config_json, ReadSmall(config, "config " + config_path));
  std::vector<std::string> diff_ids;
  RETURN_IF_ERROR(CheckConfig(*config_json, layer_paths.size(), &diff_ids));
  for (size_t i = 0; i < layer_paths.size(); ++i) {
    ContentWriter* blob = archive.Find(layer_paths[i]);
    if (blob == nullptr) {
      return absl::InvalidArgumentError(
          absl::StrCat("invalid archive: layer ", layer_paths[i], " not found"));
    }
    ASSIGN_OR_RETURN(std::string blob_digest, blob->Finish());
    std::string named =
        !layer_digests[i].empty() ? layer_digests[i] : DigestNamedByPath(layer_paths[i]);
    if (!named.empty() && named != blob_digest) {
      return absl::InvalidArgumentError(absl::StrCat("invalid archive: layer ", layer_paths[i],
                                                     " has digest ", blob_digest, ", expected ",
                                                     named));
    }
    // An uncompressed layer is its own diff: check it now rather than after
    // half the image has been applied.
    if (DetectCompression(blob->head()) == Compression::kNone && blob_digest != diff_ids[i]) {
      return absl::InvalidArgumentError(absl::StrCat("invalid diffID for layer ", i,
                                                     ": expected \"", diff_ids[i], "\", got \"",
                                                     blob_digest, "\""));
    }
    out->emplace_back(blob, diff_ids[i], blob_digest);
  }
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<std::vector<std::string>> ImageStore::Load(ByteSource& source,
                                                          const ProgressFn& progress) {
  const absl::Time start = absl::Now();
  ASSIGN_OR_RETURN(std::unique_ptr<SpooledArchive> archive,
                   SpooledArchive::Read(source, *content_));
  spdlog::debug("load: archive read at {:.2f} s", absl::ToDoubleSeconds(absl::Now() - start));
  std::vector<PendingImage> images;
  auto add_image = [&](const std::string& config_path, const std::vector<std::string>& layers,
                       const std::vector<std::string>& layer_digests,
                       std::vector<Reference> tags) -> absl::Status {
    PendingImage image;
    std::vector<std::tuple<ContentWriter*, std::string, std::string>> collected;
    RETURN_IF_ERROR(CollectLayers(*archive, config_path, layers, layer_digests, &image.id,
                                  &image.config, &image.config_json, &collected));
    for (auto& [blob, diff_id, digest] : collected) {
      image.layers.push_back(PendingLayer{blob, diff_id, digest});
    }
    image.tags = std::move(tags);
    images.push_back(std::move(image));
    return absl::OkStatus();
  };

  if (ContentWriter* manifest_file = archive->Find("manifest.json")) {
    ASSIGN_OR_RETURN(std::string text, ReadSmall(manifest_file, "manifest.json"));
    auto manifest = ParseJson(text);
    if (!manifest.ok() || !manifest->is_array()) {
      return absl::InvalidArgumentError("invalid archive: manifest.json is not a JSON array");
    }
    for (const Json& entry : *manifest) {
      if (!entry.is_object() || !entry.contains("Config") || !entry["Config"].is_string()) {
        return absl::InvalidArgumentError("invalid archive: manifest.json entry without Config");
      }
      std::vector<std::string> layers;
      if (entry.contains("Layers") && entry["Layers"].is_array()) {
        for (const Json& layer : entry["Layers"]) {
          if (!layer.is_string()) {
            return absl::InvalidArgumentError("invalid archive: bad layer in manifest.json");
          }
          layers.push_back(layer.get<std::string>());
        }
      }
      std::vector<Reference> tags;
      if (entry.contains("RepoTags") && entry["RepoTags"].is_array()) {
        for (const Json& tag : entry["RepoTags"]) {
          if (!tag.is_string()) return absl::InvalidArgumentError("invalid archive: bad RepoTags");
          auto reference = Reference::ParseNormalized(tag.get<std::string>());
          if (!reference.ok() || !reference->has_tag() || reference->has_digest()) {
            return absl::InvalidArgumentError(
                absl::StrCat("invalid tag \"", tag.get<std::string>(), "\""));
          }
          tags.push_back(*reference);
        }
      }
      RETURN_IF_ERROR(add_image(entry["Config"].get<std::string>(), layers,
                                std::vector<std::string>(layers.size()), std::move(tags)));
    }
  } else if (ContentWriter* index_file = archive->Find("index.json");
             index_file != nullptr && archive->Contains("oci-layout")) {
    auto blob_path = [](const std::string& digest) {
      return std::string(kBlobsPrefix) + std::string(DigestHex(digest));
    };
    auto read_json = [&](const std::string& digest) -> absl::StatusOr<Json> {
      if (!IsSha256Digest(digest)) {
        return absl::InvalidArgumentError(absl::StrCat("invalid archive: bad digest ", digest));
      }
      ContentWriter* file = archive->Find(blob_path(digest));
      if (file == nullptr) {
        return absl::InvalidArgumentError(
            absl::StrCat("invalid archive: blob ", digest, " not found"));
      }
      ASSIGN_OR_RETURN(std::string found, file->Finish());
      if (found != digest) {
        return absl::InvalidArgumentError(
            absl::StrCat("invalid archive: blob ", digest, " has digest ", found));
      }
      ASSIGN_OR_RETURN(std::string text, ReadSmall(file, digest));
      return ParseJson(text);
    };
    ASSIGN_OR_RETURN(std::string text, ReadSmall(index_file, "index.json"));
    ASSIGN_OR_RETURN(Json index, ParseJson(text));
    if (!index.contains("manifests") || !index["manifests"].is_array()) {
      return absl::InvalidArgumentError("invalid archive: index.json has no manifests");
    }
    for (const Json& descriptor : index["manifests"]) {
      std::string digest = descriptor.value("digest", "");
      ASSIGN_OR_RETURN(Json manifest, read_json(digest));
      // A multi-platform index: take the host's platform.
      if (manifest.contains("manifests") && manifest["manifests"].is_array()) {
        std::string chosen;
        for (const Json& candidate : manifest["manifests"]) {
          const Json platform = candidate.value("platform", Json::object());
          if (platform.value("os", "") == "linux" &&
              platform.value("architecture", "") == HostArchitecture()) {
            chosen = candidate.value("digest", "");
            break;
          }
        }
        if (chosen.empty()) {
          return absl::InvalidArgumentError("invalid archive: no manifest for linux/" +
                                            HostArchitecture());
        }
        ASSIGN_OR_RETURN(manifest, read_json(chosen));
      }
      if (!manifest.contains("config") || !manifest["config"].is_object()) {
        return absl::InvalidArgumentError("invalid archive: manifest without config");
      }
      std::vector<std::string> layers;
      std::vector<std::string> layer_digests;
      for (const Json& layer : manifest.value("layers", Json::array())) {
        std::string layer_digest = layer.value("digest", "");
        if (!IsSha256Digest(layer_digest)) {
          return absl::InvalidArgumentError("invalid archive: bad layer digest");
        }
        layers.push_back(blob_path(layer_digest));
        layer_digests.push_back(layer_digest);
      }
      std::vector<Reference> tags;
      const Json annotations = descriptor.value("annotations", Json::object());
      std::string name = annotations.value("io.containerd.image.name", "");
      std::string ref_name = annotations.value("org.opencontainers.image.ref.name", "");
      if (name.empty() &&
          (ref_name.find('/') != std::string::npos || ref_name.find(':') != std::string::npos)) {
        name = ref_name;
      }
      if (!name.empty()) {
        auto reference = Reference::ParseNormalized(name);
        if (reference.ok() && !reference->has_digest()) tags.push_back(reference->TagNameOnly());
      }
      std::string config_digest = manifest["config"].value("digest", "");
      if (!IsSha256Digest(config_digest)) {
        return absl::InvalidArgumentError("invalid archive: bad config digest");
      }
      RETURN_IF_ERROR(add_image(blob_path(config_digest), layers, layer_digests, std::move(tags)));
    }
  } else {
    return absl::InvalidArgumentError(
        "invalid archive: neither manifest.json (docker save) nor index.json (OCI layout) found");
  }
  RETURN_IF_ERROR(CommitPending(images, progress));
  spdlog::debug("load: committed at {:.2f} s", absl::ToDoubleSeconds(absl::Now() - start));
  std::vector<std::string> ids;
  for (const PendingImage& image : images) ids.push_back(image.id);
  return ids;
}

absl::StatusOr<std::string> ImageStore::Import(const ImportOptions& options, ByteSource& tar) {
  // Everything that can be wrong with the options is checked before the
  // (possibly large) stream is read.
  std::vector<Reference> tags;
  if (!options.repository.empty()) {
    ASSIGN_OR_RETURN(Reference reference, Reference::ParseNormalized(options.repository));
    if (reference.has_digest()) {
      return absl::InvalidArgumentError("cannot import digest reference");
    }
    if (!options.tag.empty()) {
      ASSIGN_OR_RETURN(reference, reference.WithTag(options.tag));
    }
    tags.push_back(reference.TagNameOnly());
  } else if (!options.tag.empty()) {
    return absl::InvalidArgumentError("a tag needs a repository");
  }
  std::string os = "linux";
  std::string architecture = HostArchitecture();
  std::string variant;
  if (!options.platform.empty()) {
    std::vector<std::string> parts = absl::StrSplit(options.platform, '/');
    os = absl::AsciiStrToLower(parts[0]);
    if (parts.size() > 1) architecture = parts[1];
    if (parts.size() > 2) variant = parts[2];
    if (os != "linux" || parts.size() > 3) {
      return absl::InvalidArgumentError(
          absl::StrCat("\"", options.platform, "\": unsupported operating system or platform"));
    }
  }
  Json container_config = {{"Hostname", ""},       {"Domainname", ""},      {"User", ""},
                           {"AttachStdin", false}, {"AttachStdout", false}, {"AttachStderr", false},
                           {"Tty", false},         {"OpenStdin", false},    {"StdinOnce", false},
                           {"Env", nullptr},       {"Cmd", nullptr},        {"Image", ""},
                           {"Volumes", nullptr},   {"WorkingDir", ""},      {"Entrypoint", nullptr},
                           {"OnBuild", nullptr},   {"Labels", nullptr}};
  RETURN_IF_ERROR(ApplyChanges(options.changes, &container_config));

  ASSIGN_OR_RETURN(std::unique_ptr<ContentWriter> writer, content_->NewWriter());
  std::vector<char> buffer(1 << 20);
  while (true) {
    ASSIGN_OR_RETURN(size_t n, tar.Read(buffer.data(), buffer.size()));
    if (n == 0) break;
    RETURN_IF_ERROR(writer->Write(absl::string_view(buffer.data(), n)));
  }
  ASSIGN_OR_RETURN(std::string blob_digest, writer->Finish());
  if (writer->size() == 0) return absl::InvalidArgumentError("import: the archive is empty");
  Compression compression = DetectCompression(writer->head());

  std::lock_guard<std::mutex> lock(mutation_mutex_);
  ProcessLayerRemovals();
  std::vector<std::string> applied;
  std::string id;
  auto commit = [&]() -> absl::Status {
    RETURN_IF_ERROR(writer->Commit(blob_digest));
    std::string diff_id = blob_digest;
    if (compression != Compression::kNone) {
      ASSIGN_OR_RETURN(std::unique_ptr<ByteSource> blob, content_->OpenBlob(blob_digest));
      ASSIGN_OR_RETURN(std::unique_ptr<ByteSource> plain, Decompress(std::move(blob)));
      ASSIGN_OR_RETURN(StreamDigest digest, DigestStream(*plain));
      diff_id = digest.digest;
    }
    ImageRecord record;
    // stored reads gzip and zstd itself; bzip2 and xz are expanded here.
    bool expand = compression == Compression::kBzip2 || compression == Compression::kXz;
    ASSIGN_OR_RETURN(record.layers, ApplyLayers({diff_id}, {blob_digest}, {expand}, &applied));
    record.size = record.layers[0].size;

    absl::Time now = absl::Now();
    std::string created = FormatRfc3339(now);
    std::string message = options.message.empty() ? "Imported from -" : options.message;
    Json config = {
        {"architecture", architecture},
        {"comment", message},
        {"config", container_config},
        {"created", created},
        {"history", Json::array({Json{{"created", created}, {"comment", message}}})},
        {"os", os},
        {"rootfs", Json{{"type", "layers"}, {"diff_ids", Json::array({diff_id})}}},
    };
    if (!variant.empty()) config["variant"] = variant;
    ASSIGN_OR_RETURN(id, content_->WriteBlob(config.dump()));
    record.id = id;
    record.created = absl::ToUnixSeconds(now);
    std::vector<std::pair<std::string, std::string>> tag_records;
    for (const Reference& tag : tags) tag_records.emplace_back(tag.String(), id);
    return metadata_->Commit({record}, tag_records);
  };
  absl::Status status = commit();
  if (!status.ok()) {
    RollBack(applied);
    return status;
  }
  return id;
}

absl::Status ImageStore::ApplyPulledLayer(Hold& hold, const std::vector<std::string>& diff_ids,
                                          size_t index, const std::string& blob_digest,
                                          ContentWriter* blob,
                                          std::function<absl::Status()> wait_for_parent) {
  std::vector<std::string> chains = ChainIds(diff_ids);
  const std::string& chain = chains.at(index);
  {
    // Only the hold and the queueing are under the lock, not the apply: a
    // ProcessLayerRemovals runs whole under it, so once the chain is held
    // no removal can be past its hold check and about to remove it (the
    // stat below would otherwise see a layer that is going). While the layer
    // is applied, removals skip it because it is held, and loads apply it
    // beside us (stored returns whichever copy was published first).
    std::lock_guard<std::mutex> lock(mutation_mutex_);
    {
      std::lock_guard<std::mutex> holds(holds_mutex_);
      ++held_chains_[chain];
      hold.chains_.push_back(chain);
    }
    ASSIGN_OR_RETURN(LayerStat stat, layers_->StatLayer(chain));
    if (stat.exists) return absl::OkStatus();
    // Queued before it exists: see ApplyLayers. A failed apply leaves it
    // queued (stored kept nothing, so its removal is a no-op): a concurrent
    // apply of the same chain by another pull or a load may have succeeded
    // and count on the entry until its commit.
    RETURN_IF_ERROR(metadata_->QueueLayerRemoval(chain));
  }
  std::unique_ptr<ByteSource> source;
  if (blob != nullptr) {
    ASSIGN_OR_RETURN(source, blob->Open());
  } else {
    ASSIGN_OR_RETURN(source, content_->OpenBlob(blob_digest));
  }
  // Decompressed here, in another process than stored's extraction (which
  // then only hashes and writes files): inflating a gzip layer costs about as
  // much CPU as unpacking it, and the two now run on two cores.
  ASSIGN_OR_RETURN(source, Decompress(std::move(source)));
  LayerHeader header{chain, index == 0 ? "" : chains[index - 1], diff_ids[index],
                     index == 0 ? nullptr : std::move(wait_for_parent)};
  absl::StatusOr<int64_t> size = layers_->ApplyLayer(header, *source);
  if (!size.ok()) return Annotate(size.status(), absl::StrCat("applying layer ", diff_ids[index]));
  return absl::OkStatus();
}

absl::Status ImageStore::CommitPulled(const PulledImage& pulled) {
  PendingImage image;
  image.config = pulled.config;
  image.id = pulled.id;
  image.config_json = pulled.config_json;
  for (const PulledLayer& layer : pulled.layers) {
    image.layers.push_back(PendingLayer{layer.blob, layer.diff_id, layer.blob_digest});
  }
  image.tags = pulled.tags;
  image.parent = pulled.parent;
  // Images made here (commit, build) come from no repository.
  if (!pulled.repo_digest.Name().empty()) image.repo_digests.push_back(pulled.repo_digest);
  RETURN_IF_ERROR(CommitPending({image}, [](const std::string&) {}));
  if (pulled.repository.empty()) return absl::OkStatus();
  std::vector<std::string> blobs;
  for (const PulledLayer& layer : pulled.layers) blobs.push_back(layer.blob_digest);
  blobs.push_back(pulled.id);
  RecordBlobSources(blobs, pulled.repository);
  return absl::OkStatus();
}

bool ImageStore::HasBlob(const std::string& digest) { return content_->Exists(digest); }

bool ImageStore::HasChain(const std::string& chain_id) {
  auto chains = metadata_->ReferencedChains();
  return chains.ok() && chains->count(chain_id) > 0;
}

void ImageStore::RecordBlobSources(const std::vector<std::string>& blobs,
                                   const std::string& repository) {
  // Only a hint for mounts: losing one costs an upload, not correctness.
  for (const std::string& blob : blobs) {
    absl::Status status = metadata_->AddBlobSource(blob, repository);
    if (!status.ok()) spdlog::warn("recording the source of {}: {}", blob, status.ToString());
  }
}

std::vector<std::string> ImageStore::BlobSources(const std::string& digest) {
  auto sources = metadata_->BlobSources(digest);
  return sources.ok() ? *sources : std::vector<std::string>();
}

absl::Status ImageStore::AddRepoDigest(const std::string& image_id, const Reference& repo_digest) {
  std::lock_guard<std::mutex> lock(mutation_mutex_);
  auto record = metadata_->GetImage(image_id);
  if (absl::IsNotFound(record.status())) return NoSuchImage(image_id);
  RETURN_IF_ERROR(record.status());
  return metadata_->SetRepoDigest(repo_digest.String(), image_id);
}

absl::Status ImageStore::Tag(const std::string& source, const std::string& repository,
                             const std::string& tag) {
  ASSIGN_OR_RETURN(std::string id, ResolveId(source));
  ASSIGN_OR_RETURN(Reference reference, Reference::ParseNormalized(repository));
  if (reference.has_digest()) {
    return absl::InvalidArgumentError("refusing to create a tag with a digest reference");
  }
  if (!tag.empty()) {
    ASSIGN_OR_RETURN(reference, reference.WithTag(tag));
  }
  reference = reference.TagNameOnly();
  std::lock_guard<std::mutex> lock(mutation_mutex_);
  // The image may have gone between the lookup and the lock.
  auto record = metadata_->GetImage(id);
  if (absl::IsNotFound(record.status())) return NoSuchImage(source);
  RETURN_IF_ERROR(record.status());
  return metadata_->SetTag(reference.String(), id);
}

absl::Status ImageStore::DeleteImage(const std::string& id, std::vector<DeleteItem>* items) {
  // Docker lists the digest references that go with the image as untagged.
  auto record = metadata_->GetImage(id);
  if (record.ok()) {
    for (const std::string& digest : record->repo_digests) {
      auto familiar = Reference::Parse(digest);
      items->push_back(DeleteItem{familiar.ok() ? familiar->FamiliarString() : digest, ""});
    }
  }
  ASSIGN_OR_RETURN(ReleasedResources released, metadata_->DeleteImage(id));
  items->push_back(DeleteItem{"", id});
  for (const std::string& blob : released.blobs) DeleteUnreferencedBlob(blob);
  for (const std::string& chain : released.chains) items->push_back(DeleteItem{"", chain});
  ProcessLayerRemovals();
  return absl::OkStatus();
}

ImageUsers::ImageUsers(const std::set<std::string>& images) {
  for (const std::string& image : images) Add(image, "", /*running=*/false);
}

void ImageUsers::Add(const std::string& image_id, const std::string& container_id, bool running) {
  // The first container of each kind is the one named.
  (running ? running_ : stopped_).emplace(std::string(DigestHex(image_id)), container_id);
}

bool ImageUsers::Uses(const std::string& image_id) const {
  std::string hex(DigestHex(image_id));
  return running_.count(hex) > 0 || stopped_.count(hex) > 0;
}

bool ImageUsers::UsedByRunning(const std::string& image_id) const {
  return running_.count(std::string(DigestHex(image_id))) > 0;
}

std::string ImageUsers::Running(const std::string& image_id) const {
  auto it = running_.find(std::string(DigestHex(image_id)));
  return it == running_.end() ? "" : it->second.substr(0, 12);
}

std::string ImageUsers::Stopped(const std::string& image_id) const {
  auto it = stopped_.find(std::string(DigestHex(image_id)));
  return it == stopped_.end() ? "" : it->second.substr(0, 12);
}

absl::Status ImageStore::PruneParents(std::string parent, const ImageUsers& users,
                                      std::vector<DeleteItem>* items) {
  while (!parent.empty()) {
    auto record = metadata_->GetImage(parent);
    if (absl::IsNotFound(record.status())) return absl::OkStatus();
    RETURN_IF_ERROR(record.status());
    // As Moby's quiet delete of a parent: any reference, child or container
    // keeps it, silently.
    if (!record->tags.empty() || !record->repo_digests.empty()) return absl::OkStatus();
    if (users.Uses(parent)) return absl::OkStatus();
    ASSIGN_OR_RETURN(std::vector<std::string> children, metadata_->Children(parent));
    if (!children.empty()) return absl::OkStatus();
    RETURN_IF_ERROR(DeleteImage(parent, items));
    parent = record->parent;
  }
  return absl::OkStatus();
}

absl::StatusOr<std::vector<DeleteItem>> ImageStore::Remove(const std::string& reference, bool force,
                                                           const ImageUsers& users, bool prune) {
  ASSIGN_OR_RETURN(std::string id, ResolveId(reference));
  std::lock_guard<std::mutex> lock(mutation_mutex_);
  auto found = metadata_->GetImage(id);
  if (absl::IsNotFound(found.status())) return NoSuchImage(reference);
  RETURN_IF_ERROR(found.status());
  ImageRecord record = std::move(*found);
  const bool used = users.Uses(id);
  // Docker's words name the container when it is known.
  std::string user = users.Running(id);
  if (user.empty()) user = users.Stopped(id);
  std::string hex(DigestHex(id));
  std::string given = absl::StartsWith(reference, "sha256:") ? reference.substr(7) : reference;
  // As Docker's isImageIDPrefix, except that a name which is also a tag wins.
  bool by_id = IsLowerHex(given) && absl::StartsWith(hex, given);
  if (by_id && !absl::StartsWith(reference, "sha256:")) {
    auto parsed = Reference::ParseNormalized(reference);
    by_id = !parsed.ok() || !metadata_->ResolveTag(parsed->TagNameOnly().String()).ok();
  }
  std::vector<DeleteItem> items;

  if (!by_id) {
    if (!force && record.tags.size() == 1 && used) {
      return absl::FailedPreconditionError(
          absl::StrCat("conflict: unable to remove repository reference \"", reference,
                       "\" (must force) - ", user.empty() ? "a container" : "container " + user,
                       " is using its referenced image ", ShortId(id)));
    }
    ASSIGN_OR_RETURN(Reference parsed, Reference::ParseNormalized(reference));
    if (parsed.has_digest()) {
      std::string digest_reference = absl::StrCat(parsed.Name(), "@", parsed.digest());
      absl::Status untag = metadata_->RemoveRepoDigest(digest_reference);
      if (absl::IsNotFound(untag)) return NoSuchImage(reference);
      RETURN_IF_ERROR(untag);
      auto familiar = Reference::Parse(digest_reference);
      items.push_back(
          DeleteItem{familiar.ok() ? familiar->FamiliarString() : digest_reference, ""});
      if (!record.tags.empty() || record.repo_digests.size() > 1 || used) return items;
      ASSIGN_OR_RETURN(std::vector<std::string> children, metadata_->Children(id));
      if (!children.empty()) return items;
      RETURN_IF_ERROR(DeleteImage(id, &items));
      if (prune) RETURN_IF_ERROR(PruneParents(record.parent, users, &items));
      return items;
    }
    parsed = parsed.TagNameOnly();
    absl::Status untag = metadata_->RemoveTag(parsed.String());
    if (absl::IsNotFound(untag)) return NoSuchImage(reference);
    RETURN_IF_ERROR(untag);
    items.push_back(DeleteItem{parsed.FamiliarString(), ""});
    // Other tags keep the image; a container keeps it (dangling) too.
    if (record.tags.size() > 1 || used) return items;
    ASSIGN_OR_RETURN(std::vector<std::string> children, metadata_->Children(id));
    if (!children.empty()) return items;
    RETURN_IF_ERROR(DeleteImage(id, &items));
    if (prune) RETURN_IF_ERROR(PruneParents(record.parent, users, &items));
    return items;
  }

  ASSIGN_OR_RETURN(std::vector<std::string> children, metadata_->Children(id));
  if (!children.empty()) {
    return absl::FailedPreconditionError(absl::StrCat("conflict: unable to delete ", ShortId(id),
                                                      " (cannot be forced) - image has dependent "
                                                      "child images"));
  }
  // A running container's image stays, even forced (Moby's hard conflict).
  if (users.UsedByRunning(id)) {
    return absl::FailedPreconditionError(absl::StrCat(
        "conflict: unable to delete ", ShortId(id),
        " (cannot be forced) - image is being used by running container ", users.Running(id)));
  }
  if (!force && record.tags.size() > 1) {
    return absl::FailedPreconditionError(
        absl::StrCat("conflict: unable to delete ", ShortId(id),
                     " (must be forced) - image is referenced in multiple repositories"));
  }
  if (!force && used) {
    std::string stopped = users.Stopped(id);
    return absl::FailedPreconditionError(absl::StrCat(
        "conflict: unable to delete ", ShortId(id), " (must be forced) - image is being used by ",
        stopped.empty() ? "a container" : "stopped container " + stopped));
  }
  for (const std::string& tag : record.tags) RETURN_IF_ERROR(metadata_->RemoveTag(tag));
  std::vector<std::string> familiar;
  for (const std::string& tag : record.tags) {
    auto parsed = Reference::Parse(tag);
    familiar.push_back(parsed.ok() ? parsed->FamiliarString() : tag);
  }
  std::sort(familiar.begin(), familiar.end());
  for (const std::string& tag : familiar) items.push_back(DeleteItem{tag, ""});
  RETURN_IF_ERROR(DeleteImage(id, &items));
  if (prune) RETURN_IF_ERROR(PruneParents(record.parent, users, &items));
  return items;
}

}  // namespace berth::imaged
