#include "imaged/build_service.h"

#include <catch2/catch.hpp>
#include <condition_variable>
#include <mutex>

#include "absl/strings/match.h"
#include "common/digest.h"
#include "common/fs.h"
#include "imaged/build_adapters.h"
#include "imaged/content_store.h"
#include "imaged/metadata_store.h"
#include "tests/imaged/test_util.h"

namespace berth::imaged {
namespace {

using testing::FakeLayerSink;
using testing::TarBuilder;
using testing::TempDir;

class NoChanges : public ContainerChangesSource {
 public:
  absl::StatusOr<std::unique_ptr<ByteSource>> OpenChanges(
      const std::string& container_id, const std::vector<std::string>&) override {
    return absl::NotFoundError("No such container: " + container_id);
  }
};

// RUN steps "succeed" with a fixed output and change nothing; "false" fails.
class FakeRunner : public build::StepRunner {
 public:
  absl::StatusOr<std::string> Create(const Request& request) override {
    commands.push_back(request.config["Cmd"].dump());
    std::string id(64, static_cast<char>('a' + created++));
    live.insert(id);
    return id;
  }
  absl::StatusOr<int> Run(const std::string&, const build::LineFn& output) override {
    output("step output\n");
    return commands.back().find("false") != std::string::npos ? 1 : 0;
  }
  absl::Status Remove(const std::string& id) override {
    live.erase(id);
    return absl::OkStatus();
  }
  int created = 0;
  std::vector<std::string> commands;
  std::set<std::string> live;
};

class EmptyChanges : public ContainerChangesSource {
 public:
  absl::StatusOr<std::unique_ptr<ByteSource>> OpenChanges(
      const std::string&, const std::vector<std::string>&) override {
    return std::unique_ptr<ByteSource>(std::make_unique<StringSource>(TarBuilder().Finish()));
  }
};

struct Fixture {
  Fixture() {
    content = FileContentStore::Open(dir.path() + "/content").value();
    metadata = MetadataStore::Open(dir.path() + "/imaged.db").value();
    store = std::make_unique<ImageStore>(content.get(), metadata.get(), &sink);
    db = Database::Open(dir.path() + "/build.db", build::BuildCacheMigrations()).value();
    cache = std::make_unique<build::SqlBuildCache>(db.get(), [] { return int64_t{1}; });
    service = std::make_unique<BuildService>(store.get(), content.get(), nullptr, nullptr, &changes,
                                             &runner, cache.get(), dir.path() + "/work");
    REQUIRE(service->CleanUp().ok());
    ImportOptions options;
    options.repository = "base";
    StringSource source(
        TarBuilder()
            .Dir("etc")
            .File("etc/passwd", "root:x:0:0::/root:/bin/sh\napp:x:100:101::/:/bin/sh\n")
            .File("etc/group", "root:x:0:\napp:x:101:\n")
            .Dir("a")
            .File("a/x", "x")
            .File("a/y", "y")
            .Dir("b")
            .File("b/old", "o")
            .Finish());
    base = store->Import(options, source).value();
  }
  std::string Build(const std::string& dockerfile, const std::string& context_tar,
                    std::vector<std::string> tags = {}) {
    BuildParams params;
    params.options.tags = std::move(tags);
    StringSource source(context_tar);
    std::string out;
    REQUIRE(service
                ->Build(params, source,
                        [&](const std::string& bytes) {
                          out += bytes;
                          return absl::OkStatus();
                        })
                .ok());
    (void)dockerfile;
    // Reused entries are marked used after the answer: settled for the test.
    service->active()->WaitForTouches();
    return out;
  }
  TempDir dir;
  FakeLayerSink sink;
  EmptyChanges changes;
  FakeRunner runner;
  std::unique_ptr<FileContentStore> content;
  std::unique_ptr<MetadataStore> metadata;
  std::unique_ptr<ImageStore> store;
  std::unique_ptr<Database> db;
  std::unique_ptr<build::SqlBuildCache> cache;
  std::unique_ptr<BuildService> service;
  std::string base;
};

std::string Context(const std::string& dockerfile) {
  return TarBuilder().File("Dockerfile", dockerfile).File("f.txt", "hello").Finish();
}

TEST_CASE("an image's files are read from its layer blobs, whiteouts applied", "[build]") {
  Fixture f;
  ImportOptions options;
  StringSource layer(
      TarBuilder().File("a/.wh.x", "").File("b/.wh..wh..opq", "").File("b/new", "n").Finish());
  // A second image on top of base: import makes one layer, so chain by hand.
  ImageInfo base = f.store->Get("base").value();
  auto stored = StoreLayerBlob(f.content.get(), layer).value();
  Json config = ParseJson(base.config_json).value();
  config["rootfs"]["diff_ids"].push_back(stored.diff_id);
  std::string id = StoreLocalImage(f.store.get(), f.content.get(), config, {base}, {}).value();
  ImageInfo image = f.store->Get(id).value();

  TempDir files_dir;
  auto tree = ImageFilesTree::Read(f.content.get(), image, files_dir.path()).value();
  CHECK(tree->Lstat("a/y").ok());
  CHECK(absl::IsNotFound(tree->Lstat("a/x").status()));
  CHECK(absl::IsNotFound(tree->Lstat("/b/old").status()));
  CHECK(tree->Lstat("b/new").ok());
  CHECK(tree->List("b").value() == std::vector<std::string>{"new"});
  CHECK(tree->List("").value() == std::vector<std::string>{"a", "b", "etc"});
  auto source = tree->Open("b/new").value();
  char buffer[8];
  CHECK(source->Read(buffer, sizeof(buffer)).value() == 1);
  CHECK(buffer[0] == 'n');
  CHECK(tree->passwd().find("app:x:100") != std::string::npos);
}

TEST_CASE("an image known by ID is answered from the config cache until removed", "[build]") {
  Fixture f;
  ImageConfigCache configs;
  const std::string id = f.store->Get("base").value().id;
  {
    StoreBaseImages images(f.store.get(), nullptr, &configs);
    auto first = images.Resolve(id, "", false, {});
    REQUIRE(first.ok());
    CHECK(images.Confirm(id).ok());
    REQUIRE(configs.Find(id) != nullptr);
    CHECK(*configs.Find(id) == first->config);
  }
  // docker rmi removes the config blob too: a miss, the cache notwithstanding.
  ImageUsers none;
  REQUIRE(f.store->Remove(id, /*force=*/true, none).ok());
  StoreBaseImages images(f.store.get(), nullptr, &configs);
  CHECK(absl::IsNotFound(images.Resolve(id, "", false, {}).status()));
}

TEST_CASE("a config blob that outlived its image's record fails its confirmation once", "[build]") {
  Fixture f;
  ImageConfigCache configs;
  const std::string id = f.store->Get("base").value().id;
  REQUIRE(StoreBaseImages(f.store.get(), nullptr, &configs).Resolve(id, "", false, {}).ok());
  // The record goes, the blob stays (as when a removal races a build).
  REQUIRE(f.metadata->DeleteImage(id).ok());
  REQUIRE(f.store->HasBlob(id));
  StoreBaseImages images(f.store.get(), nullptr, &configs);
  auto answered = images.Resolve(id, "", false, {});
  REQUIRE(answered.ok());
  absl::Status confirmed = images.Confirm(id);
  CHECK(absl::IsNotFound(confirmed));
  CHECK(absl::StrContains(confirmed.message(), "removed while the build used it"));
  // The next build reads the record, and misses.
  CHECK(configs.Find(id) == nullptr);
  CHECK(absl::IsNotFound(
      StoreBaseImages(f.store.get(), nullptr, &configs).Resolve(id, "", false, {}).status()));
}

TEST_CASE("a step's layer whose blob only another image knows is found there", "[build]") {
  Fixture f;
  // A pulled image's layer lives as its compressed blob, under another digest.
  const std::string tar = TarBuilder().File("pulled.txt", "p").Finish();
  const std::string diff_id = Sha256Digest(tar);
  const std::string blob =
      f.content->WriteBlob(TarBuilder(/*gzip=*/true).File("pulled.txt", "p").Finish()).value();
  REQUIRE(blob != diff_id);
  Json pulled_config = {{"architecture", "amd64"},
                        {"os", "linux"},
                        {"rootfs", {{"type", "layers"}, {"diff_ids", {diff_id}}}}};
  PulledImage pulled;
  pulled.config_json = pulled_config.dump();
  pulled.id = f.content->WriteBlob(pulled.config_json).value();
  pulled.layers.push_back(PulledLayer{nullptr, blob, diff_id});
  REQUIRE(f.store->CommitPulled(pulled).ok());

  // As a --cache-from step restores it: the base's layers, then that one.
  ImageInfo base = f.store->Get("base").value();
  Json config = ParseJson(base.config_json).value();
  config["rootfs"]["diff_ids"].push_back(diff_id);
  StoreImageWriter writer(f.store.get(), f.content.get());
  auto id = writer.Write(config, base.id);
  REQUIRE(id.ok());
  ImageInfo written = f.store->Get(*id).value();
  CHECK(written.parent == base.id);
  CHECK(written.blob_digests.back() == blob);
  CHECK(written.blob_digests.front() == base.blob_digests.front());
}

TEST_CASE("a build without containers writes images, tags and the cache", "[build]") {
  Fixture f;
  std::string dockerfile =
      "FROM base\nCOPY --chown=app f.txt /dst/\nWORKDIR /a\nWORKDIR /w\nENV A=1\nRUN true\n";
  std::string out = f.Build(dockerfile, Context(dockerfile), {"built:1"});
  CHECK(out.find("Successfully tagged built:1") != std::string::npos);
  CHECK(out.find("step output") != std::string::npos);
  CHECK(f.runner.live.empty());
  ImageInfo image = f.store->Get("built:1").value();
  Json config = ParseJson(image.config_json).value();
  CHECK(config["config"]["WorkingDir"] == "/w");
  // base + COPY + WORKDIR /w (WORKDIR /a exists: empty layer; RUN changed nothing).
  CHECK(image.diff_ids.size() == 3);
  CHECK_FALSE(image.parent.empty());
  // Every layer reached stored.
  for (const std::string& chain : image.chain_ids) CHECK(f.sink.layers.count(chain) == 1);

  std::string again = f.Build(dockerfile, Context(dockerfile), {"built:2"});
  CHECK(again.find(" ---\\u003e Using cache") != std::string::npos);
  CHECK(again.find("Running in") == std::string::npos);
  CHECK(f.store->Get("built:2").value().id == image.id);
  CHECK(f.runner.created == 1);
  // The work directory is emptied after each build.
  CHECK(ListDirectory(f.dir.path() + "/work").value().empty());
}

TEST_CASE("a failed RUN reports Docker's message and leaves no tag nor container", "[build]") {
  Fixture f;
  std::string dockerfile = "FROM base\nRUN false\n";
  std::string out = f.Build(dockerfile, Context(dockerfile), {"failed:1"});
  CHECK(out.find("The command '/bin/sh -c false' returned a non-zero code: 1") !=
        std::string::npos);
  CHECK(absl::IsNotFound(f.store->Get("failed:1").status()));
  CHECK(f.runner.live.empty());
}

TEST_CASE("the build cache lists steps and prune frees what no tagged image holds", "[build]") {
  Fixture f;
  BuildCacheManager manager(f.store.get(), f.cache.get());
  // Two builds sharing their first step: the kept one tagged, the other
  // abandoned (its image untagged).
  std::string kept = "FROM base\nCOPY f.txt /k/\nENV K=1\n";
  std::string gone = "FROM base\nCOPY f.txt /k/\nCOPY f.txt /g/\n";
  f.Build(kept, Context(kept), {"kept:1"});
  f.Build(gone, Context(gone));
  auto listed = manager.List();
  REQUIRE(listed.ok());
  REQUIRE(listed->size() == 3);
  auto find = [&](const std::string& needle) {
    for (const BuildCacheUsage& usage : *listed) {
      if (usage.description.find(needle) != std::string::npos) return usage;
    }
    FAIL("no cache entry for " << needle);
    return BuildCacheUsage{};
  };
  const BuildCacheUsage copy_k = find("in /k/");
  CHECK(copy_k.description.find("in /k/") != std::string::npos);
  CHECK(copy_k.id.size() == 25);
  CHECK(copy_k.size > 0);
  CHECK(copy_k.shared);
  CHECK(copy_k.parent.empty());
  const BuildCacheUsage env = find("ENV K=1");
  CHECK(env.size == 0);
  CHECK(env.shared);
  CHECK(env.parent == copy_k.id);
  const BuildCacheUsage copy_g = find("in /g/");
  CHECK_FALSE(copy_g.shared);
  CHECK(copy_g.usage_count == 1);
  CHECK(copy_k.usage_count == 2);

  // Without all: only the abandoned step goes, and its image with it.
  auto pruned = manager.Prune({});
  REQUIRE(pruned.ok());
  CHECK(pruned->deleted == std::vector<std::string>{copy_g.id});
  CHECK(pruned->reclaimed == copy_g.size);
  CHECK(absl::IsNotFound(f.store->Get(copy_g.image_id).status()));
  CHECK(manager.List()->size() == 2);

  // An until bound before the entries' last use removes nothing.
  BuildCachePruneOptions until;
  until.all = true;
  until.until = 1;
  CHECK(manager.Prune(until)->deleted.empty());
  // All: the entries go; the tagged image and its parents stay.
  BuildCachePruneOptions all;
  all.all = true;
  pruned = manager.Prune(all);
  REQUIRE(pruned.ok());
  CHECK(pruned->deleted.size() == 2);
  CHECK(pruned->reclaimed == 0);
  CHECK(manager.List()->empty());
  CHECK(f.store->Get("kept:1").ok());
  CHECK(f.store->Get(copy_k.image_id).ok());
  // The next build finds no cache.
  std::string again = f.Build(kept, Context(kept), {"kept:2"});
  CHECK(again.find("Using cache") == std::string::npos);
}

TEST_CASE("a prune leaves the entries of a running build alone", "[build]") {
  Fixture f;
  ActiveBuilds active;
  BuildCacheManager manager(f.store.get(), f.cache.get(), &active);
  std::string dockerfile = "FROM base\nCOPY f.txt /r/\n";
  f.Build(dockerfile, Context(dockerfile));
  // The fixture's cache clock says 1: a build started then is still running.
  auto running = active.Begin(1);
  auto listed = manager.List();
  REQUIRE(listed->size() == 1);
  CHECK((*listed)[0].in_use);
  BuildCachePruneOptions all;
  all.all = true;
  CHECK(manager.Prune(all)->deleted.empty());
  CHECK(f.store->Get((*listed)[0].image_id).ok());
  running.reset();
  CHECK_FALSE((*manager.List())[0].in_use);
  CHECK(manager.Prune(all)->deleted.size() == 1);
}

TEST_CASE("an entry a running build looked up is in use before it is marked used", "[build]") {
  Fixture f;
  ActiveBuilds active;
  BuildCacheManager manager(f.store.get(), f.cache.get(), &active);
  std::string dockerfile = "FROM base\nCOPY f.txt /r/\n";
  f.Build(dockerfile, Context(dockerfile));
  auto listed = manager.List();
  REQUIRE(listed->size() == 1);
  // Started after the entry was last used: only the lookup holds it.
  auto running = active.Begin(1000);
  CHECK_FALSE((*manager.List())[0].in_use);
  running->Use((*listed)[0].key);
  CHECK((*manager.List())[0].in_use);
  BuildCachePruneOptions all;
  all.all = true;
  CHECK(manager.Prune(all)->deleted.empty());
  running.reset();
  CHECK(manager.Prune(all)->deleted.size() == 1);
}

TEST_CASE("a cached rebuild marks its entries used once, when it ends", "[build]") {
  Fixture f;
  std::string dockerfile = "FROM base\nENV A=1\nCOPY f.txt /r/\n";
  f.Build(dockerfile, Context(dockerfile));
  auto before = f.cache->List();
  REQUIRE(before->size() == 2);
  for (const auto& entry : *before) CHECK(entry.usage_count == 1);
  std::string again = f.Build(dockerfile, Context(dockerfile));
  CHECK(again.find("Using cache") != std::string::npos);
  auto after = f.cache->List();
  REQUIRE(after->size() == 2);
  for (const auto& entry : *after) CHECK(entry.usage_count == 2);
}

TEST_CASE("a pruned image that a container uses stays", "[build]") {
  Fixture f;
  BuildCacheManager manager(f.store.get(), f.cache.get());
  std::string dockerfile = "FROM base\nCOPY f.txt /u/\n";
  f.Build(dockerfile, Context(dockerfile));
  auto listed = manager.List();
  REQUIRE(listed->size() == 1);
  BuildCachePruneOptions options;
  options.images_in_use = {(*listed)[0].image_id};
  auto pruned = manager.Prune(options);
  REQUIRE(pruned.ok());
  CHECK(pruned->deleted.size() == 1);
  CHECK(pruned->reclaimed == 0);
  CHECK(f.store->Get((*listed)[0].image_id).ok());
}

TEST_CASE("a context tar without its end blocks is read (docker build -f outside)", "[build]") {
  Fixture f;
  std::string dockerfile = "FROM base\nCOPY f.txt /\n";
  std::string tar = TarBuilder().File("f.txt", "hello").File("Dockerfile", dockerfile).Finish();
  // Cut the trailer and the last entry's padding, as the docker CLI sends it.
  size_t end = 512 + 512 + 512 + dockerfile.size();
  std::string out = f.Build(dockerfile, tar.substr(0, end), {"cut:1"});
  CHECK(out.find("Successfully tagged cut:1") != std::string::npos);
}

TEST_CASE("a base image must be of the platform asked for", "[build]") {
  const std::string amd64 = R"({"os":"linux","architecture":"amd64"})";
  CHECK(MatchesPlatform("busybox", amd64, "").ok());
  CHECK(MatchesPlatform("busybox", amd64, "linux/amd64").ok());
  CHECK(
      MatchesPlatform("busybox", R"({"os":"linux","architecture":"x86_64"})", "linux/amd64").ok());
  absl::Status other = MatchesPlatform("busybox", amd64, "linux/arm64");
  CHECK(absl::IsNotFound(other));
  CHECK(other.message() ==
        "image with reference busybox was found but does not match the specified platform: "
        "wanted linux/arm64, actual: linux/amd64");
  const std::string arm = R"({"os":"linux","architecture":"arm","variant":"v6"})";
  CHECK(MatchesPlatform("x", arm, "linux/arm").ok());
  CHECK_FALSE(MatchesPlatform("x", arm, "linux/arm/v7").ok());

  Fixture f;
  BuildParams params;
  params.options.platform = "linux/s390x";
  std::string dockerfile = "FROM base\nRUN true\n";
  StringSource source(Context(dockerfile));
  std::string out;
  REQUIRE(f.service
              ->Build(params, source,
                      [&](const std::string& bytes) {
                        out += bytes;
                        return absl::OkStatus();
                      })
              .ok());
  CHECK(out.find("was found but does not match the specified platform: wanted linux/s390x") !=
        std::string::npos);
  CHECK(f.runner.created == 0);
}

TEST_CASE("a missing Dockerfile is the reply, not a stream", "[build]") {
  Fixture f;
  BuildParams params;
  StringSource source(TarBuilder().File("x", "y").Finish());
  std::string out;
  absl::Status status = f.service->Build(params, source, [&](const std::string& bytes) {
    out += bytes;
    return absl::OkStatus();
  });
  CHECK(status.message() == "Cannot locate specified Dockerfile: Dockerfile");
  CHECK(out.empty());
  CHECK(ListDirectory(f.dir.path() + "/work").value().empty());
}

TEST_CASE("Resolve answers from what Prefetch found; a miss is left for Resolve", "[build]") {
  Fixture f;
  ImageConfigCache configs;
  const std::string base = f.store->Get("base").value().id;
  StoreBaseImages images(f.store.get(), nullptr, &configs);
  images.Prefetch("base", "");
  images.Prefetch("missing", "");
  images.Prefetch("base", "linux/s390x");
  // The build's view of its FROM is the one taken when the Dockerfile
  // arrived: a tag moved since does not change it.
  f.Build("", Context("FROM base\nLABEL other=1\n"), {"labelled:1"});
  const ImageInfo labelled = f.store->Get("labelled:1").value();
  REQUIRE(f.store->Tag(labelled.id, "base", "").ok());
  auto resolved = images.Resolve("base", "", false, {});
  REQUIRE(resolved.ok());
  CHECK(resolved->id == base);
  CHECK(StoreBaseImages(f.store.get(), nullptr, &configs).Resolve("base", "", false, {})->id ==
        labelled.id);
  // --pull and what was not found go the usual way.
  CHECK(images.Resolve("base", "", true, {})->id == labelled.id);
  CHECK(absl::IsNotFound(images.Resolve("missing", "", false, {}).status()));
  CHECK(absl::StrContains(images.Resolve("base", "linux/s390x", false, {}).status().message(),
                          "does not match the specified platform"));
}

TEST_CASE("tagging an image with a name it has writes nothing; other names are written",
          "[build]") {
  Fixture f;
  StoreImageWriter writer(f.store.get(), f.content.get());
  const std::string base = f.store->Get("base").value().id;
  REQUIRE(writer.Tag(base, "app:1").ok());
  REQUIRE(writer.Tag(base, "app:1").ok());
  REQUIRE(writer.Tag(base, "docker.io/library/app:1").ok());
  CHECK(f.store->Get("app:1").value().id == base);
  // A name that is also a prefix of the image's ID is still a new tag.
  const std::string prefix = base.substr(7, 12);
  REQUIRE(writer.Tag(base, prefix).ok());
  CHECK(f.metadata->ResolveTag("docker.io/library/" + prefix + ":latest").value() == base);
  // The name moves to another image.
  f.Build("", Context("FROM base\nLABEL other=1\n"), {"app:1"});
  CHECK(f.store->Get("app:1").value().id != base);
  REQUIRE(writer.Tag(base, "app:1").ok());
  CHECK(f.store->Get("app:1").value().id == base);
}

// Touch waits until released: the build's answer must not.
class HeldTouches : public build::BuildCache {
 public:
  explicit HeldTouches(build::BuildCache* cache) : cache_(cache) {}
  absl::StatusOr<std::optional<std::string>> Lookup(const std::string& key) override {
    return cache_->Lookup(key);
  }
  absl::Status Record(const std::string& key, const std::string& image_id) override {
    return cache_->Record(key, image_id);
  }
  absl::Status Touch(const std::vector<std::string>& keys) override {
    std::unique_lock<std::mutex> lock(mutex_);
    ++waiting_;
    changed_.notify_all();
    changed_.wait(lock, [this] { return released_; });
    return cache_->Touch(keys);
  }
  void WaitForTouch() {
    std::unique_lock<std::mutex> lock(mutex_);
    changed_.wait(lock, [this] { return waiting_ > 0; });
  }
  void Release() {
    std::lock_guard<std::mutex> lock(mutex_);
    released_ = true;
    changed_.notify_all();
  }

