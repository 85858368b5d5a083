// Pull and push through Distribution against an in-memory registry that speaks
// enough of the distribution API (manifests, blobs, uploads, mounts).
#include "imaged/distribution.h"

#include <dirent.h>
#include <zlib.h>

#include <atomic>
#include <catch2/catch.hpp>
#include <chrono>
#include <condition_variable>
#include <mutex>
#include <random>
#include <set>
#include <thread>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "common/digest.h"
#include "imaged/content_store.h"
#include "imaged/metadata_store.h"
#include "imaged/registry/manifest.h"
#include "tests/imaged/test_util.h"

namespace berth::imaged {
namespace {

using registry::HttpRequest;
using registry::HttpResponse;
using testing::CheckPublishedInOrder;
using testing::ConfigFor;
using testing::FakeLayerSink;
using testing::TarBuilder;
using testing::TempDir;
using testing::Unpacked;

std::string UrlDecode(const std::string& text) {
  std::string out;
  for (size_t i = 0; i < text.size(); ++i) {
    if (text[i] == '%' && i + 2 < text.size()) {
      out.push_back(static_cast<char>(std::stoi(text.substr(i + 1, 2), nullptr, 16)));
      i += 2;
    } else {
      out.push_back(text[i]);
    }
  }
  return out;
}

// Repositories of manifests (by tag and digest) and blobs, over the v2 API.
class FakeRegistry : public registry::HttpTransport {
 public:
  struct Repo {
    std::map<std::string, std::pair<std::string, std::string>> manifests;  // ref -> (type, body)
    std::set<std::string> blobs;
  };

  absl::StatusOr<HttpResponse> Do(const HttpRequest& request,
                                  const registry::BodySink* sink) override {
    std::lock_guard<std::mutex> lock(mutex);
    log.push_back(request.method + " " + request.url);
    const std::string origin = "http://reg.test:5000";
    if (request.url.compare(0, origin.size(), origin) != 0) {
      return absl::UnavailableError("Get \"" + request.url + "\": no such host");
    }
    std::string url = request.url.substr(origin.size());
    std::string query;
    if (size_t q = url.find('?'); q != std::string::npos) {
      query = url.substr(q + 1);
      url = url.substr(0, q);
    }
    std::map<std::string, std::string> params;
    for (absl::string_view pair : absl::StrSplit(query, '&', absl::SkipEmpty())) {
      std::vector<std::string> kv = absl::StrSplit(pair, absl::MaxSplits('=', 1));
      params[kv[0]] = kv.size() > 1 ? UrlDecode(kv[1]) : "";
    }
    HttpResponse response;
    response.status = 404;
    if (url == "/v2/") {
      response.status = 200;
      return response;
    }
    auto reply_body = [&](const std::string& body) -> absl::Status {
      response.status = 200;
      if (request.method == "HEAD") return absl::OkStatus();
      if (sink == nullptr) {
        response.body = body;
        return absl::OkStatus();
      }
      return (*sink)(body);
    };
    size_t at = url.find("/manifests/");
    if (at != std::string::npos) {
      std::string repo = url.substr(4, at - 4);
      std::string ref = url.substr(at + 11);
      if (request.method == "PUT") {
        std::string type;
        for (const auto& [name, value] : request.headers) {
          if (name == "Content-Type") type = value;
        }
        repos[repo].manifests[ref] = {type, request.body};
        repos[repo].manifests[Sha256Digest(request.body)] = {type, request.body};
        response.status = 201;
        response.headers.emplace("docker-content-digest", Sha256Digest(request.body));
        return response;
      }
      auto it = repos[repo].manifests.find(ref);
      if (it == repos[repo].manifests.end()) {
        response.body = R"({"errors":[{"code":"MANIFEST_UNKNOWN","message":"manifest unknown"}]})";
        return response;
      }
      response.headers.emplace("content-type", it->second.first);
      RETURN_IF_ERROR(reply_body(it->second.second));
      return response;
    }
    at = url.find("/blobs/uploads/");
    if (at != std::string::npos) {
      std::string repo = url.substr(4, at - 4);
      if (request.method == "POST") {
        if (params.count("mount")) {
          std::string from = params["from"];
          if (repos[from].blobs.count(params["mount"])) {
            repos[repo].blobs.insert(params["mount"]);
            response.status = 201;
            ++mounts;
            return response;
          }
        }
        response.status = 202;
        response.headers.emplace("location", "/v2/" + repo + "/blobs/uploads/u" +
                                                 std::to_string(++uploads) + "?state=x");
        return response;
      }
      std::string upload_id = url.substr(at + 15);
      if (request.method == "PATCH") {
        std::string& held = partial_uploads[upload_id];
        std::string range;
        for (const auto& [name, value] : request.headers) {
          if (name == "Content-Range") range = value;
        }
        if (range != absl::StrCat(held.size(), "-", held.size() + request.body.size() - 1)) {
          response.status = 416;
          return response;
        }
        held += request.body;
        ++patches;
        response.status = 202;
        response.headers.emplace("location", request.url.substr(origin.size()));
        response.headers.emplace("range", absl::StrCat("0-", held.size() - 1));
        return response;
      }
      if (request.method == "PUT") {
        if (fail_upload_puts > 0) {
          --fail_upload_puts;
          response.status = 500;
          return response;
        }
        std::string data = partial_uploads[upload_id] + request.body;
        partial_uploads.erase(upload_id);
        char buffer[8192];
        while (request.body_source != nullptr) {
          auto n = request.body_source->Read(buffer, sizeof(buffer));
          if (!n.ok()) return n.status();
          if (*n == 0) break;
          data.append(buffer, *n);
        }
        if ((request.body_source != nullptr &&
             static_cast<int64_t>(data.size()) != request.body_size) ||
            Sha256Digest(data) != params["digest"]) {
          response.status = 400;
          return response;
        }
        blobs[params["digest"]] = data;
        repos[repo].blobs.insert(params["digest"]);
        response.status = 201;
        return response;
      }
      if (request.method == "DELETE") {
        response.status = 204;
        return response;
      }
    }
    at = url.find("/blobs/");
    if (at != std::string::npos) {
      std::string repo = url.substr(4, at - 4);
      std::string digest = url.substr(at + 7);
      if (!repos[repo].blobs.count(digest)) return response;
      if (request.method == "GET") ++blob_gets;
      std::string body = blobs[digest];
      if (corrupt.count(digest)) body[body.size() / 2] ^= 1;
      if (truncate.count(digest)) body.resize(body.size() / 2);
      RETURN_IF_ERROR(reply_body(body));
      return response;
    }
    return response;
  }

