#include "imaged/content_store.h"

#include <dirent.h>
#include <fcntl.h>
#include <unistd.h>

#include <catch2/catch.hpp>

#include "common/digest.h"
#include "common/fs.h"
#include "tests/imaged/test_util.h"

namespace berth::imaged {
namespace {

using testing::TempDir;

size_t CountEntries(const std::string& dir) {
  size_t count = 0;
  DIR* d = opendir(dir.c_str());
  if (d == nullptr) return 0;
  while (struct dirent* entry = readdir(d)) {
    if (std::string(entry->d_name) != "." && std::string(entry->d_name) != "..") ++count;
  }
  closedir(d);
  return count;
}

TEST_CASE("a blob is visible only after its digest is verified", "[content]") {
  TempDir dir;
  auto store = FileContentStore::Open(dir.path());
  REQUIRE(store.ok());
  auto writer = (*store)->NewWriter();
  REQUIRE(writer.ok());
  std::string data = "hello layer";
  REQUIRE((*writer)->Write(data.substr(0, 5)).ok());
  REQUIRE((*writer)->Write(data.substr(5)).ok());
  std::string digest = Sha256Digest(data);
  // Written but not committed: not there.
  CHECK_FALSE((*store)->Exists(digest));
  CHECK(absl::IsNotFound((*store)->ReadBlob(digest).status()));
  CHECK(CountEntries(dir.path() + "/ingest") == 1);
  REQUIRE((*writer)->Commit(digest).ok());
  CHECK((*store)->Exists(digest));
  CHECK((*store)->ReadBlob(digest).value() == data);
  CHECK((*writer)->size() == static_cast<int64_t>(data.size()));
  CHECK((*writer)->head() == data);
  CHECK(CountEntries(dir.path() + "/ingest") == 0);
  CHECK(PathExists(dir.path() + "/blobs/sha256/" + std::string(DigestHex(digest))));
  // Committing twice is harmless.
  CHECK((*writer)->Commit(digest).ok());
  auto list = (*store)->List();
  REQUIRE(list.ok());
  CHECK(*list == std::vector<std::string>{digest});
}

TEST_CASE("a digest mismatch is rejected and leaves nothing", "[content]") {
  TempDir dir;
  auto store = FileContentStore::Open(dir.path());
  REQUIRE(store.ok());
  {
    auto writer = (*store)->NewWriter();
    REQUIRE(writer.ok());
    REQUIRE((*writer)->Write("actual").ok());
    absl::Status status = (*writer)->Commit(Sha256Digest("expected"));
    CHECK(absl::IsInvalidArgument(status));
    CHECK(std::string(status.message()).find("digest mismatch") != std::string::npos);
    CHECK_FALSE((*store)->Exists(Sha256Digest("actual")));
    CHECK_FALSE((*store)->Exists(Sha256Digest("expected")));
  }
  // The abandoned writer's staging file is gone with it.
  CHECK(CountEntries(dir.path() + "/ingest") == 0);
  CHECK((*store)->List().value().empty());
}

TEST_CASE("opening the store removes stale ingest files", "[content]") {
  TempDir dir;
  {
    auto store = FileContentStore::Open(dir.path());
    REQUIRE(store.ok());
  }
  REQUIRE(WriteFileAtomic(dir.path() + "/ingest/leftover", "half a layer").ok());
  REQUIRE(MakeDirs(dir.path() + "/ingest/spool-dir").ok());
  auto store = FileContentStore::Open(dir.path());
  REQUIRE(store.ok());
  CHECK(CountEntries(dir.path() + "/ingest") == 0);
}

TEST_CASE("blobs can be read as a stream and deleted", "[content]") {
  TempDir dir;
  auto store = FileContentStore::Open(dir.path());
  REQUIRE(store.ok());
  std::string data(3 << 20, 'x');
  auto digest = (*store)->WriteBlob(data);
  REQUIRE(digest.ok());
  auto source = (*store)->OpenBlob(*digest);
  REQUIRE(source.ok());
  auto streamed = DigestStream(**source);
  REQUIRE(streamed.ok());
  CHECK(streamed->digest == *digest);
  CHECK(streamed->size == static_cast<int64_t>(data.size()));
  REQUIRE((*store)->Delete(*digest).ok());
  CHECK_FALSE((*store)->Exists(*digest));
  CHECK((*store)->Delete(*digest).ok());
  CHECK(absl::IsInvalidArgument((*store)->ReadBlob("sha256:../../etc").status()));
}

}  // namespace
}  // namespace berth::imaged
