// docker save: the archive is parsed back and checked against what Moby >= 25
// writes (docker-archive manifest.json + OCI layout), and loaded again.
#include <archive.h>
#include <archive_entry.h>

#include <catch2/catch.hpp>
#include <map>

#include "common/digest.h"
#include "common/json.h"
#include "imaged/content_store.h"
#include "imaged/image_store.h"
#include "imaged/metadata_store.h"
#include "tests/imaged/test_util.h"

namespace berth::imaged {
namespace {

using testing::BusyboxLayer;
using testing::ConfigFor;
using testing::FakeLayerSink;
using testing::ImageFiles;
using testing::TarBuilder;
using testing::TempDir;

class Store {
 public:
  Store()
      : content_(FileContentStore::Open(dir_.path()).value()),
        metadata_(MetadataStore::Open(dir_.path() + "/imaged.db").value()),
        store_(content_.get(), metadata_.get(), &sink_) {}
  ImageStore& operator*() { return store_; }
  ImageStore* operator->() { return &store_; }
  std::vector<std::string> Load(const std::string& archive) {
    StringSource source(archive);
    auto ids = store_.Load(source, [](const std::string&) {});
    INFO(ids.status().ToString());
    REQUIRE(ids.ok());
    return *ids;
  }
  absl::StatusOr<std::string> Save(const std::vector<std::string>& names) {
    StringSink sink;
    RETURN_IF_ERROR(store_.Save(names, sink));
    return sink.data();
  }