  // Adds an image (one config, its layers) to repo under tag; returns the
  // manifest digest.
  std::string AddImage(const std::string& repo, const std::string& tag,
                       const std::vector<std::string>& layers,
                       const std::string& media_type = registry::kDockerManifest) {
    std::vector<std::string> diff_ids;
    Json layer_descriptors = Json::array();
    for (const std::string& layer : layers) {
      diff_ids.push_back(Sha256Digest(layer));
      Put(repo, layer);
      layer_descriptors.push_back({{"mediaType", registry::kDockerLayerTar},
                                   {"size", layer.size()},
                                   {"digest", Sha256Digest(layer)}});
    }
    std::string config = ConfigFor(diff_ids, "2024-01-02T03:04:05Z", tag);
    Put(repo, config);
    Json manifest = {{"schemaVersion", 2},
                     {"mediaType", media_type},
                     {"config",
                      {{"mediaType", registry::kDockerConfig},
                       {"size", config.size()},
                       {"digest", Sha256Digest(config)}}},
                     {"layers", layer_descriptors}};
    std::string body = manifest.dump();
    repos[repo].manifests[tag] = {media_type, body};
    repos[repo].manifests[Sha256Digest(body)] = {media_type, body};
    last_config = config;
    return Sha256Digest(body);
  }
  void Put(const std::string& repo, const std::string& blob) {
    blobs[Sha256Digest(blob)] = blob;
    repos[repo].blobs.insert(Sha256Digest(blob));
  }

  std::mutex mutex;
  std::map<std::string, Repo> repos;
  std::map<std::string, std::string> blobs;
  std::set<std::string> corrupt;
  std::set<std::string> truncate;
  std::vector<std::string> log;
  std::string last_config;
  int blob_gets = 0;
  int uploads = 0;
  // The next uploads' PUTs answer 500.
  int fail_upload_puts = 0;
  int mounts = 0;
  int patches = 0;
  std::map<std::string, std::string> partial_uploads;
};

class Fixture {
 public:
  explicit Fixture(std::vector<std::string> mirrors = {}, int64_t chunk_size = 16 << 20,
                   int applies = 3) {
    content_ = FileContentStore::Open(dir_.path()).value();
    metadata_ = MetadataStore::Open(dir_.path() + "/imaged.db").value();
    store_ = std::make_unique<ImageStore>(content_.get(), metadata_.get(), &sink_);
    RegistryOptions options;
    options.insecure_registries = {"reg.test:5000"};
    options.retry = registry::RetryPolicy{2, 1};
    options.registry_mirrors = std::move(mirrors);
    options.downloads_dir = dir_.path() + "/downloads";
    options.compressed_dir = dir_.path() + "/compressed";
    options.upload_chunk_size = chunk_size;
    options.max_concurrent_applies = applies;
    distribution_ =
        std::make_unique<Distribution>(store_.get(), content_.get(), &registry_, options);
  }
  absl::Status Pull(const std::string& reference, const std::string& platform = "") {
    events.clear();
    return distribution_->Pull(reference, platform, {}, [&](const ProgressEvent& event) {
      events.push_back(event);
      return !hang_up;
    });
  }
  absl::Status Push(const std::string& reference) {
    events.clear();
    return distribution_->Push(reference, {}, [&](const ProgressEvent& event) {
      events.push_back(event);
      return !hang_up;
    });
  }
  bool Saw(const std::string& status) {
    for (const ProgressEvent& event : events) {
      if (absl::StrContains(event.status, status)) return true;
    }
    return false;
  }
  size_t FilesIn(const std::string& sub) {
    size_t count = 0;
    DIR* d = opendir((dir_.path() + "/" + sub).c_str());
    while (struct dirent* entry = readdir(d)) count += entry->d_name[0] != '.';
    closedir(d);
    return count;
  }

