#include "imaged/build/context.h"

#include <algorithm>
#include <catch2/catch.hpp>
#include <cstring>

#include "common/digest.h"
#include "common/fs.h"
#include "imaged/byte_source.h"
#include "tests/imaged/build/tar_builder.h"

namespace berth::imaged::build {
namespace {

using testing::TarBuilder;
using testing::TempDir;

absl::StatusOr<std::unique_ptr<BuildContext>> Load(
    const std::string& tar, const TempDir& dir, int64_t memory_limit = BuildContext::kMemoryLimit) {
  StringSource source(tar);
  return BuildContext::Extract(source, dir.path() + "/context", memory_limit);
}

TEST_CASE("a context extracts with modes kept in the view") {
  TempDir dir;
  std::string tar = TarBuilder()
                        .File("Dockerfile", "FROM scratch\n")
                        .File("./bin/run.sh", "#!/bin/sh\n", 0755)
                        .File("secret", "s", 0000)
                        .Symlink("bin/link", "run.sh")
                        .Hardlink("hard", "secret")
                        .Finish();
  auto context = Load(tar, dir);
  REQUIRE(context.ok());
  auto& c = **context;
  CHECK(c.Lstat("bin/run.sh")->mode == 0755);
  CHECK(c.Lstat("bin")->type == FileType::kDirectory);
  CHECK(c.Lstat("secret")->mode == 0);
  CHECK(c.Lstat("bin/link")->type == FileType::kSymlink);
  CHECK(c.Lstat("bin/link")->link_target == "run.sh");
  CHECK(c.Lstat("hard")->type == FileType::kFile);
  CHECK(*c.List("") == std::vector<std::string>{"Dockerfile", "bin", "hard", "secret"});
  CHECK(*c.List("bin") == std::vector<std::string>{"link", "run.sh"});
  CHECK(*c.ReadDockerfile("") == "FROM scratch\n");
  // Readable although the tar said 0000.
  auto secret = c.Open("secret");
  REQUIRE(secret.ok());
  char byte = 0;
  CHECK(*(*secret)->Read(&byte, 1) == 1);
  CHECK(ResolveInTree(c, "bin/link").value() == "bin/run.sh");
}

std::string ReadAll(ByteSource& source) {
  std::string out;
  char buffer[7];
  while (true) {
    auto n = source.Read(buffer, sizeof(buffer));
    REQUIRE(n.ok());
    if (*n == 0) return out;
    out.append(buffer, *n);
  }
}

void CheckContents(const BuildContext& c) {
  for (int i : {0, 1, 17, 199}) {
    auto file = c.Open("src/f" + std::to_string(i));
    REQUIRE(file.ok());
    CHECK(ReadAll(**file) == std::string(i * 3, static_cast<char>('a' + i % 26)));
  }
  auto again = c.Open("./src/again");
  REQUIRE(again.ok());
  CHECK(ReadAll(**again) == std::string(51, 'r'));
  auto empty = c.Open("empty");
  REQUIRE(empty.ok());
  CHECK(ReadAll(**empty).empty());
  CHECK(*c.ReadDockerfile("") == "FROM scratch\n");
  CHECK_FALSE(c.Open("src").ok());
  CHECK(absl::IsNotFound(c.Open("missing").status()));
}

std::string ManyFiles() {
  TarBuilder builder;
  builder.File("Dockerfile", "FROM scratch\n");
  for (int i = 0; i < 200; ++i) {
    builder.File("src/f" + std::to_string(i), std::string(i * 3, static_cast<char>('a' + i % 26)));
  }
  return builder.File("empty", "").Hardlink("src/again", "src/f17").Finish();
}

TEST_CASE("a small context's contents stay in memory, each read back whole through Open") {
  TempDir dir;
  auto context = Load(ManyFiles(), dir);
  REQUIRE(context.ok());
  // Not a file written for it.
  CHECK(ListDirectory(dir.path())->empty());
  CheckContents(**context);
}

std::string HexOf(const std::string& content) { return Sha256Digest(content).substr(7); }

TEST_CASE("a small context knows its files' digests from the extraction") {
  TempDir dir;
  std::string tar = TarBuilder()
                        .File("Dockerfile", "FROM scratch\n")
                        .File(".dockerignore", "hidden\n")
                        .File("a/f", "content of f")
                        .File("empty", "")
                        .File("hidden", "h")
                        .Hardlink("a/hard", "a/f")
                        .Finish();
  auto context = Load(tar, dir);
  REQUIRE(context.ok());
  auto& c = **context;
  CHECK(c.KnownContentDigest("a/f") == HexOf("content of f"));
  CHECK(c.KnownContentDigest("/a/./f") == HexOf("content of f"));
  CHECK(c.KnownContentDigest("a/hard") == HexOf("content of f"));
  CHECK(c.KnownContentDigest("empty") == HexOf(""));
  CHECK_FALSE(c.KnownContentDigest("hidden").has_value());
  CHECK_FALSE(c.KnownContentDigest("a").has_value());
  CHECK_FALSE(c.KnownContentDigest("missing").has_value());
  // Beyond memory the files are hashed when copied instead.
  TempDir spilled_dir;
  auto spilled = Load(tar, spilled_dir, 0);
  REQUIRE(spilled.ok());
  CHECK_FALSE((*spilled)->KnownContentDigest("a/f").has_value());
}

TEST_CASE("a big context's contents go to one data file, also when it outgrows memory midway") {
  for (int64_t limit : {int64_t{0}, int64_t{4000}}) {
    TempDir dir;
    auto context = Load(ManyFiles(), dir, limit);
    REQUIRE(context.ok());
    // One inode for the whole context, however many files it has.
    CHECK(*ListDirectory(dir.path() + "/context") == std::vector<std::string>{"data"});
    CheckContents(**context);
  }
}

TEST_CASE("gzip contexts and the lowercase dockerfile fallback") {
  TempDir dir;
  auto context = Load(TarBuilder(/*gzip=*/true).File("dockerfile", "FROM x\n").Finish(), dir);
  REQUIRE(context.ok());
  CHECK(*(*context)->ReadDockerfile("Dockerfile") == "FROM x\n");
  CHECK((*context)->ReadDockerfile("other/Dockerfile").status().message() ==
        "Cannot locate specified Dockerfile: other/Dockerfile");
}

TEST_CASE("entries escaping the context are refused") {
  TempDir a, b, c, d, e;
  auto dotdot = Load(TarBuilder().File("../evil", "x").Finish(), a);
  REQUIRE_FALSE(dotdot.ok());
  CHECK(dotdot.status().message() ==
        "invalid build context: entry \"../evil\" points outside the context");
  auto inner = Load(TarBuilder().File("a/../../evil", "x").Finish(), b);
  CHECK_FALSE(inner.ok());
  auto absolute_link = Load(TarBuilder().Symlink("etc", "/etc").Finish(), c);
  REQUIRE_FALSE(absolute_link.ok());
  CHECK(absolute_link.status().message() ==
        "invalid build context: symbolic link \"etc\" points outside the context (/etc)");
  auto climbing = Load(TarBuilder().Symlink("a/b/up", "../../..").Finish(), d);
  CHECK_FALSE(climbing.ok());
  auto fine = Load(TarBuilder().Symlink("a/b/up", "../..").Finish(), e);
  CHECK(fine.ok());
  TempDir f;
  CHECK_FALSE(Load("this is not a tar archive at all, it is a sentence", f).ok());
}

TEST_CASE(".dockerignore hides files but not the Dockerfile") {
  TempDir dir;
  std::string tar =
      TarBuilder()
          .File(".dockerignore", "Dockerfile\n.dockerignore\n*.log\ndocs\n!docs/keep.md\n")
          .File("Dockerfile", "FROM x\n")
          .File("app.log", "l")
          .File("app.c", "c")
          .File("docs/keep.md", "k")
          .File("docs/drop.md", "d")
          .Finish();
  auto context = Load(tar, dir);
  REQUIRE(context.ok());
  auto& c = **context;
  CHECK(*c.List("") == std::vector<std::string>{"app.c", "docs"});
  CHECK(*c.List("docs") == std::vector<std::string>{"keep.md"});
  CHECK(absl::IsNotFound(c.Lstat("app.log").status()));
  CHECK(absl::IsNotFound(c.Open("Dockerfile").status()));
  CHECK(*c.ReadDockerfile("Dockerfile") == "FROM x\n");
}

// Hands out the tar a few bytes at a time, as an upload arrives.
class TrickleSource : public ByteSource {
 public:
  explicit TrickleSource(std::string data) : data_(std::move(data)) {}
  absl::StatusOr<size_t> Read(char* buffer, size_t n) override {
    size_t count = std::min({n, size_t{4096}, data_.size() - offset_});
    std::memcpy(buffer, data_.data() + offset_, count);
    offset_ += count;
    return count;
  }
  size_t offset() const { return offset_; }
  size_t size() const { return data_.size(); }

