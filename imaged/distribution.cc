#include "imaged/distribution.h"

#include <arpa/inet.h>
#include <sys/stat.h>
#include <zlib.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <mutex>
#include <optional>
#include <thread>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "common/digest.h"
#include "common/fs.h"
#include "common/json.h"
#include "common/log.h"
#include "common/status.h"
#include "imaged/layers.h"
#include "imaged/registry/manifest.h"

namespace berth::imaged {
namespace {

using registry::Credentials;
using registry::Descriptor;
using registry::RegistryClient;

constexpr int64_t kProgressStep = 512 << 10;
// Configs are small; a larger one is a broken or hostile registry.
constexpr int64_t kMaxConfigSize = 16 << 20;

std::string ShortHex(const std::string& digest) {
  return std::string(DigestHex(digest)).substr(0, 12);
}

bool FileExists(const std::string& path) {
  struct stat info;
  return stat(path.c_str(), &info) == 0;
}

// The host without its port ("[::1]:5000" is "::1").
std::string HostOnly(const std::string& host) {
  if (absl::StartsWith(host, "[")) {
    size_t end = host.find(']');
    return end == std::string::npos ? host : host.substr(1, end - 1);
  }
  size_t colon = host.rfind(':');
  return colon == std::string::npos ? host : host.substr(0, colon);
}

bool InCidr(const std::string& address, const std::string& cidr) {
  std::vector<std::string> parts = absl::StrSplit(cidr, '/');
  int bits = 0;
  if (parts.size() != 2 || !absl::SimpleAtoi(parts[1], &bits) || bits < 0 || bits > 32) {
    return false;
  }
  in_addr net{}, addr{};
  if (inet_pton(AF_INET, parts[0].c_str(), &net) != 1 ||
      inet_pton(AF_INET, address.c_str(), &addr) != 1) {
    return false;
  }
  uint32_t mask = bits == 0 ? 0 : htonl(~uint32_t{0} << (32 - bits));
  return (net.s_addr & mask) == (addr.s_addr & mask);
}

// The layer's media type when pushed as it is stored.
std::string LayerMediaType(ContentStore& content, const std::string& digest) {
  auto source = content.OpenBlob(digest);
  if (source.ok()) {
    char head[16];
    size_t filled = 0;
    while (filled < sizeof(head)) {
      auto n = (*source)->Read(head + filled, sizeof(head) - filled);
      if (!n.ok() || *n == 0) break;
      filled += *n;
    }
    switch (DetectCompression(absl::string_view(head, filled))) {
      case Compression::kGzip:
        return registry::kDockerLayerGzip;
      case Compression::kZstd:
        return registry::kOciLayerZstd;
      default:
        break;
    }
  }
  return registry::kDockerLayerTar;
}

absl::Status Cancelled() { return absl::CancelledError("cancelled: the client went away"); }

// Counts what the upload reads, for the progress bar.
class CountingSource : public ByteSource {
 public:
  // on_bytes returns false to abort the upload.
  CountingSource(ByteSource* inner, std::function<bool(int64_t)> on_bytes)
      : inner_(inner), on_bytes_(std::move(on_bytes)) {}
  absl::StatusOr<size_t> Read(char* buffer, size_t n) override {
    ASSIGN_OR_RETURN(size_t count, inner_->Read(buffer, n));
    total_ += static_cast<int64_t>(count);
    if (!on_bytes_(total_)) return Cancelled();
    return count;
  }

 private:
  ByteSource* inner_;
  std::function<bool(int64_t)> on_bytes_;
  int64_t total_ = 0;
};

// Serialises progress from worker threads, throttles byte counts, and
// remembers when the listener went away.
class Reporter {
 public:
  explicit Reporter(const ProgressSink& sink) : sink_(sink) {}
  void Status(const std::string& status, const std::string& id = "") {
    Send(ProgressEvent{status, id, 0, 0, ""});
  }
  // False once the listener is gone.
  bool Bytes(const std::string& status, const std::string& id, int64_t current, int64_t total,
             int64_t* last) {
    if (current - *last < kProgressStep && current != total) return !gone_;
    *last = current;
    Send(ProgressEvent{status, id, current, total, ""});
    return !gone_;
  }
  void Aux(const std::string& status, const std::string& aux_json) {
    if (!status.empty()) Send(ProgressEvent{status, "", 0, 0, ""});
    Send(ProgressEvent{"", "", 0, 0, aux_json});
  }
  bool gone() const { return gone_; }