 private:
  build::BuildCache* cache_;
  std::mutex mutex_;
  std::condition_variable changed_;
  int waiting_ = 0;
  bool released_ = false;
};

TEST_CASE("a cached build answers before its entries are marked used, and runs until then",
          "[build]") {
  Fixture f;
  std::string dockerfile = "FROM base\nENV A=1\n";
  f.Build(dockerfile, Context(dockerfile));
  HeldTouches held(f.cache.get());
  BuildService service(f.store.get(), f.content.get(), nullptr, nullptr, &f.changes, &f.runner,
                       &held, f.dir.path() + "/work2");
  REQUIRE(service.CleanUp().ok());
  BuildCacheManager manager(f.store.get(), f.cache.get(), service.active());
  StringSource source(Context(dockerfile));
  std::string out;
  REQUIRE(service
              .Build(BuildParams{}, source,
                     [&](const std::string& bytes) {
                       out += bytes;
                       return absl::OkStatus();
                     })
              .ok());
  CHECK(absl::StrContains(out, "Successfully built"));
  held.WaitForTouch();
  // Answered; the entry is still in use and not yet marked.
  CHECK(service.active()->OldestStart() != 0);
  CHECK(service.active()->KeysInUse().size() == 1);
  CHECK(f.cache->List()->front().usage_count == 1);
  held.Release();
  // Listing waits for the marks.
  auto listed = manager.List();
  REQUIRE(listed->size() == 1);
  CHECK((*listed)[0].usage_count == 2);
  CHECK_FALSE((*listed)[0].in_use);
  CHECK(service.active()->OldestStart() == 0);
}

// Counts the lookups that reach the cache.
class CountingCache : public build::BuildCache {
 public:
  explicit CountingCache(build::BuildCache* cache) : cache_(cache) {}
  absl::StatusOr<std::optional<std::string>> Lookup(const std::string& key) override {
    ++lookups;
    return cache_->Lookup(key);
  }
  absl::Status Record(const std::string& key, const std::string& image_id) override {
    return cache_->Record(key, image_id);
  }
  absl::Status Touch(const std::vector<std::string>& keys) override { return cache_->Touch(keys); }
  std::optional<int64_t> Generation() override { return cache_->Generation(); }
  int lookups = 0;