 private:
  TempDir dir_;
  FakeLayerSink sink_;
  std::unique_ptr<FileContentStore> content_;
  std::unique_ptr<MetadataStore> metadata_;
  ImageStore store_;
};

struct Entry {
  std::string data;
  bool dir = false;
};

// Path -> entry, in archive order in `order`.
std::map<std::string, Entry> ReadTar(const std::string& tar, std::vector<std::string>* order) {
  std::map<std::string, Entry> entries;
  struct archive* archive = archive_read_new();
  archive_read_support_format_tar(archive);
  REQUIRE(archive_read_open_memory(archive, tar.data(), tar.size()) == ARCHIVE_OK);
  struct archive_entry* entry;
  int rc;
  while ((rc = archive_read_next_header(archive, &entry)) == ARCHIVE_OK) {
    Entry e;
    e.dir = archive_entry_filetype(entry) == AE_IFDIR;
    char buffer[65536];
    la_ssize_t n;
    while ((n = archive_read_data(archive, buffer, sizeof(buffer))) > 0) e.data.append(buffer, n);
    REQUIRE(n == 0);
    order->push_back(archive_entry_pathname(entry));
    entries[archive_entry_pathname(entry)] = e;
  }
  CHECK(rc == ARCHIVE_EOF);
  archive_read_free(archive);
  return entries;
}

std::string Blob(const std::string& digest) {
  return "blobs/sha256/" + std::string(DigestHex(digest));
}

ImageFiles Busybox() {
  std::string layer = BusyboxLayer();
  return ImageFiles{ConfigFor({Sha256Digest(layer)}), {layer}};
}

ImageFiles BusyboxPlus() {
  std::string top = TarBuilder().File("etc/extra", "extra").Finish();
  std::string base = BusyboxLayer();
  return ImageFiles{ConfigFor({Sha256Digest(base), Sha256Digest(top)}, "2024-02-01T00:00:00Z"),
                    {base, top}};
}

TEST_CASE("save writes manifest.json, repositories and the OCI layout, blobs once", "[save]") {
  Store store;
  ImageFiles busybox = Busybox();
  ImageFiles plus = BusyboxPlus();
  store.Load(testing::DockerSave2010({{busybox, {"busybox:latest"}}, {plus, {"a/plus:v1"}}}));
  REQUIRE(store->Tag("busybox", "busybox", "1").ok());

  auto tar = store.Save({"busybox:latest", "a/plus:v1", "busybox:1"});
  INFO(tar.status().ToString());
  REQUIRE(tar.ok());
  std::vector<std::string> order;
  auto entries = ReadTar(*tar, &order);

  // Every blob is named by its digest; the shared busybox layer once.
  size_t blobs = 0;
  for (const auto& [path, entry] : entries) {
    if (path.rfind("blobs/sha256/", 0) != 0 || entry.dir) continue;
    ++blobs;
    CHECK(Blob(Sha256Digest(entry.data)) == path);
  }
  // 2 configs + 2 OCI manifests + 2 distinct layers.
  CHECK(blobs == 6);
  CHECK(order.front() == "blobs/");
  CHECK(std::is_sorted(order.begin(), order.end()));
  CHECK(entries["oci-layout"].data == R"({"imageLayoutVersion":"1.0.0"})");

  Json manifest = ParseJson(entries["manifest.json"].data).value();
  REQUIRE(manifest.size() == 2);
  CHECK(manifest[0]["Config"] == Blob(busybox.id()));
  CHECK(manifest[0]["RepoTags"] == Json::array({"busybox:latest", "busybox:1"}));
  CHECK(manifest[0]["Layers"] == Json::array({Blob(Sha256Digest(busybox.layers[0]))}));
  CHECK(manifest[1]["RepoTags"] == Json::array({"a/plus:v1"}));
  CHECK(manifest[1]["Layers"] ==
        Json::array({Blob(Sha256Digest(plus.layers[0])), Blob(Sha256Digest(plus.layers[1]))}));
  CHECK(entries[Blob(busybox.id())].data == busybox.config);
  CHECK(entries[Blob(Sha256Digest(plus.layers[1]))].data == plus.layers[1]);

  Json repositories = ParseJson(entries["repositories"].data).value();
  CHECK(repositories["busybox"]["latest"] ==
        std::string(DigestHex(Sha256Digest(busybox.layers[0]))));
  CHECK(repositories["a/plus"]["v1"] == std::string(DigestHex(Sha256Digest(plus.layers[1]))));

  Json index = ParseJson(entries["index.json"].data).value();
  CHECK(index["schemaVersion"] == 2);
  CHECK(index["mediaType"] == "application/vnd.oci.image.index.v1+json");
  REQUIRE(index["manifests"].size() == 3);
  const Json& first = index["manifests"][0];
  CHECK(first["annotations"]["io.containerd.image.name"] == "docker.io/library/busybox:latest");
  CHECK(first["annotations"]["org.opencontainers.image.ref.name"] == "latest");
  CHECK(index["manifests"][2]["annotations"]["io.containerd.image.name"] == "docker.io/a/plus:v1");
  std::string manifest_path = Blob(first["digest"].get<std::string>());
  REQUIRE(entries.count(manifest_path));
  CHECK(first["size"] == entries[manifest_path].data.size());
  Json oci = ParseJson(entries[manifest_path].data).value();
  CHECK(oci["mediaType"] == "application/vnd.oci.image.manifest.v1+json");
  CHECK(oci["config"]["digest"] == busybox.id());
  CHECK(oci["config"]["size"] == busybox.config.size());
  REQUIRE(oci["layers"].size() == 1);
  CHECK(oci["layers"][0]["mediaType"] == "application/vnd.oci.image.layer.v1.tar");
  CHECK(oci["layers"][0]["digest"] == Sha256Digest(busybox.layers[0]));
  CHECK(oci["layers"][0]["size"] == busybox.layers[0].size());

  // And it loads back, with its tags.
  Store other;
  auto ids = other.Load(*tar);
  CHECK(ids.size() == 2);
  CHECK(other->Get("busybox:1").value().id == busybox.id());
  CHECK(other->Get("a/plus:v1").value().id == plus.id());
}

TEST_CASE("save by repository name takes every tag; by ID takes none", "[save]") {
  Store store;
  ImageFiles busybox = Busybox();
  store.Load(testing::DockerSave2010({{busybox, {"busybox:latest", "busybox:2"}}}));

  std::vector<std::string> order;
  auto by_name = ReadTar(store.Save({"busybox"}).value(), &order);
  Json manifest = ParseJson(by_name["manifest.json"].data).value();
  REQUIRE(manifest.size() == 1);
  CHECK(manifest[0]["RepoTags"].size() == 2);

  auto by_id =
      ReadTar(store.Save({std::string(DigestHex(busybox.id())).substr(0, 12)}).value(), &order);
  manifest = ParseJson(by_id["manifest.json"].data).value();
  REQUIRE(manifest.size() == 1);
  CHECK(manifest[0]["RepoTags"].is_null());
  CHECK(by_id.count("repositories") == 0);
  Json index = ParseJson(by_id["index.json"].data).value();
  REQUIRE(index["manifests"].size() == 1);
  CHECK_FALSE(index["manifests"][0].contains("annotations"));
}

TEST_CASE("save of an unknown name fails before writing anything", "[save]") {
  Store store;
  store.Load(testing::DockerSave2010({{Busybox(), {"busybox:latest"}}}));
  StringSink sink;
  absl::Status status = store->Save({"busybox", "nosuch:1"}, sink);
  CHECK(absl::IsNotFound(status));
  CHECK(status.message() == "No such image: nosuch:1");
  CHECK(sink.data().empty());
}

TEST_CASE("a layer stored compressed is saved as the tar of its diff ID", "[save]") {
  Store store;
  std::string gzip = TarBuilder(/*gzip=*/true).File("hello", "world").Finish();
  ImportOptions options;
  options.repository = "imported:1";
  StringSource source(gzip);
  auto id = store->Import(options, source);
  REQUIRE(id.ok());
  std::string diff_id = store->Get("imported:1").value().diff_ids.at(0);

  std::vector<std::string> order;
  auto entries = ReadTar(store.Save({"imported:1"}).value(), &order);
  REQUIRE(entries.count(Blob(diff_id)));
  CHECK(Sha256Digest(entries[Blob(diff_id)].data) == diff_id);
  Json manifest = ParseJson(entries["manifest.json"].data).value();
  CHECK(manifest[0]["Layers"] == Json::array({Blob(diff_id)}));
}

}  // namespace
}  // namespace berth::imaged