  TempDir dir_;
  FakeLayerSink sink_;
  FakeRegistry registry_;
  std::unique_ptr<FileContentStore> content_;
  std::unique_ptr<MetadataStore> metadata_;
  std::unique_ptr<ImageStore> store_;
  std::unique_ptr<Distribution> distribution_;
  std::vector<ProgressEvent> events;
  // The listener goes away.
  std::atomic<bool> hang_up{false};
};

std::string Layer(const std::string& name) {
  return TarBuilder().File(name, "content of " + name).Finish();
}

}  // namespace

TEST_CASE("pull by tag and by digest, with Docker's progress lines", "[distribution]") {
  Fixture f;
  std::string digest = f.registry_.AddImage("team/app", "v1", {Layer("a"), Layer("b")});
  std::string id = Sha256Digest(f.registry_.last_config);
  REQUIRE(f.Pull("reg.test:5000/team/app:v1").ok());
  CHECK(f.events.front().status == "Pulling from team/app");
  CHECK(f.events.front().id == "v1");
  CHECK(f.Saw("Pulling fs layer"));
  CHECK(f.Saw("Download complete"));
  CHECK(f.Saw("Pull complete"));
  CHECK(f.Saw("Digest: " + digest));
  CHECK(f.events.back().status == "Status: Downloaded newer image for reg.test:5000/team/app:v1");
  auto image = f.store_->Get("reg.test:5000/team/app:v1");
  REQUIRE(image.ok());
  CHECK(image->id == id);
  CHECK(image->repo_digests == std::vector<std::string>{"reg.test:5000/team/app@" + digest});
  CHECK(f.sink_.applied.size() == 2);
  CHECK(f.store_->Get("reg.test:5000/team/app@" + digest).value().id == id);

  // Again: nothing is downloaded, and the tag is up to date.
  int gets = f.registry_.blob_gets;
  REQUIRE(f.Pull("reg.test:5000/team/app:v1").ok());
  CHECK(f.registry_.blob_gets == gets);
  CHECK(f.Saw("Already exists"));
  CHECK(f.events.back().status == "Status: Image is up to date for reg.test:5000/team/app:v1");

  // A different image sharing the bottom layer fetches only the new one.
  f.registry_.AddImage("team/app", "v2", {Layer("a"), Layer("c")});
  gets = f.registry_.blob_gets;
  REQUIRE(f.Pull("reg.test:5000/team/app:v2").ok());
  CHECK(f.registry_.blob_gets == gets + 2);  // the config and layer c

  // By digest: no tag, but the digest reference resolves.
  REQUIRE(f.store_->Remove("reg.test:5000/team/app:v1", false, {}).ok());
  CHECK_FALSE(f.store_->Get(id).ok());
  REQUIRE(f.Pull("reg.test:5000/team/app@" + digest).ok());
  image = f.store_->Get(id);
  REQUIRE(image.ok());
  CHECK(image->repo_tags.empty());
  CHECK(image->repo_digests.size() == 1);
}

TEST_CASE("failed pulls leave no image and no blob", "[distribution]") {
  Fixture f;
  std::string layer = Layer("big");
  f.registry_.AddImage("x", "corrupt", {Layer("fine"), layer});

  f.registry_.corrupt.insert(Sha256Digest(layer));
  absl::Status status = f.Pull("reg.test:5000/x:corrupt");
  REQUIRE(absl::IsInvalidArgument(status));
  CHECK(absl::StrContains(status.message(), "verification failed for digest"));
  CHECK(f.store_->List().value().empty());
  CHECK(f.content_->List().value().empty());
  CHECK(f.FilesIn("ingest") == 0);
  CHECK(f.sink_.layers.empty());

  f.registry_.corrupt.clear();
  f.registry_.truncate.insert(Sha256Digest(layer));
  status = f.Pull("reg.test:5000/x:corrupt");
  REQUIRE_FALSE(status.ok());
  CHECK(absl::StrContains(status.message(), "truncated"));
  CHECK(f.store_->List().value().empty());
  CHECK(f.content_->List().value().empty());
  CHECK(f.FilesIn("ingest") == 0);

  f.registry_.truncate.clear();
  f.sink_.fail_apply = true;
  CHECK_FALSE(f.Pull("reg.test:5000/x:corrupt").ok());
  CHECK(f.store_->List().value().empty());
  CHECK(f.content_->List().value().empty());
  f.sink_.fail_apply = false;
  REQUIRE(f.Pull("reg.test:5000/x:corrupt").ok());

  // The client goes away: nothing is committed.
  f.store_->Remove("reg.test:5000/x:corrupt", true, {}).IgnoreError();
  f.hang_up = true;
  status = f.Pull("reg.test:5000/x:corrupt");
  CHECK(absl::IsCancelled(status));
  f.hang_up = false;
  CHECK(f.store_->List().value().empty());
  CHECK(f.content_->List().value().empty());
  CHECK(f.FilesIn("ingest") == 0);

  status = f.Pull("reg.test:5000/x:missing");
  REQUIRE(absl::IsNotFound(status));
  CHECK(status.message() ==
        "manifest for reg.test:5000/x:missing not found: manifest unknown: manifest unknown");
  CHECK(f.events.empty());

  f.registry_.repos["x"].manifests["bad"] = {registry::kDockerManifest, "{\"schemaVersion\":2"};
  CHECK(absl::IsInvalidArgument(f.Pull("reg.test:5000/x:bad")));
  f.registry_.repos["x"].manifests["old"] = {registry::kSchema1Signed, R"({"schemaVersion":1})"};
  status = f.Pull("reg.test:5000/x:old");
  CHECK(absl::StrContains(status.message(), "schema 1 support has been removed"));
}

TEST_CASE("a pull tried again fetches only what the failed one had not verified",
          "[distribution]") {
  Fixture f;
  std::string kept = Layer("kept");
  std::string broken = Layer("broken");
  f.registry_.AddImage("r", "v1", {kept, broken});
  f.registry_.truncate.insert(Sha256Digest(broken));
  REQUIRE_FALSE(f.Pull("reg.test:5000/r:v1").ok());
  CHECK(f.store_->List().value().empty());
  CHECK(f.content_->List().value().empty());
  CHECK(f.FilesIn("ingest") == 0);
  // The verified layer and the bytes received of the other wait for the
  // next attempt.
  CHECK(f.FilesIn("downloads") == 2);

  // The bottom layer, applied while the other downloaded, is gone again.
  CHECK(f.sink_.layers.empty());

  f.registry_.truncate.clear();
  f.registry_.blob_gets = 0;
  f.sink_.applied.clear();
  REQUIRE(f.Pull("reg.test:5000/r:v1").ok());
  CHECK(f.registry_.blob_gets == 2);  // the config and the broken layer
  CHECK(f.sink_.applied.size() == 2);
  // Everything moved into the content store: nothing left behind.
  CHECK(f.FilesIn("downloads") == 0);
  CHECK(f.FilesIn("ingest") == 0);
  CHECK(f.content_->List().value().size() == 3);
}

TEST_CASE("a layer unpacked here but loaded as another blob is fetched for save and push",
          "[distribution]") {
  Fixture f;
  // Loaded gzip-compressed: its chain is here, the plain blob the registry
  // has is not.
  std::string plain = Layer("shared");
  std::string gzip = TarBuilder(/*gzip=*/true).File("shared", "content of shared").Finish();
  testing::ImageFiles loaded{ConfigFor({Sha256Digest(plain)}), {gzip}};
  StringSource archive(testing::DockerSaveBlobs(loaded, {"local:v1"}));
  REQUIRE(f.store_->Load(archive, [](const std::string&) {}).ok());
  REQUIRE(f.sink_.applied.size() == 1);
  REQUIRE_FALSE(f.content_->Exists(Sha256Digest(plain)));

  f.registry_.AddImage("r", "v1", {plain});
  REQUIRE(f.Pull("reg.test:5000/r:v1").ok());
  CHECK(f.sink_.applied.size() == 1);  // the chain was not unpacked again
  CHECK(f.content_->Exists(Sha256Digest(plain)));
  auto image = f.store_->Get("reg.test:5000/r:v1");
  REQUIRE(image.ok());
  CHECK(image->blob_digests == std::vector<std::string>{Sha256Digest(plain)});
  StringSink saved;
  absl::Status status = f.store_->Save({"reg.test:5000/r:v1"}, saved);
  INFO(status.ToString());
  CHECK(status.ok());
  // Removing the pulled image keeps the loaded one's layer.
  REQUIRE(f.store_->Remove("reg.test:5000/r:v1", false, {}).ok());
  CHECK(f.sink_.layers.size() == 1);
  CHECK_FALSE(f.content_->Exists(Sha256Digest(plain)));
}

TEST_CASE("layers are applied bottom up while later ones download; a failure leaves nothing",
          "[distribution]") {
  Fixture f;
  std::vector<std::string> layers;
  for (int i = 0; i < 4; ++i) layers.push_back(Layer("l" + std::to_string(i)));
  f.registry_.AddImage("p", "v1", layers);
  // Each layer is queued for removal while it is applied, so that a crash
  // before the commit (GarbageCollect at the next start) leaves none.
  std::vector<size_t> queued;
  f.sink_.after_apply = [&](const LayerHeader&) {
    queued.push_back(f.metadata_->PendingLayerRemovals().value().size());
  };
  REQUIRE(f.Pull("reg.test:5000/p:v1").ok());
  f.sink_.after_apply = nullptr;
  // Layers above may be queued already while one is published.
  REQUIRE(queued.size() == 4);
  for (size_t i = 0; i < 4; ++i) CHECK(queued[i] >= i + 1);
  REQUIRE(f.sink_.applied.size() == 4);
  for (size_t i = 0; i < 4; ++i) {
    CHECK(f.sink_.applied[i].diff_id == Sha256Digest(layers[i]));
    CHECK(f.sink_.applied[i].parent_chain_id == (i == 0 ? "" : f.sink_.applied[i - 1].chain_id));
  }
  CHECK(f.store_->Get("reg.test:5000/p:v1").value().layer_sizes.size() == 4);
  CHECK(f.metadata_->PendingLayerRemovals().value().empty());

  // The third layer fails to apply after two are in: the applied ones are
  // removed, the image is not there, the downloads wait for the next try.
  REQUIRE(f.store_->Remove("reg.test:5000/p:v1", false, {}).ok());
  REQUIRE(f.sink_.layers.empty());
  f.sink_.applied.clear();
  f.sink_.fail_after = 2;
  f.registry_.blob_gets = 0;
  absl::Status status = f.Pull("reg.test:5000/p:v1");
  CHECK(absl::StrContains(status.message(), "injected apply failure"));
  CHECK(f.sink_.layers.empty());
  CHECK(f.metadata_->PendingLayerRemovals().value().empty());
  CHECK(f.store_->List().value().empty());
  CHECK(f.content_->List().value().empty());
  f.sink_.fail_after = -1;
  f.sink_.applied.clear();
  // The three layers it verified (at least) wait in downloads/.
  CHECK(f.FilesIn("downloads") >= 3);
  f.registry_.blob_gets = 0;
  REQUIRE(f.Pull("reg.test:5000/p:v1").ok());
  CHECK(f.sink_.applied.size() == 4);
  CHECK(f.registry_.blob_gets <= 2);  // the config, and the fourth layer if it was cut off
  CHECK(f.FilesIn("downloads") == 0);
}

TEST_CASE("layers are unpacked concurrently and published in order, whatever order they finish in",
          "[distribution]") {
  Fixture f;
  std::vector<std::string> layers;
  for (int i = 0; i < 4; ++i) layers.push_back(Layer("c" + std::to_string(i)));
  f.registry_.AddImage("c", "v1", layers);
  Unpacked unpacked;
  std::atomic<bool> overtaken{false};
  f.sink_.unpacked = [&](const LayerHeader& header) {
    unpacked.Add(header.diff_id);
    // The base finishes unpacking after the two above it.
    if (header.diff_id == Sha256Digest(layers[0])) {
      overtaken = unpacked.WaitFor({Sha256Digest(layers[1]), Sha256Digest(layers[2])});
    }
  };
  REQUIRE(f.Pull("reg.test:5000/c:v1").ok());
  CHECK(overtaken);
  CheckPublishedInOrder(f.sink_, layers);
  CHECK(f.store_->Get("reg.test:5000/c:v1").value().chain_ids.size() == 4);
  CHECK(f.metadata_->PendingLayerRemovals().value().empty());
  CHECK(f.Saw("Pull complete"));

  // One at a time works the same.
  Fixture serial({}, 16 << 20, /*applies=*/1);
  serial.registry_.AddImage("c", "v1", layers);
  REQUIRE(serial.Pull("reg.test:5000/c:v1").ok());
  CheckPublishedInOrder(serial.sink_, layers);
}

TEST_CASE("a failing middle layer leaves nothing, also of the layer unpacked above it",
          "[distribution]") {
  Fixture f;
  std::vector<std::string> layers;
  for (int i = 0; i < 3; ++i) layers.push_back(Layer("m" + std::to_string(i)));
  f.registry_.AddImage("m", "v1", layers);
  Unpacked unpacked;
  std::atomic<bool> top_waited{false};
  f.sink_.unpacked = [&](const LayerHeader& header) {
    unpacked.Add(header.diff_id);
    // The middle one fails while the top one waits for it.
    if (header.diff_id == Sha256Digest(layers[1])) {
      top_waited = unpacked.WaitFor({Sha256Digest(layers[2])});
    }
  };
  f.sink_.fail_after = 1;
  absl::Status status = f.Pull("reg.test:5000/m:v1");
  CHECK(top_waited);
  // The cause, not the abandoned top layer's "a layer below was not applied".
  CHECK(absl::IsInternal(status));
  CHECK(absl::StrContains(status.message(), "injected apply failure"));
  CHECK(f.sink_.applied.size() == 1);
  CHECK(f.sink_.layers.empty());
  CHECK(f.metadata_->PendingLayerRemovals().value().empty());
  CHECK(f.store_->List().value().empty());
  CHECK(f.content_->List().value().empty());

  // Tried again, it completes from the verified downloads.
  f.sink_.fail_after = -1;
  f.sink_.unpacked = nullptr;
  f.sink_.applied.clear();
  REQUIRE(f.Pull("reg.test:5000/m:v1").ok());
  CheckPublishedInOrder(f.sink_, layers);
}

TEST_CASE("a client going away while layers are unpacked leaves nothing", "[distribution]") {
  Fixture f;
  std::vector<std::string> layers;
  for (int i = 0; i < 3; ++i) layers.push_back(Layer("g" + std::to_string(i)));
  f.registry_.AddImage("g", "v1", layers);
  f.sink_.unpacked = [&](const LayerHeader& header) {
    if (header.diff_id == Sha256Digest(layers[1])) f.hang_up = true;
  };
  absl::Status status = f.Pull("reg.test:5000/g:v1");
  CHECK(absl::IsCancelled(status));
  f.hang_up = false;
  CHECK(f.sink_.layers.empty());
  CHECK(f.metadata_->PendingLayerRemovals().value().empty());
  CHECK(f.store_->List().value().empty());
  CHECK(f.content_->List().value().empty());
  CHECK(f.FilesIn("ingest") == 0);
}

TEST_CASE("concurrent pulls of images sharing layers both complete", "[distribution]") {
  Fixture f;
  std::string shared = TarBuilder().File("shared", std::string(3 << 20, 's')).Finish();
  f.registry_.AddImage("a", "v1", {shared, Layer("only-a")});
  f.registry_.AddImage("b", "v1", {shared, Layer("only-b")});
  auto pull = [&](const std::string& reference) {
    return f.distribution_->Pull(reference, "", {}, [](const ProgressEvent&) { return true; });
  };
  for (int round = 0; round < 5; ++round) {
    absl::Status a_status, b_status;
    std::thread a([&] { a_status = pull("reg.test:5000/a:v1"); });
    std::thread b([&] { b_status = pull("reg.test:5000/b:v1"); });
    a.join();
    b.join();
    REQUIRE(a_status.ok());
    REQUIRE(b_status.ok());
    CHECK(f.FilesIn("downloads") == 0);
    CHECK(f.FilesIn("ingest") == 0);
    REQUIRE(f.store_->Remove("reg.test:5000/a:v1", true, {}).ok());
    REQUIRE(f.store_->Remove("reg.test:5000/b:v1", true, {}).ok());
  }
}

TEST_CASE("a manifest list is resolved for the platform asked for", "[distribution]") {
  Fixture f;
  std::string amd64 = f.registry_.AddImage("multi", "amd64-only", {Layer("amd")});
  std::string amd64_config = f.registry_.last_config;
  std::string arm64 = f.registry_.AddImage("multi", "arm64-only", {Layer("arm")});
  std::string arm64_config = f.registry_.last_config;
  Json index = {{"schemaVersion", 2},
                {"mediaType", registry::kOciIndex},
                {"manifests",
                 {{{"mediaType", registry::kDockerManifest},
                   {"size", 1},
                   {"digest", arm64},
                   {"platform", {{"os", "linux"}, {"architecture", "arm64"}}}},
                  {{"mediaType", registry::kDockerManifest},
                   {"size", 1},
                   {"digest", amd64},
                   {"platform", {{"os", "linux"}, {"architecture", "amd64"}}}}}}};
  f.registry_.repos["multi"].manifests["latest"] = {registry::kOciIndex, index.dump()};
  REQUIRE(f.Pull("reg.test:5000/multi", "linux/arm64").ok());
  CHECK(f.store_->Get("reg.test:5000/multi").value().id == Sha256Digest(arm64_config));
  // The repo digest is the index's, as Docker records it.
  CHECK(f.store_->Get("reg.test:5000/multi").value().repo_digests[0] ==
        "reg.test:5000/multi@" + Sha256Digest(index.dump()));
  REQUIRE(f.Pull("reg.test:5000/multi", "linux/amd64").ok());
  CHECK(f.store_->Get("reg.test:5000/multi").value().id == Sha256Digest(amd64_config));
  absl::Status status = f.Pull("reg.test:5000/multi", "linux/s390x");
  CHECK(absl::IsNotFound(status));
  auto remote = f.distribution_->Inspect("reg.test:5000/multi", {});
  REQUIRE(remote.ok());
  CHECK(remote->descriptor.digest == Sha256Digest(index.dump()));
  CHECK(remote->descriptor.media_type == registry::kOciIndex);
  REQUIRE(remote->platforms.size() == 2);
  CHECK(remote->platforms[0].String() == "linux/arm64");
  remote = f.distribution_->Inspect("reg.test:5000/multi:amd64-only", {});
  REQUIRE(remote.ok());
  CHECK(remote->descriptor.digest == amd64);
  REQUIRE(remote->platforms.size() == 1);
  CHECK(remote->platforms[0].String() == "linux/amd64");
  CHECK(absl::IsNotFound(f.distribution_->Inspect("reg.test:5000/multi:nope", {}).status()));
  // A single-platform image is checked against --platform (ConfigFor says amd64).
  CHECK(f.Pull("reg.test:5000/multi:amd64-only", "linux/amd64").ok());
  status = f.Pull("reg.test:5000/multi:amd64-only", "linux/arm64");
  REQUIRE(absl::IsNotFound(status));
  CHECK(status.message() ==
        "image with reference reg.test:5000/multi:amd64-only was found but its platform "
        "(linux/amd64) does not match the specified platform (linux/arm64)");
}

TEST_CASE("push uploads, skips and mounts, and a pull gets the same image", "[distribution]") {
  Fixture f;
  f.registry_.AddImage("src", "v1", {Layer("p1"), Layer("p2")});
  std::string id = Sha256Digest(f.registry_.last_config);
  REQUIRE(f.Pull("reg.test:5000/src:v1").ok());
  CHECK(f.registry_.uploads == 0);

  // To another repository of the same registry: the blobs are mounted.
  REQUIRE(f.store_->Tag(id, "reg.test:5000/dst", "v1").ok());
  REQUIRE(f.Push("reg.test:5000/dst:v1").ok());
  CHECK(f.events.front().status == "The push refers to repository [reg.test:5000/dst]");
  CHECK(f.registry_.mounts == 3);
  CHECK(f.registry_.uploads == 0);
  CHECK(f.Saw("Mounted from src"));
  CHECK(f.Saw("v1: digest: sha256:"));
  CHECK(absl::StrContains(f.events.back().aux_json, "\"Tag\":\"v1\""));
  // Again: the registry has everything.
  REQUIRE(f.Push("reg.test:5000/dst:v1").ok());
  CHECK(f.Saw("Layer already exists"));
  CHECK(f.registry_.mounts == 3);

  // Where the known sources are gone from the registry: plain uploads.
  f.registry_.repos.erase("src");
  f.registry_.repos.erase("dst");
  REQUIRE(f.store_->Tag(id, "reg.test:5000/fresh", "t").ok());
  f.metadata_->AddBlobSource("sha256:unused", "reg.test:5000/src").IgnoreError();
  f.registry_.fail_upload_puts = 1;
  REQUIRE(f.Push("reg.test:5000/fresh:t").ok());
  CHECK(f.Saw("Pushed"));
  CHECK(f.registry_.fail_upload_puts == 0);

  // Into a new store: same image ID.
  Fixture other;
  {
    std::lock_guard<std::mutex> lock(f.registry_.mutex);
    other.registry_.repos = f.registry_.repos;
    other.registry_.blobs = f.registry_.blobs;
  }
  REQUIRE(other.Pull("reg.test:5000/fresh:t").ok());
  CHECK(other.store_->Get("reg.test:5000/fresh:t").value().id == id);

  absl::Status status = f.Push("reg.test:5000/nothing:here");
  REQUIRE(absl::IsNotFound(status));
  CHECK(status.message() == "An image does not exist locally with the tag: reg.test:5000/nothing");
}

TEST_CASE("plain layers are pushed gzip-compressed, in chunks when large", "[distribution]") {
  Fixture f({}, 4096);
  std::string noise;
  for (int i = 0; noise.size() < 40000; ++i) noise += Sha256Digest(std::to_string(i));
  std::string big = TarBuilder().File("big", noise).Finish();
  std::string small = Layer("small");
  f.registry_.AddImage("src", "v1", {small, big});
  std::string id = Sha256Digest(f.registry_.last_config);
  REQUIRE(f.Pull("reg.test:5000/src:v1").ok());
  // Pushed to another registry: nothing to mount, the layers are compressed.
  f.registry_.repos.clear();
  REQUIRE(f.store_->Tag(id, "reg.test:5000/gz", "v1").ok());
  f.metadata_->AddBlobSource(Sha256Digest(big), "other.test/src").IgnoreError();
  REQUIRE(f.Push("reg.test:5000/gz:v1").ok());
  CHECK(f.Saw("Pushed"));
  CHECK(f.registry_.patches >= 3);  // the big layer's gzip is larger than 2 chunks
  auto manifest = ParseJson(f.registry_.repos["gz"].manifests["v1"].second).value();
  REQUIRE(manifest["layers"].size() == 2);
  for (const Json& layer : manifest["layers"]) {
    CHECK(layer["mediaType"] == registry::kDockerLayerGzip);
    const std::string& blob = f.registry_.blobs[layer["digest"].get<std::string>()];
    CHECK(blob.substr(0, 2) == "\x1f\x8b");
    CHECK(layer["size"].get<size_t>() == blob.size());
  }
  CHECK(manifest["layers"][1]["digest"] != Sha256Digest(big));

  // Pushed again: the registry has the compressed layers, nothing is sent.
  const std::string first_aux = f.events.back().aux_json;
  int patches = f.registry_.patches;
  int uploads = f.registry_.uploads;
  REQUIRE(f.Push("reg.test:5000/gz:v1").ok());
  CHECK(f.Saw("Layer already exists"));
  CHECK(f.registry_.patches == patches);
  CHECK(f.registry_.uploads == uploads);
  // Same layers, same compressed bytes: the manifest is the same.
  CHECK(f.events.back().aux_json == first_aux);

  // A store that pulls the compressed image gets the same image.
  Fixture other;
  {
    std::lock_guard<std::mutex> lock(f.registry_.mutex);
    other.registry_.repos = f.registry_.repos;
    other.registry_.blobs = f.registry_.blobs;
  }
  REQUIRE(other.Pull("reg.test:5000/gz:v1").ok());
  CHECK(other.store_->Get("reg.test:5000/gz:v1").value().id == id);
}

std::string Gunzip(const std::string& data) {
  z_stream stream{};
  REQUIRE(inflateInit2(&stream, 15 + 16) == Z_OK);
  std::string out;
  char buffer[65536];
  stream.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(data.data()));
  stream.avail_in = static_cast<uInt>(data.size());
  int rc = Z_OK;
  while (rc == Z_OK) {
    stream.next_out = reinterpret_cast<Bytef*>(buffer);
    stream.avail_out = sizeof(buffer);
    rc = inflate(&stream, Z_NO_FLUSH);
    out.append(buffer, sizeof(buffer) - stream.avail_out);
  }
  inflateEnd(&stream);
  CHECK(rc == Z_STREAM_END);
  return out;
}

