// Helpers for imaged's tests: temp dirs, tar archives built with libarchive,
// an in-memory layer sink that verifies diff IDs as stored does, and a real
// busybox image made from Debian's busybox-static.
#pragma once

#include <archive.h>
#include <archive_entry.h>
#include <stdlib.h>

#include <catch2/catch.hpp>
#include <chrono>
#include <condition_variable>
#include <functional>
#include <map>
#include <mutex>
#include <set>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "common/digest.h"
#include "common/fs.h"
#include "common/json.h"
#include "imaged/layer_sink.h"
#include "imaged/layers.h"

namespace berth::imaged::testing {

class TempDir {
 public:
  TempDir() {
    char pattern[] = "/tmp/imgXXXXXX";
    path_ = mkdtemp(pattern);
  }
  ~TempDir() { RemoveAll(path_).IgnoreError(); }
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

// Builds a tar (optionally gzip- or zstd-compressed) in memory.
class TarBuilder {
 public:
  explicit TarBuilder(bool gzip = false)
      : TarBuilder(gzip ? Compression::kGzip : Compression::kNone) {}
  explicit TarBuilder(Compression compression) : archive_(archive_write_new()) {
    archive_write_set_format_pax_restricted(archive_);
    if (compression == Compression::kGzip) archive_write_add_filter_gzip(archive_);
    if (compression == Compression::kZstd) archive_write_add_filter_zstd(archive_);
    archive_write_set_bytes_in_last_block(archive_, 1);
    archive_write_open(archive_, &out_, nullptr, &TarBuilder::Write, nullptr);
  }
  ~TarBuilder() {
    if (archive_ != nullptr) archive_write_free(archive_);
  }

  TarBuilder& File(const std::string& path, const std::string& content, int mode = 0644) {
    Entry(path, AE_IFREG, mode, content, "");
    return *this;
  }
  TarBuilder& Dir(const std::string& path) {
    Entry(path, AE_IFDIR, 0755, "", "");
    return *this;
  }
  TarBuilder& Symlink(const std::string& path, const std::string& target) {
    Entry(path, AE_IFLNK, 0777, "", target);
    return *this;
  }
  std::string Finish() {
    archive_write_close(archive_);
    archive_write_free(archive_);
    archive_ = nullptr;
    return out_;
  }

 private:
  static la_ssize_t Write(struct archive*, void* data, const void* buffer, size_t length) {
    static_cast<std::string*>(data)->append(static_cast<const char*>(buffer), length);
    return static_cast<la_ssize_t>(length);
  }
  void Entry(const std::string& path, unsigned type, int mode, const std::string& content,
             const std::string& target) {
    struct archive_entry* entry = archive_entry_new();
    archive_entry_set_pathname(entry, path.c_str());
    archive_entry_set_filetype(entry, type);
    archive_entry_set_perm(entry, mode);
    archive_entry_set_size(entry, static_cast<la_int64_t>(content.size()));
    archive_entry_set_mtime(entry, 1700000000, 0);
    if (!target.empty()) archive_entry_set_symlink(entry, target.c_str());
    archive_write_header(archive_, entry);
    if (!content.empty()) archive_write_data(archive_, content.data(), content.size());
    archive_entry_free(entry);
  }

  struct archive* archive_;
  std::string out_;
};

// Keeps layers in memory; checks the diff ID of what it is given (after
// decompressing it), as stored does.
class FakeLayerSink : public LayerSink {
 public:
  struct Layer {
    std::string parent;
    int64_t size = 0;
  };

  absl::StatusOr<LayerStat> StatLayer(const std::string& chain_id) override {
    std::lock_guard<std::mutex> lock(mutex);
    if (!available) return absl::UnavailableError("stored is unavailable: connection refused");
    ++stat_calls;
    auto it = layers.find(chain_id);
    if (it == layers.end()) return LayerStat{};
    return LayerStat{true, it->second.size};
  }