 private:
  void Send(const ProgressEvent& event) {
    std::lock_guard<std::mutex> lock(mutex_);
    if (!sink_(event)) gone_ = true;
  }
  const ProgressSink& sink_;
  std::mutex mutex_;
  std::atomic<bool> gone_{false};
};

// The config's rootfs.diff_ids, which must match the manifest's layers.
absl::StatusOr<std::vector<std::string>> DiffIds(const Json& config, size_t layer_count) {
  std::vector<std::string> diff_ids;
  const Json rootfs = config.value("rootfs", Json::object());
  for (const Json& diff_id : rootfs.value("diff_ids", Json::array())) {
    if (!diff_id.is_string() || !IsSha256Digest(diff_id.get<std::string>())) {
      return absl::InvalidArgumentError("invalid image config: bad diff ID in rootfs.diff_ids");
    }
    diff_ids.push_back(diff_id.get<std::string>());
  }
  if (diff_ids.size() != layer_count) {
    return absl::InvalidArgumentError(
        absl::StrCat("invalid manifest, layers length mismatch: expected ", diff_ids.size(),
                     ", got ", layer_count));
  }
  return diff_ids;
}

// Up to n bytes of source (fewer only at its end).
absl::StatusOr<std::string> ReadChunk(ByteSource& source, size_t n) {
  std::string chunk(n, '\0');
  size_t filled = 0;
  while (filled < n) {
    ASSIGN_OR_RETURN(size_t got, source.Read(chunk.data() + filled, n - filled));
    if (got == 0) break;
    filled += got;
  }
  chunk.resize(filled);
  return chunk;
}

// Compresses a source to gzip, one chunk at a time, hashing what it emits.
// zlib's gzip header carries no time or name, so the same layer compresses to
// the same bytes (and digest) each time.
class GzipChunks {
 public:
  GzipChunks(ByteSource* input, size_t chunk_size) : input_(input), chunk_size_(chunk_size) {
    // Fastest level: a push is waiting on it, and a layer is compressed once
    // per registry (the result is remembered).
    ok_ = deflateInit2(&stream_, Z_BEST_SPEED, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY) == Z_OK;
  }
  ~GzipChunks() {
    if (ok_) deflateEnd(&stream_);
  }
  // The next chunk; empty after the end.
  absl::StatusOr<std::string> Next() {
    if (!ok_) return absl::InternalError("gzip: deflateInit2 failed");
    if (finished_) return std::string();
    std::string out(chunk_size_, '\0');
    stream_.next_out = reinterpret_cast<Bytef*>(out.data());
    stream_.avail_out = static_cast<uInt>(out.size());
    while (stream_.avail_out > 0 && !finished_) {
      if (stream_.avail_in == 0 && !input_done_) {
        AdaptLevel();
        ASSIGN_OR_RETURN(size_t n, input_->Read(buffer_.data(), buffer_.size()));
        if (n == 0) input_done_ = true;
        stream_.next_in = reinterpret_cast<Bytef*>(buffer_.data());
        stream_.avail_in = static_cast<uInt>(n);
      }
      int rc = deflate(&stream_, input_done_ ? Z_FINISH : Z_NO_FLUSH);
      if (rc == Z_STREAM_END) {
        finished_ = true;
      } else if (rc != Z_OK && rc != Z_BUF_ERROR) {
        return absl::InternalError(absl::StrCat("gzip: deflate failed (", rc, ")"));
      }
    }
    out.resize(out.size() - stream_.avail_out);
    hasher_.Update(out.data(), out.size());
    size_ += static_cast<int64_t>(out.size());
    return out;
  }
  // Valid after the last chunk.
  std::string Digest() {
    if (digest_.empty()) digest_ = hasher_.Finish();
    return digest_;
  }
  int64_t size() const { return size_; }

 private:
  // Data that does not compress (compressed files, random bytes) is stored
  // rather than deflated: deflate would spend most of a push on it for
  // little. An input block that deflate saved less than 10% of switches to
  // storing (a tar of random files saves ~4%: its headers); deflate is tried
  // again every 8 blocks. The result is gzip either way (stored blocks).
  void AdaptLevel() {
    const uLong in = stream_.total_in - block_in_;
    const uLong out = stream_.total_out - block_out_;
    if (in > 0) {
      int want = level_;
      if (level_ != Z_NO_COMPRESSION && out * 100 > in * 90) {
        want = Z_NO_COMPRESSION;
        stored_blocks_ = 0;
      } else if (level_ == Z_NO_COMPRESSION && ++stored_blocks_ >= 8) {
        want = Z_BEST_SPEED;
      }
      // Without room to flush what is pending the switch waits a block.
      if (want != level_ && stream_.avail_out > 0 &&
          deflateParams(&stream_, want, Z_DEFAULT_STRATEGY) == Z_OK) {
        level_ = want;
      }
    }
    block_in_ = stream_.total_in;
    block_out_ = stream_.total_out;
  }

