#include "imaged/image_store.h"

#include <dirent.h>

#include <atomic>
#include <catch2/catch.hpp>
#include <chrono>
#include <condition_variable>
#include <mutex>
#include <thread>

#include "common/digest.h"
#include "imaged/content_store.h"
#include "imaged/metadata_store.h"
#include "tests/imaged/test_util.h"

namespace berth::imaged {
namespace {

using testing::BusyboxLayer;
using testing::CheckPublishedInOrder;
using testing::ConfigFor;
using testing::FakeLayerSink;
using testing::ImageFiles;
using testing::TarBuilder;
using testing::TempDir;
using testing::Unpacked;

// An image store over a temp dir, reopenable to simulate a restart.
class Fixture {
 public:
  Fixture() { Open(); }
  void Open() {
    store_.reset();
    metadata_.reset();
    content_.reset();
    content_ = FileContentStore::Open(dir_.path()).value();
    metadata_ = MetadataStore::Open(dir_.path() + "/imaged.db").value();
    store_ = std::make_unique<ImageStore>(content_.get(), metadata_.get(), &sink_);
    REQUIRE(store_->GarbageCollect().ok());
  }
  ImageStore& store() { return *store_; }
  FakeLayerSink& sink() { return sink_; }
  FileContentStore& content() { return *content_; }
  MetadataStore& metadata() { return *metadata_; }
  const std::string& dir() const { return dir_.path(); }

  absl::StatusOr<std::vector<std::string>> Load(const std::string& archive,
                                                std::vector<std::string>* lines = nullptr) {
    StringSource source(archive);
    return store_->Load(source, [&](const std::string& line) {
      if (lines != nullptr) lines->push_back(line);
    });
  }
  absl::StatusOr<std::string> Import(const ImportOptions& options, const std::string& tar) {
    StringSource source(tar);
    return store_->Import(options, source);
  }
  size_t BlobCount() { return content_->List().value().size(); }
  size_t IngestCount() {
    size_t count = 0;
    DIR* d = opendir((dir_.path() + "/ingest").c_str());
    while (struct dirent* entry = readdir(d)) count += entry->d_name[0] != '.';
    closedir(d);
    return count;
  }