TEST_CASE("what does not compress is stored, what does is deflated", "[distribution]") {
  Fixture f;
  std::mt19937 random(42);
  std::string noise(6 << 20, '\0');
  for (char& c : noise) c = static_cast<char>(random());
  std::string text;
  while (text.size() < (16 << 20)) text += "a line of a text file that compresses well\n";
  std::string mixed = TarBuilder().File("noise", noise).File("text", text).Finish();
  f.registry_.AddImage("src", "v1", {mixed});
  std::string id = Sha256Digest(f.registry_.last_config);
  REQUIRE(f.Pull("reg.test:5000/src:v1").ok());
  f.registry_.repos.clear();
  REQUIRE(f.store_->Tag(id, "reg.test:5000/gz", "v1").ok());
  REQUIRE(f.Push("reg.test:5000/gz:v1").ok());
  auto manifest = ParseJson(f.registry_.repos["gz"].manifests["v1"].second).value();
  const std::string& blob = f.registry_.blobs[manifest["layers"][0]["digest"].get<std::string>()];
  // The noise costs its size (stored); the text, deflated once deflate is
  // tried again, a fraction of its size.
  CHECK(blob.size() < noise.size() + text.size() / 4);
  CHECK(blob.size() > noise.size());
  CHECK(Gunzip(blob) == mixed);
}