 private:
  build::BuildCache* cache_;
};

struct MemoFixture : Fixture {
  MemoFixture()
      : counting(cache.get()),
        memoizing(store.get(), content.get(), nullptr, nullptr, &changes, &runner, &counting,
                  dir.path() + "/work3") {
    REQUIRE(memoizing.CleanUp().ok());
  }
  // The output (pieces marked "|" where one written ends, "$" for the last)
  // and how many lookups the build made.
  std::pair<std::string, int> Run(const std::string& context, BuildParams params = {}) {
    StringSource source(context);
    std::string out;
    const int lookups = counting.lookups;
    auto into = [&](const char* mark) {
      return [&out, mark](const std::string& bytes) {
        out += bytes + mark;
        return absl::OkStatus();
      };
    };
    REQUIRE(memoizing.Build(params, source, into("|"), into("$")).ok());
    memoizing.active()->WaitForTouches();
    return {out, counting.lookups - lookups};
  }
  CountingCache counting;
  BuildService memoizing;
};

TEST_CASE("a fully cached rebuild is answered again from memory, byte for byte", "[build]") {
  MemoFixture f;
  const std::string dockerfile = "FROM base\nENV A=1\nCOPY f.txt /r/\nRUN true\n";
  f.Run(Context(dockerfile));
  // The first build ran a step: nothing to remember.
  CHECK(f.memoizing.memo()->size() == 0);
  auto [cached, cached_lookups] = f.Run(Context(dockerfile));
  CHECK(cached_lookups == 3);
  CHECK(absl::StrContains(cached, "Using cache"));
  CHECK(f.memoizing.memo()->size() == 1);
  auto [again, again_lookups] = f.Run(Context(dockerfile));
  CHECK(again_lookups == 0);
  CHECK(again == cached);
  CHECK(f.runner.created == 1);
  // Its entries were marked used as a build's are.
  const std::vector<build::CacheEntry> entries = f.cache->List().value();
  for (const auto& entry : entries) CHECK(entry.usage_count == 3);

  SECTION("a context that says its end only at EOF is answered from memory too") {
    // A StringSource says when it is drained; this one does not.
    class Undrained : public ByteSource {
     public:
      explicit Undrained(std::string data) : inner_(std::move(data)) {}
      absl::StatusOr<size_t> Read(char* buffer, size_t n) override {
        return inner_.Read(buffer, n);
      }

     private:
      StringSource inner_;
    };
    Undrained source(Context(dockerfile));
    std::string out;
    auto into = [&](const char* mark) {
      return [&out, mark](const std::string& bytes) {
        out += bytes + mark;
        return absl::OkStatus();
      };
    };
    const int lookups = f.counting.lookups;
    REQUIRE(f.memoizing.Build(BuildParams{}, source, into("|"), into("$")).ok());
    f.memoizing.active()->WaitForTouches();
    CHECK(f.counting.lookups == lookups);
    CHECK(out == cached);
  }
  SECTION("quiet is another request") {
    BuildParams quiet;
    quiet.quiet = true;
    auto [out, lookups] = f.Run(Context(dockerfile), quiet);
    CHECK(lookups == 3);
    CHECK_FALSE(absl::StrContains(out, "Step"));
  }
  SECTION("other context bytes are another build") {
    auto [out, lookups] =
        f.Run(TarBuilder().File("Dockerfile", dockerfile).File("f.txt", "changed").Finish());
    CHECK(lookups == 3);
    CHECK(f.runner.created == 2);
  }
  SECTION("another build argument is another request") {
    BuildParams params;
    params.options.build_args["UNUSED"] = "1";
    CHECK(f.Run(Context(dockerfile), params).second == 3);
  }
  SECTION("--no-cache and --pull are never answered from memory") {
    BuildParams no_cache;
    no_cache.options.no_cache = true;
    auto [out, lookups] = f.Run(Context(dockerfile), no_cache);
    CHECK_FALSE(absl::StrContains(out, "Using cache"));
    CHECK(f.runner.created == 2);
    // That build replaced the entries it made: the next one looks again.
    CHECK(f.Run(Context(dockerfile)).second == 3);
  }
  SECTION("a changed tag makes it look again") {
    REQUIRE(f.store->Tag(f.base, "other", "1").ok());
    auto [out, lookups] = f.Run(Context(dockerfile));
    CHECK(lookups == 3);
    CHECK(out == cached);
    // And then it is remembered again.
    CHECK(f.Run(Context(dockerfile)).second == 0);
  }
  SECTION("a removed image is built again") {
    // The image of the last step: the one that is nobody's parent.
    const std::vector<ImageInfo> images = f.store->List().value();
    std::string last_id;
    for (const ImageInfo& image : images) {
      bool is_parent = false;
      for (const ImageInfo& other : images) is_parent |= other.parent == image.id;
      if (!is_parent && image.id != f.base) last_id = image.id;
    }
    REQUIRE_FALSE(last_id.empty());
    REQUIRE(f.store->Remove(last_id, /*force=*/true, {}, /*prune=*/false).ok());
    auto [out, lookups] = f.Run(Context(dockerfile));
    CHECK(lookups == 3);
    CHECK(f.runner.created == 2);
    CHECK(absl::StrContains(out, "Successfully built"));
    CHECK(f.store->List()->size() == images.size());
  }
  SECTION("a removed cache entry is looked up again") {
    REQUIRE(f.cache->Remove({entries.back().key}).ok());
    CHECK(f.Run(Context(dockerfile)).second == 3);
  }
}

}  // namespace
}  // namespace berth::imaged
