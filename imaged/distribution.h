// docker pull, push and login: the registry client (imaged/registry) on one
// side, the image store on the other. A pull downloads every blob into an
// uncommitted content writer, verifying its digest as it streams, and hands
// the lot to ImageStore::CommitPulled, so a failed pull leaves nothing
// visible and no blob behind (uncommitted writers are discarded).
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "imaged/content_store.h"
#include "imaged/image_store.h"
#include "imaged/ordered_applier.h"
#include "imaged/registry/blob_downloads.h"
#include "imaged/registry/client.h"
#include "imaged/registry/http.h"
#include "imaged/registry/manifest.h"

namespace berth::imaged {

struct RegistryOptions {
  // daemon.json "insecure-registries": "host[:port]" or IPv4 CIDRs reached over
  // plain HTTP. Loopback addresses and localhost always are.
  std::vector<std::string> insecure_registries;
  // daemon.json "registry-mirrors": URLs tried before Docker Hub for its images.
  std::vector<std::string> registry_mirrors;
  // Docker's certs.d: <certs_dir>/<host[:port]>/ca.crt is trusted for that
  // registry, which is then reached over HTTPS.
  std::string certs_dir = "/etc/docker/certs.d";
  int max_concurrent_downloads = 3;
  int max_concurrent_uploads = 5;
  // Layers of a pull unpacked at once; 0: max_concurrent_downloads, at most
  // one per core (unpacking is CPU and disk bound). daemon.json
  // "max-concurrent-applies" (berth's own key).
  int max_concurrent_applies = 0;
  registry::RetryPolicy retry;
  // Where layers are downloaded and kept until their image is committed, so
  // that an interrupted pull resumes (see registry/blob_downloads.h). Must be
  // on the content store's file system. Empty: layers are downloaded into
  // the content store's ingest and an interrupted pull starts over.
  std::string downloads_dir;
  // Blobs larger than this go up in chunks of this size (PATCH with
  // Content-Range, then PUT); smaller ones in one PUT. daemon.json
  // "upload-chunk-size" (berth's own key).
  int64_t upload_chunk_size = 16 << 20;
  // Layers kept as plain tars are pushed gzip-compressed, as Docker does.
  bool compress_on_push = true;
  // Where what a plain layer compressed to is remembered (see
  // LookupCompressed in distribution.cc); empty: nowhere.
  std::string compressed_dir;
  // Downloads untouched for this long are removed when imaged starts.
  int64_t download_expiry_seconds = 24 * 3600;
};

// Reads "insecure-registries", "registry-mirrors", "max-concurrent-downloads" and
// "max-concurrent-uploads" from a daemon.json text, and berth's own
// "certs-dir" (Docker has it fixed at /etc/docker/certs.d; tests need a
// private one), "upload-chunk-size" and "max-concurrent-applies". Absent keys
// keep their defaults.
absl::Status ApplyDaemonConfig(const std::string& json_text, RegistryOptions* options);

// One line of Docker's progress stream.
struct ProgressEvent {
  std::string status;
  std::string id;
  int64_t current = 0;
  int64_t total = 0;
  // Set on the aux message of a push ({"Tag":..,"Digest":..,"Size":..}).
  std::string aux_json;
};
// Called from several threads, one call at a time. Returns false when nobody
// listens any more (the client went away): the operation is then cancelled.
using ProgressSink = std::function<bool(const ProgressEvent& event)>;

// How berth reaches the registry of a reference domain.
registry::Endpoint ResolveEndpoint(const RegistryOptions& options, const std::string& domain);
// True for localhost, 127.0.0.0/8, ::1 and the insecure registries.
bool IsInsecureRegistry(const RegistryOptions& options, const std::string& host);

class Distribution {
 public:
  // Not owned; must outlive this object.
  Distribution(ImageStore* store, ContentStore* content, registry::HttpTransport* http,
               RegistryOptions options);

  // reference as the user wrote it ("busybox", "127.0.0.1:5000/a:v1",
  // "a@sha256:..."); platform "os/arch[/variant]" or empty for the host's.
  // Errors before the first progress event mean nothing was started.
  absl::Status Pull(const std::string& reference, const std::string& platform,
                    const registry::Credentials& credentials, const ProgressSink& progress);
  // Pushes repository:tag, or every tag of the repository when there is none.
  absl::Status Push(const std::string& reference, const registry::Credentials& credentials,
                    const ProgressSink& progress);
  struct RemoteImage {
    registry::Descriptor descriptor;
    std::vector<registry::Platform> platforms;
  };
  // What the registry has under reference: the manifest's descriptor and the
  // platforms it serves (an index's entries, or the config's platform).
  absl::StatusOr<RemoteImage> Inspect(const std::string& reference,
                                      const registry::Credentials& credentials);
  // Checks credentials against server ("127.0.0.1:5000", "http://host:port/").
  // Returns the identity token (an OAuth refresh token) when the registry's
  // token service gave one, which the client keeps instead of the password.
  absl::StatusOr<std::string> Login(const std::string& server,
                                    const registry::Credentials& credentials);

 private:
  // Where a pull from domain goes: Docker Hub's mirrors first, then the registry.
  std::vector<registry::Endpoint> PullEndpoints(const std::string& domain) const;
  absl::Status PushImage(registry::RegistryClient& client, const Reference& reference,
                         const ImageInfo& image, const ProgressSink& progress);
  // Downloads a blob into a new writer, verifying size and digest; retries
  // transient failures. on_bytes reports progress; false from it cancels.
  // Layers go through downloads_ when there is one.
  absl::StatusOr<std::unique_ptr<ContentWriter>> Download(
      registry::RegistryClient& client, const std::string& repository,
      const registry::Descriptor& blob, const std::function<bool(int64_t)>& on_bytes);
  absl::StatusOr<std::unique_ptr<ContentWriter>> DownloadLayer(
      registry::RegistryClient& client, const std::string& repository,
      const registry::Descriptor& blob, const std::function<bool(int64_t)>& on_bytes);

  ImageStore* store_;
  ContentStore* content_;
  registry::HttpTransport* http_;
  RegistryOptions options_;
  // Null without a downloads_dir (or when it cannot be opened).
  std::unique_ptr<registry::BlobDownloads> downloads_;
};

}  // namespace berth::imaged
