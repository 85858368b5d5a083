// Registry manifests (Docker schema2, OCI image manifests, manifest lists and
// OCI indexes) and platform selection among the entries of a list.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace berth::imaged::registry {

inline constexpr char kDockerManifest[] = "application/vnd.docker.distribution.manifest.v2+json";
inline constexpr char kDockerManifestList[] =
    "application/vnd.docker.distribution.manifest.list.v2+json";
inline constexpr char kDockerConfig[] = "application/vnd.docker.container.image.v1+json";
inline constexpr char kDockerLayerGzip[] = "application/vnd.docker.image.rootfs.diff.tar.gzip";
inline constexpr char kDockerLayerTar[] = "application/vnd.docker.image.rootfs.diff.tar";
inline constexpr char kOciManifest[] = "application/vnd.oci.image.manifest.v1+json";
inline constexpr char kOciIndex[] = "application/vnd.oci.image.index.v1+json";
inline constexpr char kOciLayerZstd[] = "application/vnd.oci.image.layer.v1.tar+zstd";
inline constexpr char kSchema1Manifest[] = "application/vnd.docker.distribution.manifest.v1+json";
inline constexpr char kSchema1Signed[] =
    "application/vnd.docker.distribution.manifest.v1+prettyjws";

// The Accept header of a manifest request: every format berth understands.
std::string ManifestAcceptHeader();

struct Platform {
  std::string os;
  std::string architecture;
  std::string variant;

  // "linux/amd64", "linux/arm64/v8".
  std::string String() const;
};

// The platform berth runs on (linux and the architecture it was built for).
Platform HostPlatform();
// Parses "os[/arch[/variant]]" as --platform gives it, normalising
// architecture aliases (x86_64 -> amd64, aarch64 -> arm64). Empty text is the
// host's platform.
absl::StatusOr<Platform> ParsePlatform(absl::string_view text);

struct Descriptor {
  std::string media_type;
  std::string digest;
  int64_t size = 0;
  // Only for the entries of a list or index.
  Platform platform;
  // Foreign layers are fetched from these URLs instead of the registry.
  std::vector<std::string> urls;
};

struct Manifest {
  // An index (manifest list) has manifests; an image manifest has config and layers.
  bool is_index = false;
  std::string media_type;
  Descriptor config;
  std::vector<Descriptor> layers;
  std::vector<Descriptor> manifests;
};

// Parses a manifest body. content_type is the response's Content-Type (the
// body's own mediaType wins when present). Schema 1 is refused with Docker's
// message; reference names the image in it.
absl::StatusOr<Manifest> ParseManifest(absl::string_view content_type, absl::string_view body,
                                       const std::string& reference);

// The entry of an index for platform: os and architecture must match; a
// variant must match when one is asked for. NotFound with Docker's text
// ("no matching manifest for linux/amd64 in the manifest list entries").
absl::StatusOr<Descriptor> SelectPlatform(const Manifest& index, const Platform& platform);

}  // namespace berth::imaged::registry