TEST_CASE("Docker Hub images come from a mirror when one has them", "[distribution]") {
  Fixture f({"http://reg.test:5000"});
  f.registry_.AddImage("library/busybox", "latest", {Layer("hub")});
  REQUIRE(f.Pull("busybox").ok());
  CHECK(f.store_->Get("busybox").value().repo_digests[0].rfind("busybox@sha256:", 0) == 0);
  for (const std::string& request : f.registry_.log) {
    CHECK(request.find("registry-1.docker.io") == std::string::npos);
  }
  // Not on the mirror: Docker Hub is asked (and here unreachable).
  absl::Status status = f.Pull("alpine");
  CHECK(absl::StrContains(status.message(), "registry-1.docker.io"));
  // Mirrors only serve Docker Hub images.
  f.registry_.log.clear();
  CHECK_FALSE(f.Pull("example.com/library/busybox").ok());
  CHECK(f.registry_.log.size() == 2);  // two attempts, both at example.com
  CHECK(f.registry_.log[0].find("https://example.com/") == 4);
}

TEST_CASE("references and server addresses are normalised", "[distribution]") {
  Fixture f({"http://reg.test:5000"});
  // "busybox" is docker.io/library/busybox:latest.
  f.registry_.AddImage("library/busybox", "latest", {Layer("n")});
  REQUIRE(f.Pull("busybox").ok());
  CHECK(f.registry_.log[0] == "GET http://reg.test:5000/v2/library/busybox/manifests/latest");
  CHECK(f.store_->Get("docker.io/library/busybox:latest").ok());
  f.registry_.AddImage("team/app", "latest", {Layer("m")});
  f.registry_.log.clear();
  REQUIRE(f.Pull("reg.test:5000/team/app").ok());
  CHECK(f.registry_.log[0] == "GET http://reg.test:5000/v2/team/app/manifests/latest");
  CHECK_FALSE(f.Pull("Reg.Test:5000/Team/App").ok());

  for (const std::string server :
       {"reg.test:5000", "http://reg.test:5000", "https://reg.test:5000/v2/"}) {
    f.registry_.log.clear();
    CHECK(f.distribution_->Login(server, {}).ok());
    REQUIRE(f.registry_.log.size() == 1);
    CHECK(f.registry_.log[0] == "GET http://reg.test:5000/v2/");
  }
}