 private:
  std::string data_;
  size_t offset_ = 0;
};

TEST_CASE("each file is handed over as soon as it is extracted, while the rest arrives") {
  TempDir dir;
  TrickleSource source(TarBuilder()
                           .File("Dockerfile", "FROM busybox\n")
                           .File("big.bin", std::string(256 << 10, 'x'))
                           .File("src/a.txt", "a")
                           .Finish());
  std::vector<std::string> names;
  std::string dockerfile;
  size_t read_when_dockerfile = 0;
  auto context = BuildContext::Extract(source, dir.path() + "/context", BuildContext::kMemoryLimit,
                                       [&](const std::string& name, absl::string_view content) {
                                         names.push_back(name);
                                         if (name == "Dockerfile") {
                                           dockerfile = std::string(content);
                                           read_when_dockerfile = source.offset();
                                         }
                                       });
  REQUIRE(context.ok());
  CHECK(names == std::vector<std::string>{"Dockerfile", "big.bin", "src/a.txt"});
  CHECK(dockerfile == "FROM busybox\n");
  CHECK(read_when_dockerfile < source.size() / 2);

  // Contents that outgrew memory are not handed over.
  TempDir spill_dir;
  StringSource spilled(
      TarBuilder().File("a", std::string(2048, 'a')).File("Dockerfile", "FROM x\n").Finish());
  names.clear();
  REQUIRE(BuildContext::Extract(
              spilled, spill_dir.path() + "/context", 1024,
              [&](const std::string& name, absl::string_view) { names.push_back(name); })
              .ok());
  CHECK(names.empty());
}

}  // namespace
}  // namespace berth::imaged::build
