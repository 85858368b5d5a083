#include "imaged/build/copy.h"

#include <catch2/catch.hpp>

#include "absl/strings/match.h"
#include "imaged/byte_source.h"
#include "tests/imaged/build/tar_builder.h"

namespace berth::imaged::build {
namespace {

using testing::TarBuilder;
using testing::TempDir;

struct Fixture {
  explicit Fixture(const std::string& tar) {
    StringSource source(tar);
    auto loaded = BuildContext::Extract(source, dir.path());
    INFO(loaded.status().ToString());
    REQUIRE(loaded.ok());
    context = std::move(*loaded);
  }
  absl::StatusOr<CopyPlan> Copy(std::vector<std::string> sources, const std::string& dest,
                                const std::string& workdir = "", bool add = false) {
    CopyRequest request;
    request.instruction = add ? "ADD" : "COPY";
    request.sources = std::move(sources);
    request.dest = dest;
    request.workdir = workdir;
    request.allow_remote_and_extract = add;
    request.chmod = chmod;
    request.chown = chown;
    return ResolveCopy(*context, request,
                       [this](const std::string& p) { return dirs.count(p) > 0; });
  }
  std::vector<std::string> Targets(const CopyPlan& plan) {
    std::vector<std::string> targets;
    for (const CopyItem& item : plan.items) targets.push_back(item.target);
    return targets;
  }
  TempDir dir;
  std::unique_ptr<BuildContext> context;
  std::set<std::string> dirs;
  std::string chmod, chown;
};

std::string Context(const std::string& changed = "hello", int mode = 0644,
                    long mtime = 1700000000) {
  return TarBuilder()
      .File("Dockerfile", "FROM x\n")
      .File("a.txt", changed, mode, mtime)
      .File("b.txt", "b")
      .File("src/main.c", "int main;")
      .File("src/lib/util.c", "util")
      .Symlink("src/lib/link", "util.c")
      .Symlink("latest", "src/main.c")
      .File("pkg.tar.gz", TarBuilder(true).File("inside", "i").Finish())
      .Finish();
}

TEST_CASE("a file lands at dest, or inside it when dest is a directory") {
  Fixture f(Context());
  auto plan = f.Copy({"a.txt"}, "/x");
  REQUIRE(plan.ok());
  CHECK(f.Targets(*plan) == std::vector<std::string>{"/x"});
  CHECK(plan->items[0].mode == 0644);
  CHECK(absl::StartsWith(plan->source_hash, "file:"));
  CHECK(f.Targets(*f.Copy({"/a.txt"}, "/x/")) == std::vector<std::string>{"/x/a.txt"});
  f.dirs.insert("/opt");
  CHECK(f.Targets(*f.Copy({"./a.txt"}, "/opt")) == std::vector<std::string>{"/opt/a.txt"});
  // Relative to WORKDIR.
  CHECK(f.Targets(*f.Copy({"a.txt"}, ".", "/app")) == std::vector<std::string>{"/app"});
  CHECK(f.Targets(*f.Copy({"a.txt"}, "./", "/app")) == std::vector<std::string>{"/app/a.txt"});
  CHECK(f.Targets(*f.Copy({"a.txt"}, "sub/", "/app")) ==
        std::vector<std::string>{"/app/sub/a.txt"});
}

TEST_CASE("a directory's contents are copied, not the directory") {
  Fixture f(Context());
  auto plan = f.Copy({"src"}, "/code");
  REQUIRE(plan.ok());
  CHECK(f.Targets(*plan) == std::vector<std::string>{"/code", "/code/lib", "/code/lib/link",
                                                     "/code/lib/util.c", "/code/main.c"});
  CHECK(plan->items[2].kind == CopyItem::Kind::kSymlink);
  CHECK(plan->items[2].link_target == "util.c");
  CHECK(absl::StartsWith(plan->source_hash, "dir:"));
  // The whole context: "." (minus nothing here, there is no .dockerignore).
  auto all = f.Copy({"."}, "/all/");
  REQUIRE(all.ok());
  CHECK(f.Targets(*all).front() == "/all");
}

TEST_CASE("globs follow filepath.Match") {
  Fixture f(Context());
  auto plan = f.Copy({"*.txt"}, "/d/");
  REQUIRE(plan.ok());
  CHECK(f.Targets(*plan) == std::vector<std::string>{"/d/a.txt", "/d/b.txt"});
  CHECK(absl::StartsWith(plan->source_hash, "multi:"));
  CHECK(f.Targets(*f.Copy({"src/*.c"}, "/d/")) == std::vector<std::string>{"/d/main.c"});
  CHECK(f.Targets(*f.Copy({"?.txt"}, "/d/")).size() == 2);
  CHECK(f.Targets(*f.Copy({"[a]*"}, "/one")) == std::vector<std::string>{"/one"});
  CHECK(f.Copy({"*.none"}, "/d/").status().message() ==
        "COPY failed: no source files were specified");
  CHECK(f.Copy({"*.txt"}, "/d").status().message() ==
        "When using COPY with more than one source file, the destination must be a "
        "directory and end with a /");
  CHECK(f.Copy({"a.txt", "b.txt"}, "/d").status().message() ==
        "When using COPY with more than one source file, the destination must be a "
        "directory and end with a /");
}

TEST_CASE("GlobMatch corner cases") {
  CHECK(GlobMatch("*", "abc"));
  CHECK_FALSE(GlobMatch("*", "a/b"));
  CHECK(GlobMatch("a*/b", "abc/b"));
  CHECK(GlobMatch("*c", "abc"));
  CHECK(GlobMatch("a*b*c", "axxbyyc"));
  CHECK_FALSE(GlobMatch("a*b*c", "axxbyy"));
  CHECK(GlobMatch("[a-c]", "b"));
  CHECK_FALSE(GlobMatch("[^a-c]", "b"));
  CHECK(GlobMatch("\\*", "*"));
  CHECK_FALSE(GlobMatch("\\*", "a"));
  bool ok = true;
  GlobMatch("[", "a", &ok);
  CHECK_FALSE(ok);
}

TEST_CASE("missing and escaping sources") {
  Fixture f(Context());
  CHECK(f.Copy({"missing.txt"}, "/d").status().message() ==
        "COPY failed: file not found in build context or excluded by .dockerignore: stat "
        "missing.txt: file does not exist");
  CHECK(f.Copy({"../x"}, "/d").status().message() ==
        "COPY failed: forbidden path outside the build context: ../x");
  CHECK(f.Copy({"http://example.com/a"}, "/d").status().message() ==
        "COPY failed: source can't be a URL for COPY");
}

TEST_CASE("a symlink named as a source is followed, named after the link") {
  Fixture f(Context());
  auto plan = f.Copy({"latest"}, "/bin/");
  REQUIRE(plan.ok());
  REQUIRE(plan->items.size() == 1);
  CHECK(plan->items[0].kind == CopyItem::Kind::kFile);
  CHECK(plan->items[0].source == "src/main.c");
  CHECK(plan->items[0].target == "/bin/latest");
}

TEST_CASE("ADD extracts local archives and takes URLs") {
  Fixture f(Context());
  auto plan = f.Copy({"pkg.tar.gz"}, "/opt", "", /*add=*/true);
  REQUIRE(plan.ok());
  CHECK(plan->items[0].kind == CopyItem::Kind::kExtractArchive);
  CHECK(plan->items[0].target == "/opt");
  // COPY never extracts.
  CHECK(f.Copy({"pkg.tar.gz"}, "/opt")->items[0].kind == CopyItem::Kind::kFile);
  // Not an archive: copied.
  CHECK(f.Copy({"a.txt"}, "/opt", "", true)->items[0].kind == CopyItem::Kind::kFile);
  auto url = f.Copy({"https://example.com/dl/tool.tgz?x=1"}, "/usr/bin/", "", true);
  REQUIRE(url.ok());
  CHECK(url->items[0].kind == CopyItem::Kind::kDownload);
  CHECK(url->items[0].target == "/usr/bin/tool.tgz");
  CHECK(url->items[0].mode == 0600);
  CHECK(DownloadTarget("https://example.com/", "/d/").status().message() ==
        "cannot determine filename from url: https://example.com/");
  CHECK(*DownloadTarget("https://example.com/", "/d/f") == "/d/f");
}

TEST_CASE("--chmod and --chown") {
  Fixture f(Context());
  f.chmod = "0750";
  f.chown = "1000:1000";
  auto plan = f.Copy({"src"}, "/code");
  REQUIRE(plan.ok());
  CHECK(plan->items[0].mode == 0750);
  CHECK(plan->items[1].mode == 0750);
  CHECK(plan->chown == "1000:1000");
  uint32_t uid = 0, gid = 0;
  CHECK(ParseNumericChown("1000:50", &uid, &gid).ok());
  CHECK(uid == 1000);
  CHECK(gid == 50);
  CHECK(ParseNumericChown("7", &uid, &gid).ok());
  CHECK(gid == 7);
  CHECK(absl::IsNotFound(ParseNumericChown("app:app", &uid, &gid)));
}

TEST_CASE("the checksum follows content, names and modes, not mtimes") {
  auto checksum = [](const std::string& tar, std::vector<std::string> sources) {
    Fixture f(tar);
    auto plan = f.Copy(std::move(sources), "/d/");
    REQUIRE(plan.ok());
    return std::make_pair(plan->checksum, plan->source_hash);
  };
  auto base = checksum(Context(), {"."});
  CHECK(base == checksum(Context("hello", 0644, 1), {"."}));
  CHECK(base.first != checksum(Context("hellO"), {"."}).first);
  CHECK(base.second != checksum(Context("hellO"), {"."}).second);
  CHECK(base.first != checksum(Context("hello", 0600), {"."}).first);
  auto single = checksum(Context(), {"a.txt"});
  CHECK(single == checksum(Context("hello", 0644, 5), {"a.txt"}));
  CHECK(single.first != checksum(Context("bye"), {"a.txt"}).first);
  // Same content, another name: the file hash is the same, the target is not.
  auto renamed = checksum(TarBuilder().File("c.txt", "hello").Finish(), {"c.txt"});
  CHECK(renamed.second == single.second);
  CHECK(renamed.first != single.first);
}

}  // namespace
}  // namespace berth::imaged::build
