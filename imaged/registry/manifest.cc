#include "imaged/registry/manifest.h"

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "common/digest.h"
#include "common/json.h"
#include "common/status.h"

namespace berth::imaged::registry {
namespace {

std::string NormalizeArchitecture(std::string architecture, std::string* variant) {
  architecture = absl::AsciiStrToLower(architecture);
  if (architecture == "x86_64" || architecture == "x86-64") return "amd64";
  if (architecture == "aarch64") architecture = "arm64";
  if (architecture == "arm64" && *variant == "v8") variant->clear();
  if (architecture == "armhf") {
    *variant = "v7";
    return "arm";
  }
  if (architecture == "armel") {
    *variant = "v6";
    return "arm";
  }
  return architecture;
}

absl::StatusOr<Descriptor> ParseDescriptor(const Json& json, const std::string& what) {
  if (!json.is_object()) {
    return absl::InvalidArgumentError(
        absl::StrCat("invalid manifest: ", what, " is not an object"));
  }
  Descriptor descriptor;
  descriptor.media_type = json.value("mediaType", "");
  descriptor.digest = json.value("digest", "");
  if (!IsSha256Digest(descriptor.digest)) {
    return absl::InvalidArgumentError(absl::StrCat(
        "invalid manifest: ", what, " has an unsupported digest \"", descriptor.digest, "\""));
  }
  const Json size = json.value("size", Json());
  if (!size.is_number_integer() || size.get<int64_t>() < 0) {
    return absl::InvalidArgumentError(absl::StrCat("invalid manifest: ", what, " has no size"));
  }
  descriptor.size = size.get<int64_t>();
  const Json platform = json.value("platform", Json::object());
  if (platform.is_object()) {
    descriptor.platform.os = platform.value("os", "");
    descriptor.platform.variant = platform.value("variant", "");
    descriptor.platform.architecture =
        NormalizeArchitecture(platform.value("architecture", ""), &descriptor.platform.variant);
  }
  const Json urls = json.value("urls", Json::array());
  if (urls.is_array()) {
    for (const Json& url : urls) {
      if (url.is_string()) descriptor.urls.push_back(url.get<std::string>());
    }
  }
  return descriptor;
}

}  // namespace

std::string ManifestAcceptHeader() {
  return absl::StrJoin({kDockerManifest, kDockerManifestList, kOciManifest, kOciIndex}, ", ");
}

std::string Platform::String() const {
  std::string out = absl::StrCat(os, "/", architecture);
  if (!variant.empty()) absl::StrAppend(&out, "/", variant);
  return out;
}

Platform HostPlatform() {
#if defined(__x86_64__)
  return Platform{"linux", "amd64", ""};
#elif defined(__aarch64__)
  return Platform{"linux", "arm64", ""};
#elif defined(__arm__)
  return Platform{"linux", "arm", "v7"};
#else
  return Platform{"linux", "unknown", ""};
#endif
}

absl::StatusOr<Platform> ParsePlatform(absl::string_view text) {
  if (text.empty()) return HostPlatform();
  std::vector<std::string> parts = absl::StrSplit(text, '/');
  Platform platform;
  platform.os = absl::AsciiStrToLower(parts[0]);
  if (parts.size() > 3 || platform.os.empty()) {
    return absl::InvalidArgumentError(absl::StrCat("\"", std::string(text),
                                                   "\": unknown operating system or architecture: "
                                                   "invalid argument"));
  }
  if (parts.size() > 2) platform.variant = absl::AsciiStrToLower(parts[2]);
  platform.architecture = parts.size() > 1 ? NormalizeArchitecture(parts[1], &platform.variant)
                                           : HostPlatform().architecture;
  return platform;
}

absl::StatusOr<Manifest> ParseManifest(absl::string_view content_type, absl::string_view body,
                                       const std::string& reference) {
  auto json = ParseJson(std::string(body));
  if (!json.ok() || !json->is_object()) {
    return absl::InvalidArgumentError(
        absl::StrCat("invalid manifest for ", reference, ": not a JSON object"));
  }
  Manifest manifest;
  // "application/json; charset=utf-8" and the like: the parameters don't matter.
  std::string type(content_type.substr(0, content_type.find(';')));
  absl::StripAsciiWhitespace(&type);
  manifest.media_type = json->value("mediaType", type);
  const Json version = json->value("schemaVersion", Json());
  if (manifest.media_type == kSchema1Manifest || manifest.media_type == kSchema1Signed ||
      (version.is_number_integer() && version.get<int>() == 1)) {
    return absl::InvalidArgumentError(absl::StrCat(
        "Docker Image Format v1 and Docker Image manifest version 2, schema 1 support has been "
        "removed. Suggest the author of ",
        reference,
        " to upgrade the image to the OCI Format or Docker Image manifest v2, schema 2. More "
        "information at https://docs.docker.com/go/deprecated-image-specs/"));
  }
  if (!version.is_number_integer() || version.get<int>() != 2) {
    return absl::InvalidArgumentError(
        absl::StrCat("invalid manifest for ", reference, ": unsupported schemaVersion"));
  }
  if (json->contains("manifests")) {
    if (!(*json)["manifests"].is_array()) {
      return absl::InvalidArgumentError("invalid manifest: manifests is not an array");
    }
    if (manifest.media_type.empty() || manifest.media_type == "application/json") {
      manifest.media_type = kOciIndex;
    }
    if (manifest.media_type != kDockerManifestList && manifest.media_type != kOciIndex) {
      return absl::InvalidArgumentError(absl::StrCat("invalid manifest for ", reference,
                                                     ": media type ", manifest.media_type,
                                                     " does not match a list of manifests"));
    }
    manifest.is_index = true;
    for (const Json& entry : (*json)["manifests"]) {
      ASSIGN_OR_RETURN(Descriptor descriptor, ParseDescriptor(entry, "manifest entry"));
      manifest.manifests.push_back(std::move(descriptor));
    }
    return manifest;
  }
  if (manifest.media_type.empty() || manifest.media_type == "application/json") {
    manifest.media_type = kOciManifest;
  }
  if (manifest.media_type != kDockerManifest && manifest.media_type != kOciManifest) {
    return absl::InvalidArgumentError(
        absl::StrCat("unsupported manifest media type ", manifest.media_type, " for ", reference));
  }
  if (!json->contains("config")) {
    return absl::InvalidArgumentError(
        absl::StrCat("invalid manifest for ", reference, ": no config"));
  }
  ASSIGN_OR_RETURN(manifest.config, ParseDescriptor((*json)["config"], "config"));
  const Json layers = json->value("layers", Json::array());
  if (!layers.is_array()) {
    return absl::InvalidArgumentError("invalid manifest: layers is not an array");
  }
  for (const Json& entry : layers) {
    ASSIGN_OR_RETURN(Descriptor descriptor, ParseDescriptor(entry, "layer"));
    manifest.layers.push_back(std::move(descriptor));
  }
  return manifest;
}

absl::StatusOr<Descriptor> SelectPlatform(const Manifest& index, const Platform& platform) {
  const Descriptor* best = nullptr;
  for (const Descriptor& entry : index.manifests) {
    if (entry.platform.os != platform.os || entry.platform.architecture != platform.architecture) {
      continue;
    }
    if (!platform.variant.empty()) {
      if (entry.platform.variant == platform.variant) return entry;
      continue;
    }
    // No variant asked for: the first match, preferring one without a variant.
    if (best == nullptr || (!best->platform.variant.empty() && entry.platform.variant.empty())) {
      best = &entry;
    }
  }
  if (best != nullptr) return *best;
  return absl::NotFoundError(absl::StrCat("no matching manifest for ", platform.String(),
                                          " in the manifest list entries"));
}

}  // namespace berth::imaged::registry