  // As stored: reads and verifies the tar, waits for the parent when told
  // to (wait_for_parent), then publishes.
  absl::StatusOr<int64_t> ApplyLayer(const LayerHeader& header, ByteSource& tar) override {
    {
      std::lock_guard<std::mutex> lock(mutex);
      if (!available) return absl::UnavailableError("stored is unavailable: connection refused");
      if (fail_apply) return absl::InternalError("injected apply failure");
    }
    std::string data;
    char buffer[4096];
    while (true) {
      auto n = tar.Read(buffer, sizeof(buffer));
      if (!n.ok()) return n.status();
      if (*n == 0) break;
      data.append(buffer, *n);
    }
    int64_t size = static_cast<int64_t>(data.size());
    if (DetectCompression(data) != Compression::kNone) {
      auto source = Decompress(std::make_unique<StringSource>(data));
      if (!source.ok()) return source.status();
      auto digest = DigestStream(**source);
      if (!digest.ok()) return digest.status();
      if (digest->digest != header.diff_id) {
        return absl::InvalidArgumentError("layer digest mismatch");
      }
      size = digest->size;
    } else if (Sha256Digest(data) != header.diff_id) {
      return absl::InvalidArgumentError("layer digest mismatch");
    }
    if (unpacked) unpacked(header);
    if (header.wait_for_parent) {
      absl::Status parent = header.wait_for_parent();
      if (!parent.ok()) return parent;
    }
    {
      std::lock_guard<std::mutex> lock(mutex);
      if (static_cast<int>(applied.size()) == fail_after) {
        return absl::InternalError("injected apply failure");
      }
      if (!header.parent_chain_id.empty() && !layers.count(header.parent_chain_id)) {
        return absl::FailedPreconditionError("parent layer missing");
      }
      applied_sizes.push_back(size);
      layers[header.chain_id] = Layer{header.parent_chain_id, size};
      applied.push_back(header);
    }
    if (after_apply) after_apply(header);
    return size;
  }

  absl::Status RemoveLayer(const std::string& chain_id) override {
    std::lock_guard<std::mutex> lock(mutex);
    if (!available) return absl::UnavailableError("stored is unavailable: connection refused");
    removed.push_back(chain_id);
    layers.erase(chain_id);
    return absl::OkStatus();
  }

  // Guards what follows against the concurrent applies of a pull.
  std::mutex mutex;
  std::map<std::string, Layer> layers;
  // In the order published.
  std::vector<LayerHeader> applied;
  std::vector<int64_t> applied_sizes;
  std::vector<std::string> removed;
  int stat_calls = 0;
  bool available = true;
  bool fail_apply = false;
  // Fails the publication of the layer after this many were published (-1:
  // never).
  int fail_after = -1;
  // Called once a layer's tar is read and verified, before it waits for its
  // parent (from the applying thread, without the mutex).
  std::function<void(const LayerHeader&)> unpacked;
  // Called once a layer is in place (a test may throw from it to stop
  // imaged dead at that point, as a SIGKILL would).
  std::function<void(const LayerHeader&)> after_apply;
};

// Lets a test hold a layer in the sink until others got as far.
class Unpacked {
 public:
  void Add(const std::string& diff_id) {
    std::lock_guard<std::mutex> lock(mutex_);
    seen_.insert(diff_id);
    changed_.notify_all();
  }
  // False when they did not come within a minute (the applies are serial).
  bool WaitFor(const std::vector<std::string>& diff_ids) {
    std::unique_lock<std::mutex> lock(mutex_);
    return changed_.wait_for(lock, std::chrono::seconds(60), [&] {
      for (const std::string& id : diff_ids) {
        if (!seen_.count(id)) return false;
      }
      return true;
    });
  }
  bool Has(const std::string& id) {
    std::lock_guard<std::mutex> lock(mutex_);
    return seen_.count(id) > 0;
  }