TEST_CASE("registries reached over plain HTTP, and daemon.json", "[distribution]") {
  RegistryOptions options;
  options.certs_dir = "";
  CHECK(IsInsecureRegistry(options, "localhost:5000"));
  CHECK(IsInsecureRegistry(options, "127.0.0.1:5000"));
  CHECK(IsInsecureRegistry(options, "127.1.2.3"));
  CHECK_FALSE(IsInsecureRegistry(options, "example.com:5000"));
  CHECK(ResolveEndpoint(options, "docker.io").host == "registry-1.docker.io");
  CHECK(ResolveEndpoint(options, "docker.io").scheme == "https");
  CHECK(ResolveEndpoint(options, "127.0.0.1:5000").BaseUrl() == "http://127.0.0.1:5000");
  REQUIRE(ApplyDaemonConfig(R"({"insecure-registries":["example.com:5000","10.0.0.0/8"],
                               "max-concurrent-downloads":7})",
                            &options)
              .ok());
  CHECK(IsInsecureRegistry(options, "example.com:5000"));
  CHECK(IsInsecureRegistry(options, "10.1.2.3:443"));
  CHECK_FALSE(IsInsecureRegistry(options, "11.1.2.3:443"));
  CHECK(options.max_concurrent_downloads == 7);
  CHECK(options.max_concurrent_applies == 0);
  REQUIRE(ApplyDaemonConfig(R"({"max-concurrent-applies":1})", &options).ok());
  CHECK(options.max_concurrent_applies == 1);
  CHECK_FALSE(ApplyDaemonConfig(R"({"max-concurrent-applies":0})", &options).ok());
  CHECK_FALSE(ApplyDaemonConfig(R"({"max-concurrent-uploads":0})", &options).ok());
  REQUIRE(ApplyDaemonConfig(R"({"registry-mirrors":["https://mirror.example"]})", &options).ok());
  CHECK(options.registry_mirrors == std::vector<std::string>{"https://mirror.example"});
  CHECK_FALSE(ApplyDaemonConfig(R"({"registry-mirrors":["mirror.example"]})", &options).ok());

  std::atomic<int> ran{0};
  CHECK(RunConcurrently(10, 3, [&](size_t) {
          ++ran;
          return absl::OkStatus();
        }).ok());
  CHECK(ran == 10);
  absl::Status status = RunConcurrently(
      10, 1, [&](size_t i) { return i == 2 ? absl::InternalError("two") : absl::OkStatus(); });
  CHECK(status.message() == "two");
}

}  // namespace berth::imaged
