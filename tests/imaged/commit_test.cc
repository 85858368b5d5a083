#include "imaged/commit.h"

#include <catch2/catch.hpp>

#include "common/digest.h"
#include "imaged/content_store.h"
#include "imaged/metadata_store.h"
#include "tests/imaged/test_util.h"

namespace berth::imaged {
namespace {

using testing::FakeLayerSink;
using testing::TarBuilder;
using testing::TempDir;

class FakeChanges : public ContainerChangesSource {
 public:
  absl::StatusOr<std::unique_ptr<ByteSource>> OpenChanges(
      const std::string& container_id, const std::vector<std::string>& excluded) override {
    if (container_id != "c1") return absl::NotFoundError("No such container: " + container_id);
    asked_excluded = excluded;
    return std::unique_ptr<ByteSource>(std::make_unique<StringSource>(tar));
  }
  std::string tar;
  std::vector<std::string> asked_excluded;
};

struct Fixture {
  Fixture() {
    content = FileContentStore::Open(dir.path()).value();
    metadata = MetadataStore::Open(dir.path() + "/imaged.db").value();
    store = std::make_unique<ImageStore>(content.get(), metadata.get(), &sink);
    committer = std::make_unique<ContainerCommitter>(store.get(), content.get(), &changes);
  }
  std::string Base() {
    ImportOptions options;
    options.repository = "base";
    StringSource source(TarBuilder().File("bin/sh", "sh").Finish());
    return store->Import(options, source).value();
  }
  TempDir dir;
  FakeLayerSink sink;
  FakeChanges changes;
  std::unique_ptr<FileContentStore> content;
  std::unique_ptr<MetadataStore> metadata;
  std::unique_ptr<ImageStore> store;
  std::unique_ptr<ContainerCommitter> committer;
};

TEST_CASE("commit adds the container's changes as a layer with its config", "[commit]") {
  Fixture f;
  std::string base = f.Base();
  f.changes.tar = TarBuilder().File("hello.txt", "hi").Finish();
  CommitOptions options;
  options.container_id = "c1";
  options.image_id = base;
  options.container_config = {{"Cmd", {"sh", "-c", "echo hi > /hello.txt"}}, {"Env", {"A=1"}}};
  options.excluded_paths = {"/data"};
  options.repository = "mine";
  options.tag = "v1";
  options.author = "me";
  options.comment = "a message";
  options.changes = {"CMD [\"echo\",\"x\"]"};
  auto id = f.committer->Commit(options);
  REQUIRE(id.ok());
  CHECK(f.changes.asked_excluded == std::vector<std::string>{"/data"});

  auto image = f.store->Get("mine:v1");
  REQUIRE(image.ok());
  CHECK(image->id == *id);
  CHECK(image->parent == base);
  REQUIRE(image->diff_ids.size() == 2);
  CHECK(image->diff_ids[1] == Sha256Digest(f.changes.tar));
  // The new layer went to stored on top of the base.
  CHECK(f.sink.layers.count(image->chain_ids[1]) == 1);
  Json config = ParseJson(image->config_json).value();
  CHECK(config["config"]["Cmd"] == Json({"echo", "x"}));
  CHECK(config["config"]["Env"] == Json({"A=1"}));
  CHECK(config["author"] == "me");
  REQUIRE(config["history"].size() == 2);
  CHECK(config["history"][1]["created_by"] == "sh -c echo hi > /hello.txt");
  CHECK(config["history"][1]["comment"] == "a message");
  CHECK_FALSE(config["history"][1].contains("empty_layer"));
  CHECK(config["rootfs"]["diff_ids"].size() == 2);
}

TEST_CASE("committing no change adds an empty_layer history entry only", "[commit]") {
  Fixture f;
  std::string base = f.Base();
  f.changes.tar = TarBuilder().Finish();
  REQUIRE(Sha256Digest(f.changes.tar) == kEmptyLayerDiffId);
  CommitOptions options;
  options.container_id = "c1";
  options.image_id = base;
  auto id = f.committer->Commit(options);
  REQUIRE(id.ok());
  auto image = f.store->Get(*id);
  REQUIRE(image.ok());
  CHECK(image->diff_ids.size() == 1);
  Json config = ParseJson(image->config_json).value();
  CHECK(config["history"][1]["empty_layer"] == true);
  CHECK_FALSE(f.content->Exists(kEmptyLayerDiffId));
  CHECK(image->repo_tags.empty());
}

TEST_CASE("commit refuses bad changes and tags before taking the diff", "[commit]") {
  Fixture f;
  std::string base = f.Base();
  CommitOptions options;
  options.container_id = "c1";
  options.image_id = base;
  options.changes = {"RUN echo"};
  auto id = f.committer->Commit(options);
  CHECK(absl::IsInvalidArgument(id.status()));
  CHECK(f.changes.asked_excluded.empty());

  options.changes.clear();
  options.repository = "UPPER";
  CHECK(absl::IsInvalidArgument(f.committer->Commit(options).status()));
  options.repository = "";
  options.tag = "v1";
  CHECK(absl::IsInvalidArgument(f.committer->Commit(options).status()));
}

TEST_CASE("a failing diff leaves no image", "[commit]") {
  Fixture f;
  std::string base = f.Base();
  CommitOptions options;
  options.container_id = "missing";
  options.image_id = base;
  options.repository = "x";
  CHECK(absl::IsNotFound(f.committer->Commit(options).status()));
  CHECK(absl::IsNotFound(f.store->Get("x").status()));
  CHECK(f.store->List()->size() == 1);
}

}  // namespace
}  // namespace berth::imaged