 private:
  TempDir dir_;
  FakeLayerSink sink_;
  std::unique_ptr<FileContentStore> content_;
  std::unique_ptr<MetadataStore> metadata_;
  std::unique_ptr<ImageStore> store_;
};

ImageFiles Busybox() {
  std::string layer = BusyboxLayer();
  return ImageFiles{ConfigFor({Sha256Digest(layer)}), {layer}};
}

// A second image on top of busybox: shares the bottom layer.
ImageFiles BusyboxPlus(const std::string& content = "extra") {
  std::string top = TarBuilder().File("etc/extra", content).Finish();
  std::string base = BusyboxLayer();
  return ImageFiles{
      ConfigFor({Sha256Digest(base), Sha256Digest(top)}, "2024-02-01T00:00:00Z", content),
      {base, top}};
}

void CheckNothingStored(Fixture& fixture) {
  CHECK(fixture.store().List().value().empty());
  CHECK(fixture.BlobCount() == 0);
  CHECK(fixture.IngestCount() == 0);
}

TEST_CASE("load a docker save archive in the Docker 20.10 layout", "[load]") {
  Fixture fixture;
  ImageFiles busybox = Busybox();
  std::vector<std::string> lines;
  auto ids = fixture.Load(testing::DockerSave2010({{busybox, {"busybox:latest"}}}), &lines);
  REQUIRE(ids.ok());
  CHECK(*ids == std::vector<std::string>{busybox.id()});
  CHECK(lines == std::vector<std::string>{"Loaded image: busybox:latest\n"});

  std::string diff_id = Sha256Digest(BusyboxLayer());
  REQUIRE(fixture.sink().applied.size() == 1);
  CHECK(fixture.sink().applied[0].chain_id == diff_id);
  CHECK(fixture.sink().applied[0].parent_chain_id.empty());
  CHECK(fixture.sink().applied[0].diff_id == diff_id);

  auto image = fixture.store().Get("busybox");
  REQUIRE(image.ok());
  CHECK(image->id == busybox.id());
  CHECK(image->config_json == busybox.config);
  CHECK(image->repo_tags == std::vector<std::string>{"busybox:latest"});
  CHECK(image->chain_ids == std::vector<std::string>{diff_id});
  CHECK(image->diff_ids == std::vector<std::string>{diff_id});
  CHECK(image->size == static_cast<int64_t>(BusyboxLayer().size()));
  CHECK(image->created == 1704164645);
  CHECK(image->labels == std::map<std::string, std::string>{{"org.example.label", "one"}});
  CHECK(image->top_chain_id() == diff_id);
  // The config and the layer are blobs; nothing is left in ingest/.
  CHECK(fixture.content().Exists(busybox.id()));
  CHECK(fixture.content().Exists(diff_id));
  CHECK(fixture.BlobCount() == 2);
  CHECK(fixture.IngestCount() == 0);
}

TEST_CASE("load the Moby 25 layout (manifest.json into blobs/, symlinked legacy paths)", "[load]") {
  Fixture fixture;
  ImageFiles image = BusyboxPlus();
  std::vector<std::string> lines;
  auto ids = fixture.Load(testing::DockerSaveBlobs(image, {"example.com:5000/a/b:v1"}), &lines);
  INFO(ids.status().ToString());
  REQUIRE(ids.ok());
  CHECK(lines == std::vector<std::string>{"Loaded image: example.com:5000/a/b:v1\n"});
  auto got = fixture.store().Get("example.com:5000/a/b:v1");
  REQUIRE(got.ok());
  CHECK(got->id == image.id());
  REQUIRE(got->chain_ids.size() == 2);
  CHECK(got->chain_ids[1] == Sha256Digest(got->chain_ids[0] + " " + Sha256Digest(image.layers[1])));
  REQUIRE(fixture.sink().applied.size() == 2);
  CHECK(fixture.sink().applied[1].parent_chain_id == got->chain_ids[0]);
}

TEST_CASE("load an OCI image layout with a gzip layer and a containerd name", "[load]") {
  Fixture fixture;
  std::string plain = TarBuilder().File("hello", "world").Finish();
  std::string gzip = TarBuilder(/*gzip=*/true).File("hello", "world").Finish();
  std::string config = ConfigFor({Sha256Digest(plain)});
  Json manifest = {{"schemaVersion", 2},
                   {"config", {{"digest", Sha256Digest(config)}, {"size", config.size()}}},
                   {"layers", {{{"digest", Sha256Digest(gzip)}, {"size", gzip.size()}}}}};
  std::string manifest_blob = manifest.dump();
  Json index = {{"schemaVersion", 2},
                {"manifests",
                 {{{"digest", Sha256Digest(manifest_blob)},
                   {"annotations", {{"io.containerd.image.name", "docker.io/library/hello:1"}}}}}}};
  auto blob = [](const std::string& data) {
    return "blobs/sha256/" + std::string(DigestHex(Sha256Digest(data)));
  };
  std::string archive = TarBuilder()
                            .File("oci-layout", "{}")
                            .File(blob(gzip), gzip)
                            .File(blob(config), config)
                            .File(blob(manifest_blob), manifest_blob)
                            .File("index.json", index.dump())
                            .Finish();
  std::vector<std::string> lines;
  auto ids = fixture.Load(archive, &lines);
  INFO(ids.status().ToString());
  REQUIRE(ids.ok());
  CHECK(lines == std::vector<std::string>{"Loaded image: hello:1\n"});
  auto got = fixture.store().Get("hello:1");
  REQUIRE(got.ok());
  CHECK(got->diff_ids == std::vector<std::string>{Sha256Digest(plain)});
  CHECK(got->size == static_cast<int64_t>(plain.size()));
}

TEST_CASE("untagged images report their ID; layers already in stored are not re-applied",
          "[load]") {
  Fixture fixture;
  ImageFiles busybox = Busybox();
  ImageFiles plus = BusyboxPlus();
  std::vector<std::string> lines;
  REQUIRE(fixture.Load(testing::DockerSave2010({{busybox, {}}}), &lines).ok());
  CHECK(lines == std::vector<std::string>{"Loaded image ID: " + busybox.id() + "\n"});
  REQUIRE(fixture.Load(testing::DockerSave2010({{plus, {"plus:1", "plus:2"}}})).ok());
  CHECK(fixture.sink().applied.size() == 2);  // base once, top once
  auto listed = fixture.store().List();
  REQUIRE(listed.ok());
  REQUIRE(listed->size() == 2);
  // Newest first.
  CHECK((*listed)[0].repo_tags == std::vector<std::string>{"plus:1", "plus:2"});
  CHECK((*listed)[1].repo_tags.empty());
  // Loading the same archive again changes nothing.
  REQUIRE(fixture.Load(testing::DockerSave2010({{plus, {"plus:1"}}})).ok());
  CHECK(fixture.sink().applied.size() == 2);
  CHECK(fixture.store().List()->size() == 2);
}

TEST_CASE("a tag moving to a newly loaded image leaves the old one dangling", "[load]") {
  Fixture fixture;
  ImageFiles one = BusyboxPlus("one");
  ImageFiles two = BusyboxPlus("two");
  REQUIRE(fixture.Load(testing::DockerSave2010({{one, {"app:latest"}}})).ok());
  REQUIRE(fixture.Load(testing::DockerSave2010({{two, {"app:latest"}}})).ok());
  CHECK(fixture.store().Get("app")->id == two.id());
  CHECK(fixture.store().Get(one.id())->repo_tags.empty());
}

TEST_CASE("corrupt archives store nothing", "[load]") {
  Fixture fixture;
  ImageFiles busybox = Busybox();

  SECTION("config whose content does not match its digest name") {
    ImageFiles bad = busybox;
    std::string tampered = bad.config;
    tampered.replace(tampered.find("one"), 3, "two");
    TarBuilder tar;
    std::string config_path = std::string(DigestHex(bad.id())) + ".json";
    tar.File("l/layer.tar", bad.layers[0]).File(config_path, tampered);
    tar.File("manifest.json", Json::array({{{"Config", config_path},
                                            {"RepoTags", {"busybox:latest"}},
                                            {"Layers", {"l/layer.tar"}}}})
                                  .dump());
    auto result = fixture.Load(tar.Finish());
    REQUIRE(absl::IsInvalidArgument(result.status()));
    CHECK(std::string(result.status().message()).find("has digest") != std::string::npos);
  }
  SECTION("a missing layer") {
    TarBuilder tar;
    std::string config_path = std::string(DigestHex(busybox.id())) + ".json";
    tar.File(config_path, busybox.config);
    tar.File("manifest.json", Json::array({{{"Config", config_path},
                                            {"RepoTags", {"busybox:latest"}},
                                            {"Layers", {"l/layer.tar"}}}})
                                  .dump());
    auto result = fixture.Load(tar.Finish());
    REQUIRE(absl::IsInvalidArgument(result.status()));
    CHECK(std::string(result.status().message()) == "invalid archive: layer l/layer.tar not found");
  }
  SECTION("layer count differs from rootfs.diff_ids") {
    ImageFiles bad = busybox;
    bad.layers.push_back(TarBuilder().File("x", "y").Finish());
    auto result = fixture.Load(testing::DockerSave2010({{bad, {"busybox:latest"}}}));
    REQUIRE(absl::IsInvalidArgument(result.status()));
    CHECK(std::string(result.status().message()) ==
          "invalid manifest, layers length mismatch: expected 1, got 2");
  }
  SECTION("a layer that is not what diff_ids says") {
    ImageFiles bad{ConfigFor({Sha256Digest("something else")}), {BusyboxLayer()}};
    auto result = fixture.Load(testing::DockerSave2010({{bad, {"busybox:latest"}}}));
    REQUIRE(absl::IsInvalidArgument(result.status()));
    CHECK(std::string(result.status().message()).find("invalid diffID for layer 0") == 0);
  }
  SECTION("a truncated tar") {
    std::string archive = testing::DockerSave2010({{busybox, {"busybox:latest"}}});
    auto result = fixture.Load(archive.substr(0, archive.size() / 2));
    REQUIRE(absl::IsInvalidArgument(result.status()));
  }
  SECTION("not a tar at all") {
    auto result = fixture.Load("this is not an archive");
    REQUIRE(absl::IsInvalidArgument(result.status()));
  }
  SECTION("a path escaping the archive") {
    auto result = fixture.Load(TarBuilder().File("../evil", "x").Finish());
    REQUIRE(absl::IsInvalidArgument(result.status()));
  }
  SECTION("an invalid tag") {
    auto result = fixture.Load(testing::DockerSave2010({{busybox, {"Busybox:latest"}}}));
    REQUIRE(absl::IsInvalidArgument(result.status()));
    CHECK(std::string(result.status().message()) == "invalid tag \"Busybox:latest\"");
  }
  SECTION("stored fails while applying the second of two images") {
    REQUIRE(fixture.Load(testing::DockerSave2010({{busybox, {"busybox:latest"}}})).ok());
    REQUIRE(fixture.store().Remove("busybox", false, {}).ok());
    fixture.sink().removed.clear();
    CheckNothingStored(fixture);
    // The base layer applies, the top one fails: the base is rolled back.
    fixture.sink().fail_after = static_cast<int>(fixture.sink().applied.size()) + 1;
    auto result = fixture.Load(testing::DockerSave2010({{BusyboxPlus(), {"plus:1"}}}));
    REQUIRE(absl::IsInternal(result.status()));
    // The top one stays queued, a no-op removal in stored (a pull may apply
    // the same chain beside the load).
    CHECK(std::count(fixture.sink().removed.begin(), fixture.sink().removed.end(),
                     Sha256Digest(BusyboxLayer())) == 1);
    CHECK(fixture.sink().layers.empty());
  }
  CheckNothingStored(fixture);
  CHECK(fixture.sink().layers.empty());
}

TEST_CASE("stored unavailable: the load fails with Unavailable and stores nothing", "[load]") {
  Fixture fixture;
  fixture.sink().available = false;
  auto result = fixture.Load(testing::DockerSave2010({{Busybox(), {"busybox:latest"}}}));
  REQUIRE(absl::IsUnavailable(result.status()));
  CHECK(std::string(result.status().message()).find("stored is unavailable") == 0);
  fixture.sink().available = true;
  CheckNothingStored(fixture);
}

TEST_CASE("lookup by name, ID, sha256:ID and unique prefix", "[get]") {
  Fixture fixture;
  ImageFiles busybox = Busybox();
  REQUIRE(fixture.Load(testing::DockerSave2010({{busybox, {"busybox:latest"}}})).ok());
  std::string hex(DigestHex(busybox.id()));
  for (const std::string& reference :
       {std::string("busybox"), std::string("busybox:latest"),
        std::string("docker.io/library/busybox:latest"), std::string("library/busybox"),
        busybox.id(), hex, hex.substr(0, 12), hex.substr(0, 3), "sha256:" + hex.substr(0, 8)}) {
    INFO(reference);
    auto got = fixture.store().Get(reference);
    REQUIRE(got.ok());
    CHECK(got->id == busybox.id());
  }
  for (const std::string& reference : {std::string("busybox:1"), std::string("alpine"),
                                       std::string(64, 'f'), std::string("ffffffffff")}) {
    auto got = fixture.store().Get(reference);
    REQUIRE(absl::IsNotFound(got.status()));
    CHECK(std::string(got.status().message()) == "No such image: " + reference);
  }
  CHECK(absl::IsInvalidArgument(fixture.store().Get("Busybox").status()));
}

TEST_CASE("an ambiguous ID prefix is InvalidArgument", "[get]") {
  Fixture fixture;
  // Load images until two IDs share a first hex digit.
  std::map<char, std::string> by_first;
  std::string prefix;
  for (int i = 0; prefix.empty() && i < 40; ++i) {
    ImageFiles image = BusyboxPlus("v" + std::to_string(i));
    REQUIRE(fixture.Load(testing::DockerSave2010({{image, {}}})).ok());
    char first = DigestHex(image.id())[0];
    if (by_first.count(first)) prefix = std::string(1, first);
    by_first[first] = image.id();
  }
  REQUIRE_FALSE(prefix.empty());
  auto got = fixture.store().Get(prefix);
  REQUIRE(absl::IsInvalidArgument(got.status()));
  CHECK(std::string(got.status().message()) ==
        "multiple IDs found with provided prefix: " + prefix);
}

TEST_CASE("tag and untag", "[tag]") {
  Fixture fixture;
  ImageFiles busybox = Busybox();
  REQUIRE(fixture.Load(testing::DockerSave2010({{busybox, {"busybox:latest"}}})).ok());
  REQUIRE(fixture.store().Tag("busybox", "example.com/me/bb", "v1").ok());
  REQUIRE(fixture.store().Tag(busybox.id(), "mine", "").ok());
  CHECK(fixture.store().Get("busybox")->repo_tags ==
        std::vector<std::string>{"busybox:latest", "example.com/me/bb:v1", "mine:latest"});
  CHECK(fixture.store().Get("mine:latest")->id == busybox.id());
  auto bad = fixture.store().Tag("busybox", "Bad", "");
  CHECK(absl::IsInvalidArgument(bad));
  CHECK(std::string(bad.message()) ==
        "invalid reference format: repository name must be lowercase");
  CHECK(absl::IsInvalidArgument(fixture.store().Tag("busybox", "ok", "-bad")));
  auto missing = fixture.store().Tag("nothing", "x", "");
  CHECK(std::string(missing.message()) == "No such image: nothing");

  // Untagging one name keeps the image.
  auto items = fixture.store().Remove("mine", false, {});
  REQUIRE(items.ok());
  REQUIRE(items->size() == 1);
  CHECK((*items)[0].untagged == "mine:latest");
  CHECK(fixture.store().Get(busybox.id()).ok());
  CHECK(fixture.sink().removed.empty());
}

TEST_CASE("remove rules", "[remove]") {
  Fixture fixture;
  ImageFiles busybox = Busybox();
  ImageFiles plus = BusyboxPlus();
  REQUIRE(fixture.Load(testing::DockerSave2010({{busybox, {"busybox:latest"}}})).ok());
  REQUIRE(fixture.Load(testing::DockerSave2010({{plus, {"plus:1", "other/plus:2"}}})).ok());
  std::string id12 = std::string(DigestHex(plus.id())).substr(0, 12);
  std::vector<std::string> plus_chains = fixture.store().Get("plus:1")->chain_ids;

  SECTION("an ID with several tags needs force") {
    auto refused = fixture.store().Remove(plus.id(), false, {});
    REQUIRE(absl::IsFailedPrecondition(refused.status()));
    CHECK(std::string(refused.status().message()) ==
          "conflict: unable to delete " + id12 +
              " (must be forced) - image is referenced in multiple repositories");
    auto items = fixture.store().Remove(id12, true, {});
    REQUIRE(items.ok());
    REQUIRE(items->size() == 4);
    CHECK((*items)[0].untagged == "other/plus:2");
    CHECK((*items)[1].untagged == "plus:1");
    CHECK((*items)[2].deleted == plus.id());
    // Only the top chain goes: busybox still uses the bottom one.
    CHECK((*items)[3].deleted == plus_chains[1]);
    CHECK(fixture.sink().removed == std::vector<std::string>{plus_chains[1]});
    CHECK_FALSE(fixture.content().Exists(plus.id()));
    CHECK_FALSE(fixture.content().Exists(Sha256Digest(plus.layers[1])));
    CHECK(fixture.content().Exists(Sha256Digest(plus.layers[0])));
    CHECK(absl::IsNotFound(fixture.store().Get("plus:1").status()));
  }
  SECTION("removing the last tag deletes the image") {
    REQUIRE(fixture.store().Remove("plus:1", false, {}).ok());
    auto items = fixture.store().Remove("other/plus:2", false, {});
    REQUIRE(items.ok());
    REQUIRE(items->size() == 3);
    CHECK((*items)[0].untagged == "other/plus:2");
    CHECK((*items)[1].deleted == plus.id());
    CHECK(absl::IsNotFound(fixture.store().Get(plus.id()).status()));
  }
  SECTION("an image a container uses needs force") {
    auto refused = fixture.store().Remove("busybox", false, std::set<std::string>{busybox.id()});
    REQUIRE(absl::IsFailedPrecondition(refused.status()));
    std::string bb12 = std::string(DigestHex(busybox.id())).substr(0, 12);
    CHECK(std::string(refused.status().message()) ==
          "conflict: unable to remove repository reference \"busybox\" (must force) - a "
          "container is using its referenced image " +
              bb12);
    auto by_id = fixture.store().Remove(busybox.id(), false, std::set<std::string>{busybox.id()});
    REQUIRE(absl::IsFailedPrecondition(by_id.status()));
    // Forced by name: untagged, the image stays (dangling) for the container.
    auto items = fixture.store().Remove("busybox", true, std::set<std::string>{busybox.id()});
    REQUIRE(items.ok());
    REQUIRE(items->size() == 1);
    CHECK((*items)[0].untagged == "busybox:latest");
    CHECK(fixture.store().Get(busybox.id()).ok());
  }
  SECTION("an ID with one tag untags and deletes; the last image releases every chain") {
    REQUIRE(fixture.store().Remove(plus.id(), true, {}).ok());
    fixture.sink().removed.clear();
    auto items = fixture.store().Remove(std::string(DigestHex(busybox.id())), false, {});
    REQUIRE(items.ok());
    REQUIRE(items->size() == 3);
    CHECK((*items)[0].untagged == "busybox:latest");
    CHECK((*items)[1].deleted == busybox.id());
    CHECK(fixture.sink().removed == std::vector<std::string>{plus_chains[0]});
    CheckNothingStored(fixture);
  }
  SECTION("unknown references") {
    auto missing = fixture.store().Remove("nope", false, {});
    REQUIRE(absl::IsNotFound(missing.status()));
    CHECK(std::string(missing.status().message()) == "No such image: nope");
  }
}

TEST_CASE("containers' images: Docker's refusals name the container; running ones hold",
          "[remove]") {
  Fixture fixture;
  ImageFiles busybox = Busybox();
  REQUIRE(fixture.Load(testing::DockerSave2010({{busybox, {"busybox:latest"}}})).ok());
  std::string bb12 = std::string(DigestHex(busybox.id())).substr(0, 12);
  const std::string container(64, 'c');
  ImageUsers stopped;
  stopped.Add(busybox.id(), container, /*running=*/false);
  ImageUsers running;
  running.Add(std::string(DigestHex(busybox.id())), container, /*running=*/true);
  auto message = [](const absl::StatusOr<std::vector<DeleteItem>>& result) {
    return std::string(result.status().message());
  };

  auto by_name = fixture.store().Remove("busybox", false, stopped);
  REQUIRE(absl::IsFailedPrecondition(by_name.status()));
  CHECK(message(by_name) ==
        "conflict: unable to remove repository reference \"busybox\" (must "
        "force) - container cccccccccccc is using its referenced image " +
            bb12);
  auto by_id = fixture.store().Remove(busybox.id(), false, stopped);
  CHECK(message(by_id) == "conflict: unable to delete " + bb12 +
                              " (must be forced) - image is being used by stopped container "
                              "cccccccccccc");
  auto running_by_id = fixture.store().Remove(busybox.id(), true, running);
  REQUIRE(absl::IsFailedPrecondition(running_by_id.status()));
  CHECK(message(running_by_id) == "conflict: unable to delete " + bb12 +
                                      " (cannot be forced) - image is being used by running "
                                      "container cccccccccccc");
  CHECK(fixture.store().Get("busybox").ok());
  // Forced by name, a running container's image loses its tag and stays.
  auto untagged = fixture.store().Remove("busybox", true, running);
  REQUIRE(untagged.ok());
  REQUIRE(untagged->size() == 1);
  CHECK(fixture.store().Get(busybox.id()).ok());
  // A stopped container's image goes when forced by ID.
  auto forced = fixture.store().Remove(busybox.id(), true, stopped);
  REQUIRE(forced.ok());
  CHECK(absl::IsNotFound(fixture.store().Get(busybox.id()).status()));
}

TEST_CASE("layer removals survive stored being down", "[remove]") {
  Fixture fixture;
  ImageFiles busybox = Busybox();
  REQUIRE(fixture.Load(testing::DockerSave2010({{busybox, {"busybox:latest"}}})).ok());
  fixture.sink().available = false;
  REQUIRE(fixture.store().Remove("busybox", false, {}).ok());
  CHECK(fixture.sink().removed.empty());
  fixture.Open();  // restart
  fixture.sink().available = true;
  // The next mutation retries the queued removal.
  REQUIRE(fixture.Import({}, TarBuilder().File("f", "x").Finish()).ok());
  CHECK(fixture.sink().removed == std::vector<std::string>{Sha256Digest(BusyboxLayer())});
}

TEST_CASE("import with changes", "[import]") {
  Fixture fixture;
  std::string layer = BusyboxLayer();
  ImportOptions options;
  options.repository = "example.com/imported:v1";
  options.changes = {"CMD [\"sh\"]", "ENV PATH=/bin", "LABEL a=b", "WORKDIR /tmp", "EXPOSE 8080"};
  auto id = fixture.Import(options, layer);
  INFO(id.status().ToString());
  REQUIRE(id.ok());
  auto image = fixture.store().Get("example.com/imported:v1");
  REQUIRE(image.ok());
  CHECK(image->id == *id);
  CHECK(image->diff_ids == std::vector<std::string>{Sha256Digest(layer)});
  CHECK(image->size == static_cast<int64_t>(layer.size()));
  CHECK(image->labels == std::map<std::string, std::string>{{"a", "b"}});
  CHECK(image->created > 1700000000);
  Json config = ParseJson(image->config_json).value();
  CHECK(Sha256Digest(image->config_json) == *id);
  CHECK(config["os"] == "linux");
  CHECK(config["architecture"] == "amd64");
  CHECK(config["rootfs"] == Json{{"type", "layers"}, {"diff_ids", {Sha256Digest(layer)}}});
  CHECK(config["config"]["Cmd"] == Json::array({"sh"}));
  CHECK(config["config"]["Env"] == Json::array({"PATH=/bin"}));
  CHECK(config["config"]["WorkingDir"] == "/tmp");
  CHECK(config["config"]["ExposedPorts"] == Json{{"8080/tcp", Json::object()}});
  CHECK(config["history"][0]["comment"] == "Imported from -");
  CHECK(config["created"] == config["history"][0]["created"]);
}

TEST_CASE("import: tag option, gzip input, untagged, bad changes", "[import]") {
  Fixture fixture;
  std::string plain = TarBuilder().File("a", "b").Finish();
  std::string gzip = TarBuilder(/*gzip=*/true).File("a", "b").Finish();
  ImportOptions options;
  options.repository = "imp";
  options.tag = "gz";
  auto id = fixture.Import(options, gzip);
  INFO(id.status().ToString());
  REQUIRE(id.ok());
  auto image = fixture.store().Get("imp:gz");
  REQUIRE(image.ok());
  // The diff ID is of the uncompressed tar.
  CHECK(image->diff_ids == std::vector<std::string>{Sha256Digest(plain)});
  CHECK(fixture.content().Exists(Sha256Digest(gzip)));

  auto untagged = fixture.Import({}, plain);
  REQUIRE(untagged.ok());
  CHECK(fixture.store().Get(*untagged)->repo_tags.empty());

  ImportOptions bad;
  bad.changes = {"RUN rm -rf /"};
  auto refused = fixture.Import(bad, plain);
  REQUIRE(absl::IsInvalidArgument(refused.status()));
  CHECK(std::string(refused.status().message()) == "run is not a valid change command");
  ImportOptions bad_ref;
  bad_ref.repository = "UPPER";
  CHECK(absl::IsInvalidArgument(fixture.Import(bad_ref, plain).status()));
  CHECK(absl::IsInvalidArgument(fixture.Import({}, "").status()));
  CHECK(fixture.IngestCount() == 0);
}

TEST_CASE("restart: images and tags are still there; stray blobs are collected", "[restart]") {
  Fixture fixture;
  ImageFiles busybox = Busybox();
  REQUIRE(fixture.Load(testing::DockerSave2010({{busybox, {"busybox:latest"}}})).ok());
  REQUIRE(fixture.store().Tag("busybox", "again", "1").ok());
  // What a crash between committing blobs and writing records leaves.
  std::string stray = fixture.content().WriteBlob("orphan layer").value();
  REQUIRE(WriteFileAtomic(fixture.dir() + "/ingest/partial", "half").ok());
  fixture.Open();
  auto image = fixture.store().Get("again:1");
  REQUIRE(image.ok());
  CHECK(image->id == busybox.id());
  CHECK(image->repo_tags == std::vector<std::string>{"again:1", "busybox:latest"});
  CHECK(image->config_json == busybox.config);
  CHECK_FALSE(fixture.content().Exists(stray));
  CHECK(fixture.content().Exists(busybox.id()));
  CHECK(fixture.IngestCount() == 0);
}

// An OCI image layout as skopeo or umoci write it: every blob under
// blobs/sha256/, layers with their OCI media types.
std::string OciLayout(const std::string& config,
                      const std::vector<std::pair<std::string, std::string>>& layers,
                      const std::string& ref_name) {
  auto blob = [](const std::string& data) {
    return "blobs/sha256/" + std::string(DigestHex(Sha256Digest(data)));
  };
  TarBuilder tar;
  tar.File("oci-layout", R"({"imageLayoutVersion":"1.0.0"})");
  Json descriptors = Json::array();
  for (const auto& [media_type, data] : layers) {
    tar.File(blob(data), data);
    descriptors.push_back(
        {{"mediaType", media_type}, {"digest", Sha256Digest(data)}, {"size", data.size()}});
  }
  tar.File(blob(config), config);
  Json manifest = {{"schemaVersion", 2},
                   {"mediaType", "application/vnd.oci.image.manifest.v1+json"},
                   {"config",
                    {{"mediaType", "application/vnd.oci.image.config.v1+json"},
                     {"digest", Sha256Digest(config)},
                     {"size", config.size()}}},
                   {"layers", descriptors}};
  std::string manifest_blob = manifest.dump();
  tar.File(blob(manifest_blob), manifest_blob);
  Json index = {{"schemaVersion", 2},
                {"manifests",
                 {{{"mediaType", "application/vnd.oci.image.manifest.v1+json"},
                   {"digest", Sha256Digest(manifest_blob)},
                   {"size", manifest_blob.size()},
                   {"annotations", {{"org.opencontainers.image.ref.name", ref_name}}}}}}};
  tar.File("index.json", index.dump());
  return tar.Finish();
}

TEST_CASE("load an OCI layout with plain tar, zstd and gzip layers", "[load][formats]") {
  Fixture fixture;
  std::string one = TarBuilder().File("one", "1").Finish();
  std::string two = TarBuilder().File("two", "2").Finish();
  std::string three = TarBuilder().File("three", "3").Finish();
  std::string two_zstd = TarBuilder(Compression::kZstd).File("two", "2").Finish();
  std::string three_gzip = TarBuilder(Compression::kGzip).File("three", "3").Finish();
  REQUIRE(DetectCompression(two_zstd) == Compression::kZstd);
  std::string config = ConfigFor({Sha256Digest(one), Sha256Digest(two), Sha256Digest(three)});
  std::string archive = OciLayout(config,
                                  {{"application/vnd.oci.image.layer.v1.tar", one},
                                   {"application/vnd.oci.image.layer.v1.tar+zstd", two_zstd},
                                   {"application/vnd.oci.image.layer.v1.tar+gzip", three_gzip}},
                                  "example.com/formats:1");
  std::vector<std::string> lines;
  auto ids = fixture.Load(archive, &lines);
  INFO(ids.status().ToString());
  REQUIRE(ids.ok());
  CHECK(lines == std::vector<std::string>{"Loaded image: example.com/formats:1\n"});
  auto image = fixture.store().Get("example.com/formats:1");
  REQUIRE(image.ok());
  CHECK(image->diff_ids ==
        std::vector<std::string>{Sha256Digest(one), Sha256Digest(two), Sha256Digest(three)});
  // Kept as given; the sink (stored) got each one and checked its diff ID.
  CHECK(image->blob_digests == std::vector<std::string>{Sha256Digest(one), Sha256Digest(two_zstd),
                                                        Sha256Digest(three_gzip)});
  REQUIRE(fixture.sink().applied.size() == 3);
  CHECK(image->layer_sizes == std::vector<int64_t>{static_cast<int64_t>(one.size()),
                                                   static_cast<int64_t>(two.size()),
                                                   static_cast<int64_t>(three.size())});

  SECTION("a zstd layer whose content is not its diff ID stores nothing") {
    std::string other = TarBuilder(Compression::kZstd).File("two", "not 2").Finish();
    std::string bad_config = ConfigFor({Sha256Digest(two)}, "2024-05-05T00:00:00Z", "bad");
    auto result = fixture.Load(
        OciLayout(bad_config, {{"application/vnd.oci.image.layer.v1.tar+zstd", other}}, "bad:1"));
    CHECK(absl::IsInvalidArgument(result.status()));
    CHECK(absl::IsNotFound(fixture.store().Get("bad:1").status()));
    CHECK_FALSE(fixture.content().Exists(Sha256Digest(other)));
  }
  SECTION("a plain tar layer whose content is not its diff ID is refused before any apply") {
    std::string bad_config = ConfigFor({Sha256Digest("x")}, "2024-05-05T00:00:00Z", "bad");
    size_t applied = fixture.sink().applied.size();
    auto result = fixture.Load(
        OciLayout(bad_config, {{"application/vnd.oci.image.layer.v1.tar", one}}, "bad:1"));
    CHECK(absl::IsInvalidArgument(result.status()));
    CHECK(fixture.sink().applied.size() == applied);
  }
}

TEST_CASE("an image loaded again with its layers compressed otherwise stores nothing new",
          "[load][gc]") {
  Fixture fixture;
  std::string plain = TarBuilder().File("hello", "world").Finish();
  std::string gzip = TarBuilder(Compression::kGzip).File("hello", "world").Finish();
  std::string config = ConfigFor({Sha256Digest(plain)});
  REQUIRE(fixture
              .Load(OciLayout(config, {{"application/vnd.oci.image.layer.v1.tar", plain}},
                              "example.com/hello:1"))
              .ok());
  size_t blobs = fixture.BlobCount();
  size_t applied = fixture.sink().applied.size();
  auto again = fixture.Load(OciLayout(
      config, {{"application/vnd.oci.image.layer.v1.tar+gzip", gzip}}, "example.com/hello:2"));
  INFO(again.status().ToString());
  REQUIRE(again.ok());
  CHECK(fixture.BlobCount() == blobs);
  CHECK_FALSE(fixture.content().Exists(Sha256Digest(gzip)));
  CHECK(fixture.sink().applied.size() == applied);
  auto image = fixture.store().Get("example.com/hello:2");
  REQUIRE(image.ok());
  CHECK(image->repo_tags == std::vector<std::string>{"example.com/hello:1", "example.com/hello:2"});
  CHECK(image->blob_digests == std::vector<std::string>{Sha256Digest(plain)});
}

// Commits an image as docker commit and build do: with a parent, its blobs
// written through the content store.
void CommitImage(Fixture& fixture, const ImageFiles& image, const std::string& parent,
                 const std::vector<std::string>& tags) {
  PulledImage pulled;
  std::vector<std::unique_ptr<ContentWriter>> writers;
  auto write = [&](const std::string& data) {
    writers.push_back(fixture.content().NewWriter().value());
    REQUIRE(writers.back()->Write(data).ok());
    return writers.back().get();
  };
  pulled.config = write(image.config);
  pulled.id = image.id();
  pulled.config_json = image.config;
  for (const std::string& layer : image.layers) {
    pulled.layers.push_back(PulledLayer{write(layer), Sha256Digest(layer), Sha256Digest(layer)});
  }
  for (const std::string& tag : tags) {
    pulled.tags.push_back(Reference::ParseNormalized(tag).value().TagNameOnly());
  }
  pulled.parent = parent;
  absl::Status status = fixture.store().CommitPulled(pulled);
  INFO(status.ToString());
  REQUIRE(status.ok());
}

TEST_CASE("rmi of a child removes its untagged parents, child first", "[remove][prune]") {
  Fixture fixture;
  std::string l1 = BusyboxLayer();
  std::string l2 = TarBuilder().File("etc/two", "2").Finish();
  std::string l3 = TarBuilder().File("etc/three", "3").Finish();
  std::vector<std::string> d = {Sha256Digest(l1), Sha256Digest(l2), Sha256Digest(l3)};
  std::vector<std::string> chains = ChainIds(d);
  ImageFiles base{ConfigFor({d[0]}, "2024-01-01T00:00:00Z", "base"), {l1}};
  ImageFiles mid{ConfigFor({d[0], d[1]}, "2024-01-02T00:00:00Z", "mid"), {l1, l2}};
  ImageFiles child{ConfigFor(d, "2024-01-03T00:00:00Z", "child"), {l1, l2, l3}};
  CommitImage(fixture, base, "", {});
  CommitImage(fixture, mid, base.id(), {});
  CommitImage(fixture, child, mid.id(), {"child:1"});

  SECTION("the whole untagged chain goes, with each image's own layer") {
    auto items = fixture.store().Remove("child:1", false, {}, /*prune=*/true);
    REQUIRE(items.ok());
    std::vector<std::string> got;
    for (const DeleteItem& item : *items) {
      got.push_back(item.untagged.empty() ? "Deleted: " + item.deleted
                                          : "Untagged: " + item.untagged);
    }
    CHECK(got == std::vector<std::string>{"Untagged: child:1", "Deleted: " + child.id(),
                                          "Deleted: " + chains[2], "Deleted: " + mid.id(),
                                          "Deleted: " + chains[1], "Deleted: " + base.id(),
                                          "Deleted: " + chains[0]});
    CheckNothingStored(fixture);
    CHECK(fixture.sink().layers.empty());
  }
  SECTION("--no-prune keeps the parents") {
    auto items = fixture.store().Remove("child:1", false, {}, /*prune=*/false);
    REQUIRE(items.ok());
    CHECK(items->size() == 3);
    CHECK(fixture.store().Get(mid.id()).ok());
    CHECK(fixture.store().Get(base.id()).ok());
  }
  SECTION("a tagged parent stops the pruning") {
    REQUIRE(fixture.store().Tag(mid.id(), "mid", "1").ok());
    REQUIRE(fixture.store().Remove("child:1", false, {}, true).ok());
    CHECK(fixture.store().Get("mid:1").ok());
    CHECK(fixture.store().Get(base.id()).ok());
  }
  SECTION("a parent a container uses stays") {
    REQUIRE(fixture.store().Remove("child:1", false, std::set<std::string>{mid.id()}, true).ok());
    CHECK(fixture.store().Get(mid.id()).ok());
    CHECK(fixture.store().Get(base.id()).ok());
  }
  SECTION("a parent with another child stays") {
    std::string l4 = TarBuilder().File("etc/four", "4").Finish();
    ImageFiles sibling{ConfigFor({d[0], d[1], Sha256Digest(l4)}, "2024-01-04T00:00:00Z", "sib"),
                       {l1, l2, l4}};
    CommitImage(fixture, sibling, mid.id(), {"sibling:1"});
    auto items = fixture.store().Remove("child:1", false, {}, true);
    REQUIRE(items.ok());
    CHECK(items->size() == 3);
    CHECK(fixture.store().Get(mid.id()).ok());
    // The parent itself cannot be removed while it has a child, even forced.
    auto refused = fixture.store().Remove(mid.id(), true, {}, true);
    REQUIRE(absl::IsFailedPrecondition(refused.status()));
    CHECK(std::string(refused.status().message()).find("image has dependent child images") !=
          std::string::npos);
  }
}

TEST_CASE("blobs shared by images are stored once and go with their last image", "[gc]") {
  Fixture fixture;
  ImageFiles busybox = Busybox();
  ImageFiles plus = BusyboxPlus();
  REQUIRE(fixture.Load(testing::DockerSave2010({{busybox, {"busybox:latest"}}})).ok());
  REQUIRE(fixture.Load(testing::DockerSave2010({{plus, {"plus:1"}}})).ok());
  // Two configs, the shared base layer once, plus's top layer.
  CHECK(fixture.BlobCount() == 4);
  REQUIRE(fixture.store().Remove("busybox", false, {}).ok());
  CHECK(fixture.BlobCount() == 3);
  CHECK(fixture.content().Exists(Sha256Digest(busybox.layers[0])));
  REQUIRE(fixture.store().Remove("plus:1", false, {}).ok());
  CheckNothingStored(fixture);
}

TEST_CASE("a hold keeps what a pull found until the pull lets go", "[gc]") {
  Fixture fixture;
  ImageFiles busybox = Busybox();
  REQUIRE(fixture.Load(testing::DockerSave2010({{busybox, {"busybox:latest"}}})).ok());
  std::string layer = Sha256Digest(busybox.layers[0]);
  std::unique_ptr<ImageStore::Hold> hold = fixture.store().NewHold();
  REQUIRE(hold->HasBlob(layer));
  REQUIRE(hold->HasChain(layer));  // a base layer's chain ID is its diff ID
  CHECK_FALSE(hold->HasBlob(Sha256Digest("absent")));
  CHECK_FALSE(hold->HasChain(Sha256Digest("absent")));

  // A concurrent rmi.
  REQUIRE(fixture.store().Remove("busybox", false, {}).ok());
  CHECK_FALSE(fixture.content().Exists(busybox.id()));
  CHECK(fixture.content().Exists(layer));
  CHECK(fixture.sink().removed.empty());

  SECTION("the pull commits an image on what it holds") {
    ImageFiles again{ConfigFor({layer}, "2024-03-03T00:00:00Z", "again"), {}};
    PulledImage pulled;
    auto config = fixture.content().NewWriter().value();
    REQUIRE(config->Write(again.config).ok());
    pulled.config = config.get();
    pulled.id = again.id();
    pulled.config_json = again.config;
    pulled.layers.push_back(PulledLayer{nullptr, layer, layer});
    pulled.tags.push_back(Reference::ParseNormalized("again:1").value());
    REQUIRE(fixture.store().CommitPulled(pulled).ok());
    hold.reset();
    CHECK(fixture.content().Exists(layer));
    CHECK(fixture.sink().removed.empty());
    CHECK(fixture.sink().layers.count(layer) == 1);
    CHECK(fixture.store().Get("again:1").ok());
  }
  SECTION("the pull gives up: its release collects what the rmi freed") {
    hold.reset();
    CHECK_FALSE(fixture.content().Exists(layer));
    CHECK(fixture.sink().removed == std::vector<std::string>{layer});
    CheckNothingStored(fixture);
  }
}

TEST_CASE("a load killed after stored applied its layers leaves nothing after restart",
          "[gc][restart]") {
  Fixture fixture;
  struct Killed {};
  fixture.sink().after_apply = [&](const LayerHeader&) {
    if (fixture.sink().applied.size() == 2) throw Killed{};
  };
  CHECK_THROWS_AS(fixture.Load(testing::DockerSave2010({{BusyboxPlus(), {"plus:1"}}})), Killed);
  fixture.sink().after_apply = nullptr;
  // What the kill left: both layers in stored, the config committed (the
  // layers' blobs are committed after their layers are applied).
  CHECK(fixture.sink().layers.size() == 2);
  CHECK(fixture.BlobCount() > 0);
  fixture.Open();  // restart
  CheckNothingStored(fixture);
  CHECK(fixture.sink().layers.empty());
  // And the same image loads cleanly afterwards.
  REQUIRE(fixture.Load(testing::DockerSave2010({{BusyboxPlus(), {"plus:1"}}})).ok());
  CHECK(fixture.store().Get("plus:1").ok());
}

TEST_CASE("loads racing removals of images that share their layers stay whole", "[gc]") {
  Fixture fixture;
  ImageFiles busybox = Busybox();
  ImageFiles plus = BusyboxPlus();
  std::string busybox_archive = testing::DockerSave2010({{busybox, {"busybox:latest"}}});
  std::string plus_archive = testing::DockerSave2010({{plus, {"plus:1"}}});
  std::atomic<bool> stop{false};
  std::atomic<int> failures{0};
  // Loads and removes busybox (whose layer plus shares) as fast as it can.
  std::thread churn([&] {
    while (!stop) {
      if (!fixture.Load(busybox_archive).ok()) ++failures;
      auto removed = fixture.store().Remove("busybox", false, {});
      if (!removed.ok() && !absl::IsNotFound(removed.status())) ++failures;
    }
  });
  for (int i = 0; i < 20; ++i) {
    auto loaded = fixture.Load(plus_archive);
    INFO(loaded.status().ToString());
    REQUIRE(loaded.ok());
    auto image = fixture.store().Get("plus:1");
    REQUIRE(image.ok());
    for (const std::string& blob : image->blob_digests) CHECK(fixture.content().Exists(blob));
    CHECK(fixture.content().Exists(image->id));
    if (i < 19) REQUIRE(fixture.store().Remove("plus:1", false, {}).ok());
  }
  stop = true;
  churn.join();
  CHECK(failures == 0);
  // The sink is looked at only now: the store serialises its own calls to it.
  auto last = fixture.store().Get("plus:1");
  REQUIRE(last.ok());
  for (const std::string& chain : last->chain_ids) CHECK(fixture.sink().layers.count(chain) == 1);
}

// Three layers: busybox, then two small ones on it.
ImageFiles ThreeLayers() {
  std::string base = BusyboxLayer();
  std::string middle = TarBuilder().Dir("etc").File("etc/middle", "m").Finish();
  std::string top = TarBuilder().File("etc/top", "t").Finish();
  return ImageFiles{ConfigFor({Sha256Digest(base), Sha256Digest(middle), Sha256Digest(top)},
                              "2024-04-01T00:00:00Z", "three"),
                    {base, middle, top}};
}

std::vector<std::string> ThreeLayerChains(const ImageFiles& image) {
  std::vector<std::string> diff_ids;
  for (const std::string& layer : image.layers) diff_ids.push_back(Sha256Digest(layer));
  return ChainIds(diff_ids);
}

void CheckNothingQueued(Fixture& fixture) {
  auto pending = fixture.metadata().PendingLayerRemovals();
  REQUIRE(pending.ok());
  CHECK(pending->empty());
}

TEST_CASE("a load unpacks its layers concurrently and publishes them in order", "[load][apply]") {
  Fixture fixture;
  fixture.store().set_max_concurrent_applies(3);
  ImageFiles image = ThreeLayers();
  std::vector<std::string> chains = ThreeLayerChains(image);
  Unpacked unpacked;
  std::atomic<bool> base_waited{false};
  fixture.sink().unpacked = [&](const LayerHeader& header) {
    // The base finishes unpacking last, after both layers above it.
    if (header.parent_chain_id.empty()) base_waited = unpacked.WaitFor({chains[1], chains[2]});
    unpacked.Add(header.chain_id);
  };
  REQUIRE(fixture.Load(testing::DockerSave2010({{image, {"three:1"}}})).ok());
  CHECK(base_waited);
  CheckPublishedInOrder(fixture.sink(), image.layers);
  auto loaded = fixture.store().Get("three:1");
  REQUIRE(loaded.ok());
  CHECK(loaded->chain_ids == chains);
  for (const std::string& layer : image.layers)
    CHECK(fixture.content().Exists(Sha256Digest(layer)));
  CheckNothingQueued(fixture);

  SECTION("layers that exist are not applied again") {
    ImageFiles other = ThreeLayers();
    other.config =
        ConfigFor({chains[0], Sha256Digest(image.layers[1]), Sha256Digest(image.layers[2])},
                  "2024-05-01T00:00:00Z", "again");
    fixture.sink().unpacked = nullptr;
    REQUIRE(fixture.Load(testing::DockerSave2010({{other, {"again:1"}}})).ok());
    CHECK(fixture.sink().applied.size() == 3);
    CHECK(fixture.store().Get("again:1")->chain_ids == chains);
  }
}

TEST_CASE("a load's failing middle layer leaves nothing, also of the layer unpacked above it",
          "[load][apply]") {
  Fixture fixture;
  fixture.store().set_max_concurrent_applies(3);
  ImageFiles image = ThreeLayers();
  std::vector<std::string> chains = ThreeLayerChains(image);
  Unpacked unpacked;
  std::atomic<bool> top_waited{false};
  fixture.sink().unpacked = [&](const LayerHeader& header) {
    unpacked.Add(header.chain_id);
    // The middle layer fails only once the top one is unpacked (and waits
    // for it).
    if (header.chain_id == chains[1]) top_waited = unpacked.WaitFor({chains[2]});
  };
  // The second publication (the middle layer's) fails.
  fixture.sink().fail_after = 1;
  auto result = fixture.Load(testing::DockerSave2010({{image, {"three:1"}}}));
  REQUIRE_FALSE(result.ok());
  CHECK(absl::IsInternal(result.status()));
  CHECK(std::string(result.status().message()).find("injected apply failure") != std::string::npos);
  CHECK(top_waited);
  CHECK(unpacked.Has(chains[2]));
  // The base was published, then removed by the rollback; the top never was.
  REQUIRE(fixture.sink().applied.size() == 1);
  CHECK(fixture.sink().applied[0].chain_id == chains[0]);
  CHECK(fixture.sink().layers.empty());
  CheckNothingStored(fixture);
  CheckNothingQueued(fixture);

  // Nothing of the failed load is in the way of the next one.
  fixture.sink().fail_after = -1;
  fixture.sink().unpacked = nullptr;
  REQUIRE(fixture.Load(testing::DockerSave2010({{image, {"three:1"}}})).ok());
  CHECK(fixture.store().Get("three:1")->chain_ids == chains);
  CHECK(fixture.sink().layers.size() == 3);
}

// Gives the first `limit` bytes of an archive, then fails as a client that
// hung up does.
class HangUpSource : public ByteSource {
 public:
  HangUpSource(std::string data, size_t limit) : data_(std::move(data)), limit_(limit) {}
  absl::StatusOr<size_t> Read(char* buffer, size_t n) override {
    if (offset_ >= limit_) return absl::CancelledError("the client went away");
    n = std::min({n, limit_ - offset_, size_t{1000}});
    data_.copy(buffer, n, offset_);
    offset_ += n;
    return n;
  }

