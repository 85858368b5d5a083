#include "imaged/metadata_store.h"

#include <catch2/catch.hpp>

#include "common/digest.h"
#include "tests/imaged/test_util.h"

namespace berth::imaged {
namespace {

using testing::TempDir;

ImageRecord MakeImage(const std::string& name, const std::vector<std::string>& chains) {
  ImageRecord image;
  image.id = Sha256Digest(name);
  image.created = 100;
  for (const std::string& chain : chains) {
    image.layers.push_back(LayerRecord{Sha256Digest("diff" + chain), Sha256Digest(chain),
                                       Sha256Digest("blob" + chain), 10});
    image.size += 10;
  }
  return image;
}

TEST_CASE("migration 1 creates the schema and a reopen keeps the data", "[metadata]") {
  TempDir dir;
  std::string path = dir.path() + "/imaged.db";
  ImageRecord image = MakeImage("a", {"l1", "l2"});
  {
    auto store = MetadataStore::Open(path);
    REQUIRE(store.ok());
    REQUIRE((*store)->Commit({image}, {{"docker.io/library/a:latest", image.id}}).ok());
  }
  auto store = MetadataStore::Open(path);
  REQUIRE(store.ok());
  auto got = (*store)->GetImage(image.id);
  REQUIRE(got.ok());
  CHECK(got->size == 20);
  CHECK(got->created == 100);
  REQUIRE(got->layers.size() == 2);
  CHECK(got->layers[0].chain_id == Sha256Digest("l1"));
  CHECK(got->layers[1].blob_digest == Sha256Digest("blobl2"));
  CHECK(got->tags == std::vector<std::string>{"docker.io/library/a:latest"});
  CHECK((*store)->ResolveTag("docker.io/library/a:latest").value() == image.id);
  CHECK(MetadataStore::Migrations().size() == 2);
}

TEST_CASE("prefix search, tag moves and removal", "[metadata]") {
  TempDir dir;
  auto store = MetadataStore::Open(dir.path() + "/imaged.db");
  REQUIRE(store.ok());
  ImageRecord a = MakeImage("a", {"l1"});
  ImageRecord b = MakeImage("b", {"l1", "l2"});
  REQUIRE((*store)->Commit({a}, {{"docker.io/library/x:latest", a.id}}).ok());
  REQUIRE((*store)->Commit({b}, {{"docker.io/library/x:latest", b.id}}).ok());
  CHECK((*store)->ResolveTag("docker.io/library/x:latest").value() == b.id);
  CHECK((*store)->GetImage(a.id)->tags.empty());
  std::string hex_a(DigestHex(a.id));
  CHECK((*store)->FindByPrefix(hex_a.substr(0, 12)).value() == std::vector<std::string>{a.id});
  CHECK((*store)->FindByPrefix("%").value().empty());
  CHECK((*store)->FindByPrefix("").value().size() == 2);
  CHECK(absl::IsNotFound((*store)->RemoveTag("docker.io/library/nope:latest")));

  // b shares l1 with a: deleting b releases only l2 and b's own blobs.
  auto released = (*store)->DeleteImage(b.id);
  REQUIRE(released.ok());
  CHECK(released->chains == std::vector<std::string>{Sha256Digest("l2")});
  CHECK(released->blobs == std::vector<std::string>{b.id, Sha256Digest("blobl2")});
  CHECK((*store)->PendingLayerRemovals().value() == std::vector<std::string>{Sha256Digest("l2")});
  CHECK(absl::IsNotFound((*store)->ResolveTag("docker.io/library/x:latest").status()));
  // Committing an image that uses a queued chain takes it off the queue.
  REQUIRE((*store)->Commit({b}, {}).ok());
  CHECK((*store)->PendingLayerRemovals().value().empty());
}

TEST_CASE("the generation moves with every written image, tag or digest, not with reads",
          "[metadata]") {
  TempDir dir;
  auto store = MetadataStore::Open(dir.path() + "/imaged.db");
  REQUIRE(store.ok());
  MetadataStore& metadata = **store;
  int64_t last = metadata.Generation();
  auto moved = [&] {
    const int64_t now = metadata.Generation();
    const bool changed = now != last;
    last = now;
    return changed;
  };
  ImageRecord image = MakeImage("a", {"l1"});
  REQUIRE(metadata.Commit({image}, {{"docker.io/library/a:latest", image.id}}).ok());
  CHECK(moved());
  CHECK(metadata.ResolveTag("docker.io/library/a:latest").ok());
  CHECK(metadata.GetImage(image.id).ok());
  CHECK(metadata.ListImages().ok());
  CHECK_FALSE(moved());
  REQUIRE(metadata.SetTag("docker.io/library/b:1", image.id).ok());
  CHECK(moved());
  REQUIRE(metadata.SetRepoDigest("docker.io/library/a@" + Sha256Digest("m"), image.id).ok());
  CHECK(moved());
  REQUIRE(metadata.RemoveTag("docker.io/library/b:1").ok());
  CHECK(moved());
  REQUIRE(metadata.DeleteImage(image.id).ok());
  CHECK(moved());
}

}  // namespace
}  // namespace berth::imaged

namespace berth::imaged {

TEST_CASE("migration 2: repo digests follow their image, blob sources are hints", "[metadata]") {
  testing::TempDir dir;
  std::string path = dir.path() + "/imaged.db";
  ImageRecord image;
  image.id = Sha256Digest("config");
  image.layers.push_back(
      LayerRecord{Sha256Digest("diff"), Sha256Digest("diff"), Sha256Digest("blob"), 10});
  const std::string digest_ref = "127.0.0.1:5000/a@" + Sha256Digest("manifest");
  {
    auto store = MetadataStore::Open(path);
    REQUIRE(store.ok());
    REQUIRE((*store)
                ->Commit({image}, {{"127.0.0.1:5000/a:v1", image.id}}, {{digest_ref, image.id}})
                .ok());
    REQUIRE((*store)->AddBlobSource(Sha256Digest("blob"), "127.0.0.1:5000/a").ok());
    REQUIRE((*store)->AddBlobSource(Sha256Digest("blob"), "127.0.0.1:5000/a").ok());
    REQUIRE((*store)->AddBlobSource(Sha256Digest("blob"), "127.0.0.1:5000/b").ok());
  }
  auto store = MetadataStore::Open(path);
  REQUIRE(store.ok());
  CHECK((*store)->GetImage(image.id)->repo_digests == std::vector<std::string>{digest_ref});
  CHECK((*store)->ResolveRepoDigest(digest_ref).value() == image.id);
  CHECK((*store)->BlobSources(Sha256Digest("blob")).value() ==
        std::vector<std::string>{"127.0.0.1:5000/a", "127.0.0.1:5000/b"});
  CHECK(absl::IsNotFound((*store)->RemoveRepoDigest("127.0.0.1:5000/a@" + Sha256Digest("x"))));
  REQUIRE((*store)->DeleteImage(image.id).ok());
  CHECK(absl::IsNotFound((*store)->ResolveRepoDigest(digest_ref).status()));
}

}  // namespace berth::imaged
