#include "imaged/commit.h"

#include <map>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "common/reference.h"
#include "common/status.h"
#include "imaged/changes.h"

namespace berth::imaged {
namespace {

std::string HostArchitecture() {
#if defined(__x86_64__)
  return "amd64";
#elif defined(__aarch64__)
  return "arm64";
#else
  return "unknown";
#endif
}

absl::StatusOr<Reference> TagReference(const std::string& repository, const std::string& tag) {
  ASSIGN_OR_RETURN(Reference reference, Reference::ParseNormalized(repository));
  if (reference.has_digest()) {
    return absl::InvalidArgumentError("refusing to create a tag with a digest reference");
  }
  if (!tag.empty()) {
    ASSIGN_OR_RETURN(reference, reference.WithTag(tag));
  }
  return reference.TagNameOnly();
}

}  // namespace

absl::StatusOr<StoredLayer> StoreLayerBlob(ContentStore* content, ByteSource& tar) {
  ASSIGN_OR_RETURN(std::unique_ptr<ContentWriter> writer, content->NewWriter());
  std::string buffer(1 << 20, '\0');
  while (true) {
    ASSIGN_OR_RETURN(size_t n, tar.Read(buffer.data(), buffer.size()));
    if (n == 0) break;
    RETURN_IF_ERROR(writer->Write(absl::string_view(buffer.data(), n)));
  }
  ASSIGN_OR_RETURN(std::string digest, writer->Finish());
  // No image references an empty layer (it is an empty_layer history entry),
  // so there is nothing to keep.
  if (digest == kEmptyLayerDiffId) return StoredLayer{digest, writer->size()};
  RETURN_IF_ERROR(writer->Commit(digest));
  return StoredLayer{digest, writer->size()};
}

absl::StatusOr<std::string> StoreLocalImage(ImageStore* store, ContentStore* content,
                                            const Json& config, const std::vector<ImageInfo>& known,
                                            const std::vector<std::string>& tags,
                                            const std::string& parent) {
  std::map<std::string, std::string> blobs;
  for (const ImageInfo& image : known) {
    for (size_t i = 0; i < image.diff_ids.size() && i < image.blob_digests.size(); ++i) {
      blobs.emplace(image.diff_ids[i], image.blob_digests[i]);
    }
  }
  PulledImage image;
  image.parent = parent;
  image.config_json = config.dump();
  ASSIGN_OR_RETURN(image.id, content->WriteBlob(image.config_json));
  if (config.contains("rootfs") && config["rootfs"].contains("diff_ids")) {
    for (const Json& diff : config["rootfs"]["diff_ids"]) {
      std::string diff_id = diff.get<std::string>();
      auto it = blobs.find(diff_id);
      std::string blob = it != blobs.end() ? it->second : diff_id;
      if (it == blobs.end() && !content->Exists(blob)) {
        return absl::InternalError(absl::StrCat("layer ", diff_id, " has no blob"));
      }
      image.layers.push_back(PulledLayer{nullptr, blob, diff_id});
    }
  }
  for (const std::string& tag : tags) {
    ASSIGN_OR_RETURN(Reference reference, TagReference(tag, ""));
    image.tags.push_back(std::move(reference));
  }
  RETURN_IF_ERROR(store->CommitPulled(image));
  return image.id;
}

Json ChildImageConfig(const Json& parent_config, const Json& container_config,
                      const std::string& diff_id, const std::string& created_by,
                      const std::string& author, const std::string& comment) {
  Json config = Json::object();
  config["architecture"] = HostArchitecture();
  config["os"] = "linux";
  Json history = Json::array();
  Json diff_ids = Json::array();
  if (parent_config.is_object()) {
    for (const char* key : {"architecture", "os", "variant", "os.version"}) {
      if (parent_config.contains(key)) config[key] = parent_config[key];
    }
    if (parent_config.contains("history") && parent_config["history"].is_array()) {
      history = parent_config["history"];
    }
    if (parent_config.contains("rootfs") && parent_config["rootfs"].contains("diff_ids")) {
      diff_ids = parent_config["rootfs"]["diff_ids"];
    }
  }
  std::string created = absl::FormatTime("%Y-%m-%dT%H:%M:%E9SZ", absl::Now(), absl::UTCTimeZone());
  config["created"] = created;
  if (!author.empty()) config["author"] = author;
  if (!comment.empty()) config["comment"] = comment;
  config["config"] = container_config;
  Json entry = {{"created", created}, {"created_by", created_by}};
  if (!author.empty()) entry["author"] = author;
  if (!comment.empty()) entry["comment"] = comment;
  if (diff_id.empty() || diff_id == kEmptyLayerDiffId) {
    entry["empty_layer"] = true;
  } else {
    diff_ids.push_back(diff_id);
  }
  history.push_back(entry);
  config["history"] = history;
  config["rootfs"] = {{"type", "layers"}, {"diff_ids", diff_ids}};
  return config;
}

absl::StatusOr<std::string> ContainerCommitter::Commit(const CommitOptions& options) {
  // What can be wrong with the options is found before the diff is taken.
  std::vector<std::string> tags;
  if (!options.repository.empty()) {
    ASSIGN_OR_RETURN(Reference reference, TagReference(options.repository, options.tag));
    tags.push_back(reference.String());
  } else if (!options.tag.empty()) {
    return absl::InvalidArgumentError("a tag needs a repository");
  }
  Json config = options.container_config.is_object() ? options.container_config : Json::object();
  // Moby's created_by: the container's command before --change.
  std::vector<std::string> command;
  if (config.contains("Cmd") && config["Cmd"].is_array()) {
    for (const Json& arg : config["Cmd"]) {
      if (arg.is_string()) command.push_back(arg.get<std::string>());
    }
  }
  RETURN_IF_ERROR(ApplyChanges(options.changes, &config));

  std::vector<ImageInfo> known;
  Json parent_config;
  if (!options.image_id.empty()) {
    ASSIGN_OR_RETURN(ImageInfo parent, store_->Get(options.image_id));
    auto parsed = ParseJson(parent.config_json);
    if (parsed.ok()) parent_config = *parsed;
    known.push_back(std::move(parent));
  }

  ASSIGN_OR_RETURN(std::unique_ptr<ByteSource> tar,
                   changes_->OpenChanges(options.container_id, options.excluded_paths));
  ASSIGN_OR_RETURN(StoredLayer layer, StoreLayerBlob(content_, *tar));
  Json image_config =
      ChildImageConfig(parent_config, config, layer.diff_id, absl::StrJoin(command, " "),
                       options.author, options.comment);
  return StoreLocalImage(store_, content_, image_config, known, tags,
                         known.empty() ? "" : known[0].id);
}

}  // namespace berth::imaged