  ByteSource* input_;
  size_t chunk_size_;
  int level_ = Z_BEST_SPEED;
  int stored_blocks_ = 0;
  uLong block_in_ = 0;
  uLong block_out_ = 0;
  z_stream stream_{};
  bool ok_ = false;
  bool input_done_ = false;
  bool finished_ = false;
  std::vector<char> buffer_ = std::vector<char>(1 << 20);
  Sha256 hasher_;
  std::string digest_;
  int64_t size_ = 0;
};

// What a plain layer compressed to: <dir>/<hex of the plain blob> holds
// "<gzip digest> <size>". Only a hint: the registry is asked whether it has
// that blob before it is used, and losing the file costs a compression.
struct CompressedLayer {
  std::string digest;
  int64_t size = 0;
};

std::optional<CompressedLayer> LookupCompressed(const std::string& dir, const std::string& digest) {
  if (dir.empty()) return std::nullopt;
  auto text = ReadFile(absl::StrCat(dir, "/", std::string(DigestHex(digest))));
  if (!text.ok()) return std::nullopt;
  std::vector<std::string> parts = absl::StrSplit(*text, ' ');
  CompressedLayer layer;
  if (parts.size() != 2 || !IsSha256Digest(parts[0]) || !absl::SimpleAtoi(parts[1], &layer.size)) {
    return std::nullopt;
  }
  layer.digest = parts[0];
  return layer;
}

void RememberCompressed(const std::string& dir, const std::string& digest,
                        const CompressedLayer& layer) {
  if (dir.empty()) return;
  absl::Status status = MakeDirs(dir, 0700);
  if (status.ok()) {
    status = WriteFileAtomic(absl::StrCat(dir, "/", std::string(DigestHex(digest))),
                             absl::StrCat(layer.digest, " ", layer.size));
  }
  if (!status.ok()) spdlog::warn("remembering the gzip of {}: {}", digest, status.ToString());
}

}  // namespace

absl::Status ApplyDaemonConfig(const std::string& json_text, RegistryOptions* options) {
  ASSIGN_OR_RETURN(Json config, ParseJson(json_text));
  if (!config.is_object()) return absl::InvalidArgumentError("daemon config is not an object");
  if (config.contains("insecure-registries")) {
    const Json& list = config["insecure-registries"];
    if (!list.is_array()) {
      return absl::InvalidArgumentError("insecure-registries must be a list");
    }
    for (const Json& entry : list) {
      if (entry.is_string()) options->insecure_registries.push_back(entry.get<std::string>());
    }
  }
  if (config.contains("certs-dir")) {
    if (!config["certs-dir"].is_string()) {
      return absl::InvalidArgumentError("certs-dir must be a path");
    }
    options->certs_dir = config["certs-dir"].get<std::string>();
  }
  auto read_int = [&](const char* key, int* out) -> absl::Status {
    if (!config.contains(key)) return absl::OkStatus();
    if (!config[key].is_number_integer() || config[key].get<int>() < 1) {
      return absl::InvalidArgumentError(absl::StrCat(key, " must be a positive integer"));
    }
    *out = config[key].get<int>();
    return absl::OkStatus();
  };
  if (config.contains("registry-mirrors")) {
    const Json& list = config["registry-mirrors"];
    if (!list.is_array()) return absl::InvalidArgumentError("registry-mirrors must be a list");
    for (const Json& entry : list) {
      if (!entry.is_string() || (!absl::StartsWith(entry.get<std::string>(), "http://") &&
                                 !absl::StartsWith(entry.get<std::string>(), "https://"))) {
        return absl::InvalidArgumentError(
            "invalid mirror: registry-mirrors entries must be http:// or https:// URLs");
      }
      options->registry_mirrors.push_back(entry.get<std::string>());
    }
  }
  RETURN_IF_ERROR(read_int("max-concurrent-downloads", &options->max_concurrent_downloads));
  RETURN_IF_ERROR(read_int("max-concurrent-uploads", &options->max_concurrent_uploads));
  RETURN_IF_ERROR(read_int("max-concurrent-applies", &options->max_concurrent_applies));
  if (config.contains("upload-chunk-size")) {
    const Json& value = config["upload-chunk-size"];
    if (!value.is_number_integer() || value.get<int64_t>() < 4096) {
      return absl::InvalidArgumentError("upload-chunk-size must be a number of bytes >= 4096");
    }
    options->upload_chunk_size = value.get<int64_t>();
  }
  return absl::OkStatus();
}

bool IsInsecureRegistry(const RegistryOptions& options, const std::string& host) {
  std::string address = HostOnly(host);
  if (address == "localhost" || address == "::1") return true;
  if (InCidr(address, "127.0.0.0/8")) return true;
  for (const std::string& entry : options.insecure_registries) {
    absl::string_view view(entry);
    absl::ConsumePrefix(&view, "http://");
    absl::ConsumePrefix(&view, "https://");
    std::string cleaned(view);
    if (cleaned == host || cleaned == address) return true;
    if (cleaned.find('/') != std::string::npos && InCidr(address, cleaned)) return true;
  }
  return false;
}

registry::Endpoint ResolveEndpoint(const RegistryOptions& options, const std::string& domain) {
  registry::Endpoint endpoint;
  endpoint.host = domain;
  if (domain == "docker.io" || domain == "index.docker.io") {
    endpoint.host = "registry-1.docker.io";
  }
  std::string ca = absl::StrCat(options.certs_dir, "/", domain, "/ca.crt");
  if (!options.certs_dir.empty() && FileExists(ca)) {
    endpoint.scheme = "https";
    endpoint.ca_file = ca;
  } else if (IsInsecureRegistry(options, domain)) {
    endpoint.scheme = "http";
  }
  return endpoint;
}

Distribution::Distribution(ImageStore* store, ContentStore* content, registry::HttpTransport* http,
                           RegistryOptions options)
    : store_(store), content_(content), http_(http), options_(std::move(options)) {
  if (options_.downloads_dir.empty()) return;
  auto downloads =
      registry::BlobDownloads::Open(options_.downloads_dir, options_.download_expiry_seconds);
  if (downloads.ok()) {
    downloads_ = std::move(*downloads);
  } else {
    spdlog::error("pulls will not resume: {}", downloads.status().ToString());
  }
}

absl::StatusOr<std::unique_ptr<ContentWriter>> Distribution::DownloadLayer(
    RegistryClient& client, const std::string& repository, const Descriptor& blob,
    const std::function<bool(int64_t)>& on_bytes) {
  if (downloads_ == nullptr) return Download(client, repository, blob, on_bytes);
  ASSIGN_OR_RETURN(std::string path,
                   downloads_->Fetch(client, repository, blob, options_.retry, on_bytes));
  auto writer = content_->Adopt(path, blob.digest);
  // A concurrent pull of the same layer committed the file first: the layer
  // is here, nothing is left to commit (a null writer says so).
  if (!writer.ok() && content_->Exists(blob.digest)) return std::unique_ptr<ContentWriter>();
  return writer;
}

absl::StatusOr<std::unique_ptr<ContentWriter>> Distribution::Download(
    RegistryClient& client, const std::string& repository, const Descriptor& blob,
    const std::function<bool(int64_t)>& on_bytes) {
  int backoff_ms = options_.retry.first_backoff_ms;
  for (int attempt = 1;; ++attempt) {
    ASSIGN_OR_RETURN(std::unique_ptr<ContentWriter> writer, content_->NewWriter());
    int64_t received = 0;
    registry::BodySink sink = [&](absl::string_view data) -> absl::Status {
      received += static_cast<int64_t>(data.size());
      if (received > blob.size) {
        return absl::InvalidArgumentError(absl::StrCat("blob ", blob.digest, " is larger than the ",
                                                       blob.size, " bytes its manifest says"));
      }
      RETURN_IF_ERROR(writer->Write(data));
      if (!on_bytes(received)) return Cancelled();
      return absl::OkStatus();
    };
    absl::Status status = client.FetchBlob(repository, blob.digest, sink);
    if (status.ok() && received != blob.size) {
      status = absl::UnavailableError(absl::StrCat("blob ", blob.digest, " was truncated: got ",
                                                   received, " of ", blob.size, " bytes"));
    }
    if (status.ok()) {
      ASSIGN_OR_RETURN(std::string digest, writer->Finish());
      if (digest != blob.digest) {
        return absl::InvalidArgumentError(absl::StrCat(
            "filesystem layer verification failed for digest ", blob.digest, ": got ", digest));
      }
      return writer;
    }
    bool transient =
        !absl::IsCancelled(status) && (absl::IsUnavailable(status) || absl::IsInternal(status));
    if (!transient || attempt >= options_.retry.attempts) {
      if (absl::IsUnavailable(status)) return absl::InternalError(status.message());
      return status;
    }
    spdlog::info("retrying download of {} ({})", blob.digest, status.ToString());
    std::this_thread::sleep_for(std::chrono::milliseconds(backoff_ms));
    backoff_ms *= 2;
  }
}

std::vector<registry::Endpoint> Distribution::PullEndpoints(const std::string& domain) const {
  std::vector<registry::Endpoint> endpoints;
  if (domain == "docker.io") {
    for (const std::string& mirror : options_.registry_mirrors) {
      absl::string_view rest(mirror);
      std::string scheme = absl::ConsumePrefix(&rest, "http://") ? "http" : "https";
      absl::ConsumePrefix(&rest, "https://");
      std::string host(rest.substr(0, rest.find('/')));
      if (host.empty()) continue;
      registry::Endpoint endpoint = ResolveEndpoint(options_, host);
      endpoint.scheme = endpoint.ca_file.empty() ? scheme : "https";
      endpoints.push_back(endpoint);
    }
  }
  endpoints.push_back(ResolveEndpoint(options_, domain));
  return endpoints;
}

absl::Status Distribution::Pull(const std::string& text, const std::string& platform_text,
                                const Credentials& credentials, const ProgressSink& progress) {
  ASSIGN_OR_RETURN(Reference reference, Reference::ParseNormalized(text));
  reference = reference.TagNameOnly();
  ASSIGN_OR_RETURN(registry::Platform platform, registry::ParsePlatform(platform_text));
  const std::string repository = reference.path();
  const std::string wanted = reference.has_digest() ? reference.digest() : reference.tag();

  // The first endpoint that has the manifest serves the whole pull.
  std::vector<registry::Endpoint> endpoints = PullEndpoints(reference.domain());
  std::unique_ptr<RegistryClient> client_holder;
  absl::StatusOr<RegistryClient::FetchedManifest> fetched;
  for (const registry::Endpoint& endpoint : endpoints) {
    client_holder = std::make_unique<RegistryClient>(http_, endpoint, credentials, options_.retry);
    fetched = client_holder->GetManifest(repository, wanted);
    if (fetched.ok()) break;
    if (&endpoint != &endpoints.back()) {
      spdlog::info("mirror {} could not serve {}: {}", endpoint.BaseUrl(), text,
                   fetched.status().ToString());
    }
  }
  RETURN_IF_ERROR(fetched.status());
  RegistryClient& client = *client_holder;
  RegistryClient::FetchedManifest top = std::move(*fetched);
  ASSIGN_OR_RETURN(registry::Manifest manifest,
                   registry::ParseManifest(top.media_type, top.body, reference.FamiliarString()));
  const bool is_index = manifest.is_index;
  if (manifest.is_index) {
    ASSIGN_OR_RETURN(Descriptor chosen, registry::SelectPlatform(manifest, platform));
    ASSIGN_OR_RETURN(RegistryClient::FetchedManifest one,
                     client.GetManifest(repository, chosen.digest));
    ASSIGN_OR_RETURN(manifest,
                     registry::ParseManifest(one.media_type, one.body, reference.FamiliarString()));
    if (manifest.is_index) {
      return absl::InvalidArgumentError("invalid manifest: an index inside an index");
    }
  }
  if (manifest.config.size > kMaxConfigSize) {
    return absl::InvalidArgumentError("invalid manifest: the image config is too large");
  }
  ASSIGN_OR_RETURN(Reference repo_digest,
                   Reference::Parse(absl::StrCat(reference.Name(), "@", top.digest)));

  Reporter report(progress);
  report.Status(absl::StrCat("Pulling from ", reference.path()), wanted);

  PulledImage pulled;
  pulled.id = manifest.config.digest;
  pulled.repo_digest = repo_digest;
  pulled.repository = absl::StrCat(reference.domain(), "/", repository);
  if (reference.has_tag()) {
    ASSIGN_OR_RETURN(Reference tag,
                     Reference::Parse(absl::StrCat(reference.Name(), ":", reference.tag())));
    pulled.tags.push_back(std::move(tag));
  }
  std::unique_ptr<ContentWriter> config_writer;
  // What is found here stays until the image is committed (a concurrent rmi
  // or prune must not take it away in between).
  std::unique_ptr<ImageStore::Hold> hold = store_->NewHold();
  if (hold->HasBlob(pulled.id)) {
    ASSIGN_OR_RETURN(pulled.config_json, content_->ReadBlob(pulled.id));
  } else {
    ASSIGN_OR_RETURN(config_writer, Download(client, repository, manifest.config,
                                             [&](int64_t) { return !report.gone(); }));
    ASSIGN_OR_RETURN(pulled.config_json, config_writer->ReadBack());
    pulled.config = config_writer.get();
  }
  auto config = ParseJson(pulled.config_json);
  if (!config.ok() || !config->is_object()) {
    return absl::InvalidArgumentError("invalid image config: not a JSON object");
  }
  ASSIGN_OR_RETURN(std::vector<std::string> diff_ids, DiffIds(*config, manifest.layers.size()));
  const std::string os = config->value("os", "");
  if (!os.empty() && os != "linux") {
    return absl::InvalidArgumentError(
        absl::StrCat("image operating system \"", os, "\" cannot be used on this platform"));
  }
  // A single-platform image must be what --platform asked for.
  if (!platform_text.empty() && !is_index) {
    std::string variant = config->value("variant", "");
    absl::StatusOr<registry::Platform> actual = registry::ParsePlatform(
        absl::StrCat(os.empty() ? "linux" : os, "/", config->value("architecture", "unknown"),
                     variant.empty() ? "" : "/", variant));
    if (actual.ok() && (actual->architecture != platform.architecture ||
                        (!platform.variant.empty() && actual->variant != platform.variant))) {
      return absl::NotFoundError(absl::StrCat(
          "image with reference ", reference.FamiliarString(), " was found but its platform (",
          actual->String(), ") does not match the specified platform (", platform.String(), ")"));
    }
  }

  auto existing = store_->Get(pulled.id);
  bool up_to_date = false;
  if (existing.ok() && reference.has_tag()) {
    std::string familiar = reference.FamiliarString();
    up_to_date = std::find(existing->repo_tags.begin(), existing->repo_tags.end(), familiar) !=
                 existing->repo_tags.end();
  }

  std::vector<std::string> chains = ChainIds(diff_ids);
  std::vector<size_t> to_fetch;
  for (size_t i = 0; i < manifest.layers.size(); ++i) {
    const Descriptor& layer = manifest.layers[i];
    pulled.layers.push_back(PulledLayer{nullptr, layer.digest, diff_ids[i]});
    // A layer is fetched once: when its blob is here already. A chain that is
    // here without this blob (loaded from an archive in another compression)
    // is fetched anyway, as Docker does: the image records the blob, which
    // docker save and push read.
    if (existing.ok() || hold->HasBlob(layer.digest)) {
      report.Status("Already exists", ShortHex(layer.digest));
    } else {
      to_fetch.push_back(i);
      report.Status("Pulling fs layer", ShortHex(layer.digest));
    }
  }
  int workers = std::max(1, options_.max_concurrent_downloads);
  for (size_t n = static_cast<size_t>(workers); n < to_fetch.size(); ++n) {
    report.Status("Waiting", ShortHex(manifest.layers[to_fetch[n]].digest));
  }

  // Layers are applied bottom up as soon as each is verified, while later
  // ones still download (as Docker extracts layer N during N+1's download).
  // Applied chains are held and queued for removal until CommitPulled.
  const auto start = std::chrono::steady_clock::now();
  auto seconds_since_start = [&] {
    return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  };
  std::vector<std::unique_ptr<ContentWriter>> writers(to_fetch.size());
  // An image that is here already has its layers. Layers are unpacked
  // concurrently, each published only after the one below it.
  OrderedApplier applier(existing.ok() ? 0 : manifest.layers.size(),
                         ApplyWorkers(options_.max_concurrent_applies, workers));
  std::vector<bool> downloaded(manifest.layers.size(), false);
  for (size_t index : to_fetch) downloaded[index] = true;
  for (size_t i = 0; i < downloaded.size() && !existing.ok(); ++i) {
    if (!downloaded[i]) applier.SetReady(i);
  }
  // Set when the pull stops: downloads give up.
  std::atomic<bool> abort{false};
  absl::Status download_status;
  std::thread downloader([&] {
    absl::Status status = RunConcurrently(to_fetch.size(), workers, [&](size_t n) -> absl::Status {
      const size_t index = to_fetch[n];
      const Descriptor& layer = manifest.layers[index];
      const std::string id = ShortHex(layer.digest);
      int64_t last = -kProgressStep;
      ASSIGN_OR_RETURN(writers[n], DownloadLayer(client, repository, layer, [&](int64_t bytes) {
                         return !abort && !applier.stopped() &&
                                report.Bytes("Downloading", id, bytes, layer.size, &last);
                       }));
      report.Status("Verifying Checksum", id);
      report.Status("Download complete", id);
      spdlog::debug("pull {}: layer {} ({} bytes) verified at {:.2f} s", text, id, layer.size,
                    seconds_since_start());
      // A concurrent pull committed it first (null writer): it must stay.
      if (writers[n] == nullptr && !hold->HasBlob(layer.digest)) {
        return absl::UnavailableError(
            absl::StrCat("blob ", layer.digest, " was removed during the pull; try again"));
      }
      // Published to the applying threads by SetReady's lock.
      pulled.layers[index].blob = writers[n].get();
      if (!existing.ok()) applier.SetReady(index);
      return absl::OkStatus();
    });
    download_status = status;
    // A layer whose download failed is never ready: the applies stop.
    applier.EndInput();
  });
  // Also on an exception: a joinable thread's destructor would abort.
  struct StopDownloads {
    ~StopDownloads() {
      *abort = true;
      if (thread->joinable()) thread->join();
    }
    std::atomic<bool>* abort;
    std::thread* thread;
  } stop_downloads{&abort, &downloader};
  absl::Status run_status =
      applier.Run([&](size_t i, std::function<absl::Status()> wait_for_parent) -> absl::Status {
        if (report.gone()) return Cancelled();
        const double began = seconds_since_start();
        RETURN_IF_ERROR(store_->ApplyPulledLayer(*hold, diff_ids, i, manifest.layers[i].digest,
                                                 pulled.layers[i].blob,
                                                 std::move(wait_for_parent)));
        spdlog::debug("pull {}: layer {} applied in {:.2f} s (done at {:.2f} s)", text,
                      ShortHex(manifest.layers[i].digest), seconds_since_start() - began,
                      seconds_since_start());
        if (downloaded[i]) report.Status("Pull complete", ShortHex(manifest.layers[i].digest));
        return absl::OkStatus();
      });
  if (!run_status.ok() || report.gone()) abort = true;
  downloader.join();
  // A failed apply stops the downloads: its error is the cause.
  if (applier.apply_failed()) return run_status;
  RETURN_IF_ERROR(download_status);
  // Nobody waits for the image any more: as Docker, don't leave it half-pulled.
  if (report.gone()) return Cancelled();
  RETURN_IF_ERROR(run_status);
  RETURN_IF_ERROR(store_->CommitPulled(pulled));
  spdlog::debug("pull {}: committed at {:.2f} s", text, seconds_since_start());
  report.Status(absl::StrCat("Digest: ", top.digest));
  report.Status(absl::StrCat(
      up_to_date ? "Status: Image is up to date for " : "Status: Downloaded newer image for ",
      reference.FamiliarString()));
  return absl::OkStatus();
}

absl::Status Distribution::Push(const std::string& text, const Credentials& credentials,
                                const ProgressSink& progress) {
  ASSIGN_OR_RETURN(Reference reference, Reference::ParseNormalized(text));
  if (reference.has_digest()) {
    return absl::InvalidArgumentError("cannot push a digest reference");
  }
  std::vector<std::pair<Reference, ImageInfo>> images;
  if (reference.has_tag()) {
    auto image = store_->Get(reference.String());
    if (absl::IsNotFound(image.status())) {
      return absl::NotFoundError(
          absl::StrCat("An image does not exist locally with the tag: ", reference.FamiliarName()));
    }
    RETURN_IF_ERROR(image.status());
    images.emplace_back(reference, std::move(*image));
  } else {
    ASSIGN_OR_RETURN(std::vector<ImageInfo> all, store_->List());
    for (const ImageInfo& image : all) {
      for (const std::string& tag : image.repo_tags) {
        auto parsed = Reference::ParseNormalized(tag);
        if (parsed.ok() && parsed->Name() == reference.Name()) {
          images.emplace_back(*parsed, image);
        }
      }
    }
    if (images.empty()) {
      return absl::NotFoundError(
          absl::StrCat("An image does not exist locally with the tag: ", reference.FamiliarName()));
    }
    std::sort(images.begin(), images.end(),
              [](const auto& a, const auto& b) { return a.first.tag() < b.first.tag(); });
  }
  RegistryClient client(http_, ResolveEndpoint(options_, reference.domain()), credentials,
                        options_.retry);
  ProgressSink sink = progress;
  sink(ProgressEvent{absl::StrCat("The push refers to repository [", reference.Name(), "]"), "", 0,
                     0, ""});
  for (const auto& [tagged, image] : images) {
    RETURN_IF_ERROR(PushImage(client, tagged, image, progress));
  }
  return absl::OkStatus();
}

absl::Status Distribution::PushImage(RegistryClient& client, const Reference& reference,
                                     const ImageInfo& image, const ProgressSink& progress) {
  Reporter report(progress);
  const std::string repository = reference.path();
  const std::string here = absl::StrCat(reference.domain(), "/", repository);
  const size_t count = image.blob_digests.size();
  std::vector<Json> layers(count);
  for (size_t i = count; i-- > 0;) report.Status("Preparing", ShortHex(image.diff_ids[i]));

  // True when the registry has the blob or linked it from another of its
  // repositories that we know holds it.
  auto skip_or_mount = [&](const std::string& digest,
                           const std::string& id) -> absl::StatusOr<bool> {
    ASSIGN_OR_RETURN(bool exists, client.BlobExists(repository, digest));
    if (exists) {
      if (!id.empty()) report.Status("Layer already exists", id);
      return true;
    }
    for (const std::string& source : store_->BlobSources(digest)) {
      std::string prefix = reference.domain() + "/";
      if (!absl::StartsWith(source, prefix) || source == here) continue;
      std::string from = source.substr(prefix.size());
      ASSIGN_OR_RETURN(bool mounted, client.MountBlob(repository, digest, from));
      if (mounted) {
        if (!id.empty()) report.Status(absl::StrCat("Mounted from ", from), id);
        return true;
      }
    }
    return false;
  };
  // Runs one upload attempt after another: a 5xx or a dropped connection
  // starts the upload over with a new session.
  auto with_retries = [&](const std::string& what,
                          const std::function<absl::Status()>& attempt) -> absl::Status {
    int backoff_ms = options_.retry.first_backoff_ms;
    for (int n = 1;; ++n) {
      absl::Status status = attempt();
      if (status.ok() || !absl::IsInternal(status) || n >= options_.retry.attempts) return status;
      spdlog::info("retrying the upload of {} ({})", what, status.ToString());
      std::this_thread::sleep_for(std::chrono::milliseconds(backoff_ms));
      backoff_ms *= 2;
    }
  };
  auto progress_of = [&](const std::string& id, int64_t total) {
    auto last = std::make_shared<int64_t>(-kProgressStep);
    return [&report, id, total, last](int64_t sent) {
      if (id.empty()) return !report.gone();
      return report.Bytes("Pushing", id, sent, total, last.get());
    };
  };
  // Uploads a blob of the content store as it is: monolithic when small,
  // in chunks when larger than a chunk.
  auto upload = [&](const std::string& digest, int64_t size,
                    const std::string& id) -> absl::Status {
    return with_retries(digest, [&]() -> absl::Status {
      ASSIGN_OR_RETURN(std::unique_ptr<ByteSource> blob, content_->OpenBlob(digest));
      CountingSource counting(blob.get(), progress_of(id, size));
      if (size <= options_.upload_chunk_size) {
        return client.UploadBlob(repository, digest, counting, size);
      }
      return client.UploadBlobChunked(
          repository,
          [&]() -> absl::StatusOr<std::string> {
            return ReadChunk(counting, static_cast<size_t>(options_.upload_chunk_size));
          },
          [&] { return digest; });
    });
  };
  auto push_blob = [&](const std::string& digest, int64_t size,
                       const std::string& id) -> absl::Status {
    ASSIGN_OR_RETURN(bool present, skip_or_mount(digest, id));
    if (present) return absl::OkStatus();
    if (!store_->HasBlob(digest)) {
      return absl::FailedPreconditionError(
          absl::StrCat("blob ", digest,
                       " is not here to push (the layer came with another "
                       "image); pull or load the image again"));
    }
    RETURN_IF_ERROR(upload(digest, size, id));
    if (!id.empty()) report.Status("Pushed", id);
    return absl::OkStatus();
  };
  // A layer kept as a plain tar goes up gzip-compressed, as Docker pushes it:
  // compressed while it is sent, in chunks (its digest is known only at the
  // end). What it compressed to is remembered, so that the next push of the
  // layer finds it in the registry without compressing it again.
  auto push_compressed = [&](const std::string& digest, int64_t size,
                             const std::string& id) -> absl::StatusOr<Json> {
    auto describe = [](const CompressedLayer& gz) {
      return Json{
          {"mediaType", registry::kDockerLayerGzip}, {"size", gz.size}, {"digest", gz.digest}};
    };
    std::optional<CompressedLayer> known = LookupCompressed(options_.compressed_dir, digest);
    if (known.has_value()) {
      ASSIGN_OR_RETURN(bool present, skip_or_mount(known->digest, id));
      if (present) return describe(*known);
    }
    // A layer pulled plain from this registry stays as the registry has it.
    const std::string prefix = reference.domain() + "/";
    for (const std::string& source : store_->BlobSources(digest)) {
      if (!absl::StartsWith(source, prefix)) continue;
      ASSIGN_OR_RETURN(bool present, skip_or_mount(digest, id));
      if (present)
        return Json{{"mediaType", registry::kDockerLayerTar}, {"size", size}, {"digest", digest}};
      break;
    }
    CompressedLayer gz;
    RETURN_IF_ERROR(with_retries(digest, [&]() -> absl::Status {
      ASSIGN_OR_RETURN(std::unique_ptr<ByteSource> blob, content_->OpenBlob(digest));
      CountingSource counting(blob.get(), progress_of(id, size));
      GzipChunks chunks(&counting, static_cast<size_t>(options_.upload_chunk_size));
      RETURN_IF_ERROR(client.UploadBlobChunked(
          repository, [&] { return chunks.Next(); }, [&] { return chunks.Digest(); }));
      gz = CompressedLayer{chunks.Digest(), chunks.size()};
      return absl::OkStatus();
    }));
    RememberCompressed(options_.compressed_dir, digest, gz);
    if (!id.empty()) report.Status("Pushed", id);
    return describe(gz);
  };

  RETURN_IF_ERROR(
      RunConcurrently(count, options_.max_concurrent_uploads, [&](size_t i) -> absl::Status {
        const std::string& digest = image.blob_digests[i];
        const std::string id = ShortHex(image.diff_ids[i]);
        ASSIGN_OR_RETURN(int64_t size, content_->BlobSize(digest));
        std::string media_type = LayerMediaType(*content_, digest);
        if (media_type == registry::kDockerLayerTar && options_.compress_on_push) {
          ASSIGN_OR_RETURN(layers[i], push_compressed(digest, size, id));
          return absl::OkStatus();
        }
        layers[i] = Json{{"mediaType", media_type}, {"size", size}, {"digest", digest}};
        return push_blob(digest, size, id);
      }));
  RETURN_IF_ERROR(push_blob(image.id, static_cast<int64_t>(image.config_json.size()), ""));
  std::vector<std::string> blobs;
  for (const Json& layer : layers) blobs.push_back(layer["digest"].get<std::string>());
  blobs.push_back(image.id);
  store_->RecordBlobSources(blobs, here);

  Json manifest = {
      {"schemaVersion", 2},
      {"mediaType", registry::kDockerManifest},
      {"config",
       {{"mediaType", registry::kDockerConfig},
        {"size", static_cast<int64_t>(image.config_json.size())},
        {"digest", image.id}}},
      {"layers", layers},
  };
  std::string body = manifest.dump(3);
  ASSIGN_OR_RETURN(std::string digest, client.PutManifest(repository, reference.tag(),
                                                          registry::kDockerManifest, body));
  ASSIGN_OR_RETURN(Reference repo_digest,
                   Reference::Parse(absl::StrCat(reference.Name(), "@", digest)));
  absl::Status recorded = store_->AddRepoDigest(image.id, repo_digest);
  if (!recorded.ok()) spdlog::warn("recording {}: {}", repo_digest.String(), recorded.ToString());
  Json aux = {{"Tag", reference.tag()}, {"Digest", digest}, {"Size", body.size()}};
  report.Aux(absl::StrCat(reference.tag(), ": digest: ", digest, " size: ", body.size()),
             aux.dump());
  return absl::OkStatus();
}

absl::StatusOr<Distribution::RemoteImage> Distribution::Inspect(const std::string& text,
                                                                const Credentials& credentials) {
  ASSIGN_OR_RETURN(Reference reference, Reference::ParseNormalized(text));
  reference = reference.TagNameOnly();
  RegistryClient client(http_, ResolveEndpoint(options_, reference.domain()), credentials,
                        options_.retry);
  const std::string repository = reference.path();
  ASSIGN_OR_RETURN(RegistryClient::FetchedManifest fetched,
                   client.GetManifest(
                       repository, reference.has_digest() ? reference.digest() : reference.tag()));
  ASSIGN_OR_RETURN(
      registry::Manifest manifest,
      registry::ParseManifest(fetched.media_type, fetched.body, reference.FamiliarString()));
  RemoteImage remote;
  remote.descriptor.media_type = manifest.media_type;
  remote.descriptor.digest = fetched.digest;
  remote.descriptor.size = static_cast<int64_t>(fetched.body.size());
  if (manifest.is_index) {
    for (const Descriptor& entry : manifest.manifests) {
      // Attestations and the like are not platforms.
      if (entry.platform.os == "unknown" || entry.platform.os.empty()) continue;
      remote.platforms.push_back(entry.platform);
    }
    return remote;
  }
  if (manifest.config.size > kMaxConfigSize) {
    return absl::InvalidArgumentError("invalid manifest: the image config is too large");
  }
  std::string config_json;
  if (store_->HasBlob(manifest.config.digest)) {
    ASSIGN_OR_RETURN(config_json, content_->ReadBlob(manifest.config.digest));
  } else {
    ASSIGN_OR_RETURN(std::unique_ptr<ContentWriter> writer,
                     Download(client, repository, manifest.config, [](int64_t) { return true; }));
    ASSIGN_OR_RETURN(config_json, writer->ReadBack());
  }
  auto config = ParseJson(config_json);
  if (config.ok() && config->is_object()) {
    registry::Platform platform;
    platform.os = config->value("os", "");
    platform.architecture = config->value("architecture", "");
    platform.variant = config->value("variant", "");
    remote.platforms.push_back(platform);
  }
  return remote;
}

absl::StatusOr<std::string> Distribution::Login(const std::string& server,
                                                const Credentials& credentials) {
  absl::string_view view(server);
  absl::ConsumePrefix(&view, "https://");
  absl::ConsumePrefix(&view, "http://");
  std::string host(view.substr(0, view.find('/')));
  if (host.empty() || host == "index.docker.io" || host == "registry-1.docker.io") {
    host = "docker.io";
  }
  RegistryClient client(http_, ResolveEndpoint(options_, host), credentials, options_.retry);
  RETURN_IF_ERROR(client.Login());
  return client.identity_token();
}

}  // namespace berth::imaged