 private:
  std::string data_;
  size_t limit_;
  size_t offset_ = 0;
};

TEST_CASE("a client gone mid-load leaves nothing", "[load][apply]") {
  Fixture fixture;
  std::string archive = testing::DockerSave2010({{ThreeLayers(), {"three:1"}}});
  for (size_t limit : {archive.size() / 4, archive.size() / 2, archive.size() - 600}) {
    INFO(limit);
    HangUpSource source(archive, limit);
    auto result = fixture.store().Load(source, [](const std::string&) {});
    CHECK(absl::IsCancelled(result.status()));
    CHECK(fixture.sink().applied.empty());
    CheckNothingStored(fixture);
    CheckNothingQueued(fixture);
  }
}

TEST_CASE("a load applies its layers from the spooled archive and commits their blobs after",
          "[load][apply]") {
  Fixture fixture;
  ImageFiles image = ThreeLayers();
  std::atomic<int> visible_while_applied{0};
  fixture.sink().unpacked = [&](const LayerHeader& header) {
    // Written back while the layers are applied, made visible only after.
    if (fixture.content().Exists(header.diff_id)) ++visible_while_applied;
  };
  REQUIRE(fixture.Load(testing::DockerSave2010({{image, {"three:1"}}})).ok());
  CHECK(visible_while_applied == 0);
  for (const std::string& layer : image.layers)
    CHECK(fixture.content().Exists(Sha256Digest(layer)));
  CHECK(fixture.IngestCount() == 0);
}

}  // namespace
}  // namespace berth::imaged