 private:
  std::mutex mutex_;
  std::condition_variable changed_;
  std::set<std::string> seen_;
};

// The sink published the layers bottom up, each above the base unpacked
// before its parent was published.
inline void CheckPublishedInOrder(FakeLayerSink& sink, const std::vector<std::string>& layers) {
  REQUIRE(sink.applied.size() == layers.size());
  for (size_t i = 0; i < layers.size(); ++i) {
    CHECK(sink.applied[i].diff_id == Sha256Digest(layers[i]));
    CHECK(sink.applied[i].parent_chain_id == (i == 0 ? "" : sink.applied[i - 1].chain_id));
    // All but the base are unpacked before their parent is published.
    CHECK(static_cast<bool>(sink.applied[i].wait_for_parent) == (i > 0));
  }
}

// A layer with bin/busybox (Debian's busybox-static) and the bin/sh symlink.
inline std::string BusyboxLayer() {
  static const std::string layer = [] {
    std::string busybox = ReadFile("/bin/busybox").value();
    return TarBuilder()
        .Dir("bin")
        .File("bin/busybox", busybox, 0755)
        .Symlink("bin/sh", "busybox")
        .Finish();
  }();
  return layer;
}

inline std::string ConfigFor(const std::vector<std::string>& diff_ids,
                             const std::string& created = "2024-01-02T03:04:05.123456789Z",
                             const std::string& label = "one") {
  Json config = {
      {"architecture", "amd64"},
      {"os", "linux"},
      {"created", created},
      {"config", {{"Cmd", {"sh"}}, {"Labels", {{"org.example.label", label}}}}},
      {"rootfs", {{"type", "layers"}, {"diff_ids", diff_ids}}},
  };
  return config.dump();
}

struct ImageFiles {
  std::string config;
  std::vector<std::string> layers;
  std::string id() const { return Sha256Digest(config); }
};

// A docker save archive as Docker 20.10 writes it: <hex>.json config,
// <layer id>/layer.tar, manifest.json last (it may come after the layers).
inline std::string DockerSave2010(
    const std::vector<std::pair<ImageFiles, std::vector<std::string>>>& images) {
  TarBuilder tar;
  Json manifest = Json::array();
  for (const auto& [image, tags] : images) {
    std::vector<std::string> layer_paths;
    for (const std::string& layer : image.layers) {
      std::string dir = std::string(DigestHex(Sha256Digest(layer + image.id())));
      tar.Dir(dir)
          .File(dir + "/VERSION", "1.0")
          .File(dir + "/json", "{}")
          .File(dir + "/layer.tar", layer);
      layer_paths.push_back(dir + "/layer.tar");
    }
    std::string config_path = std::string(DigestHex(image.id())) + ".json";
    tar.File(config_path, image.config);
    manifest.push_back({{"Config", config_path}, {"RepoTags", tags}, {"Layers", layer_paths}});
  }
  tar.File("manifest.json", manifest.dump());
  return tar.Finish();
}

// docker save as Moby >= 25 writes it: an OCI layout (blobs/sha256, index.json,
// oci-layout) plus manifest.json pointing into blobs/, and legacy symlinks.
inline std::string DockerSaveBlobs(const ImageFiles& image, const std::vector<std::string>& tags) {
  TarBuilder tar;
  tar.Dir("blobs").Dir("blobs/sha256");
  std::vector<std::string> layer_paths;
  Json layer_descriptors = Json::array();
  for (const std::string& layer : image.layers) {
    std::string digest = Sha256Digest(layer);
    std::string path = "blobs/sha256/" + std::string(DigestHex(digest));
    tar.File(path, layer);
    layer_paths.push_back(path);
    layer_descriptors.push_back({{"mediaType", "application/vnd.oci.image.layer.v1.tar"},
                                 {"digest", digest},
                                 {"size", layer.size()}});
  }
  std::string config_path = "blobs/sha256/" + std::string(DigestHex(image.id()));
  tar.File(config_path, image.config);
  Json oci_manifest = {{"schemaVersion", 2},
                       {"mediaType", "application/vnd.oci.image.manifest.v1+json"},
                       {"config",
                        {{"mediaType", "application/vnd.oci.image.config.v1+json"},
                         {"digest", image.id()},
                         {"size", image.config.size()}}},
                       {"layers", layer_descriptors}};
  std::string manifest_blob = oci_manifest.dump();
  tar.File("blobs/sha256/" + std::string(DigestHex(Sha256Digest(manifest_blob))), manifest_blob);
  // The legacy path of the first layer, as a symlink into blobs/.
  if (!layer_paths.empty()) {
    tar.Dir("legacy").Symlink("legacy/layer.tar", "../" + layer_paths[0]);
    layer_paths[0] = "legacy/layer.tar";
  }
  Json index = {{"schemaVersion", 2},
                {"manifests",
                 {{{"mediaType", "application/vnd.oci.image.manifest.v1+json"},
                   {"digest", Sha256Digest(manifest_blob)},
                   {"size", manifest_blob.size()}}}}};
  tar.File("index.json", index.dump());
  tar.File("oci-layout", R"({"imageLayoutVersion":"1.0.0"})");
  Json manifest =
      Json::array({{{"Config", config_path}, {"RepoTags", tags}, {"Layers", layer_paths}}});
  tar.File("manifest.json", manifest.dump());
  return tar.Finish();
}

}  // namespace berth::imaged::testing
