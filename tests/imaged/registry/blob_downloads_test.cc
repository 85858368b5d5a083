// Resumable blob downloads against an in-memory blob server that can honour
// or ignore Range, drop connections, fail with 5xx and corrupt or truncate.
#include "imaged/registry/blob_downloads.h"

#include <stdlib.h>
#include <sys/stat.h>
#include <sys/time.h>

#include <catch2/catch.hpp>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "common/digest.h"
#include "common/fs.h"

namespace berth::imaged::registry {
namespace {

class TempDir {
 public:
  TempDir() {
    char pattern[] = "/tmp/bdlXXXXXX";
    path_ = mkdtemp(pattern);
  }
  ~TempDir() { RemoveAll(path_).IgnoreError(); }
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

class BlobServer : public HttpTransport {
 public:
  std::string data;
  bool honour_range = true;
  // The next responses stop after this many body bytes (a dropped connection).
  int drops = 0;
  int64_t drop_after = 0;
  // The next responses are 503.
  int failures = 0;
  bool corrupt = false;
  // Every response ends early (with a Content-Length that says so).
  bool truncate = false;
  std::vector<std::string> ranges;
  int64_t bytes_sent = 0;

  absl::StatusOr<HttpResponse> Do(const HttpRequest&, const BodySink*) override {
    return absl::UnimplementedError("blobs are streamed");
  }
  absl::StatusOr<HttpResponse> Stream(const HttpRequest& request, const BodySink& sink,
                                      const HeadersHook& on_headers) override {
    std::string range;
    for (const auto& [name, value] : request.headers) {
      if (name == "Range") range = value;
    }
    ranges.push_back(range);
    HttpResponse response;
    if (failures > 0) {
      --failures;
      response.status = 503;
      return response;
    }
    std::string body = data;
    if (corrupt) body[body.size() / 2] ^= 1;
    response.status = 200;
    int64_t first = 0;
    if (honour_range && absl::StartsWith(range, "bytes=")) {
      REQUIRE(absl::SimpleAtoi(range.substr(6, range.size() - 7), &first));
      response.status = 206;
      response.headers.emplace(
          "content-range", absl::StrCat("bytes ", first, "-", body.size() - 1, "/", body.size()));
      body = body.substr(static_cast<size_t>(first));
    }
    if (truncate) body.resize(body.size() / 2);
    RETURN_IF_ERROR(on_headers(response));
    if (drops > 0) {
      --drops;
      std::string part = body.substr(0, static_cast<size_t>(drop_after));
      bytes_sent += static_cast<int64_t>(part.size());
      RETURN_IF_ERROR(sink(part));
      return absl::UnavailableError("Get \"blob\": connection reset by peer");
    }
    bytes_sent += static_cast<int64_t>(body.size());
    RETURN_IF_ERROR(sink(body));
    return response;
  }
};

std::string Pattern(size_t size) {
  std::string out;
  for (size_t i = 0; out.size() < size; ++i) absl::StrAppend(&out, i, ",");
  out.resize(size);
  return out;
}

struct Setup {
  Setup() : client(&server, Endpoint{"reg.test", "http", ""}, Credentials{}) {
    server.data = Pattern(100000);
    blob.digest = Sha256Digest(server.data);
    blob.size = static_cast<int64_t>(server.data.size());
    downloads = BlobDownloads::Open(dir.path() + "/downloads", 3600).value();
  }
  absl::StatusOr<std::string> Fetch() {
    return downloads->Fetch(client, "repo", blob, RetryPolicy{3, 1}, [&](int64_t bytes) {
      last_bytes = bytes;
      return !cancel;
    });
  }
  void WritePartial(const std::string& content) {
    REQUIRE(WriteFileAtomic(downloads->PartialPath(blob.digest), content).ok());
  }
  size_t Files() { return ListDirectory(downloads->dir()).value().size(); }

  TempDir dir;
  BlobServer server;
  RegistryClient client;
  Descriptor blob;
  std::unique_ptr<BlobDownloads> downloads;
  int64_t last_bytes = 0;
  bool cancel = false;
};

}  // namespace

TEST_CASE("a blob is downloaded, verified and kept under its digest", "[downloads]") {
  Setup s;
  auto path = s.Fetch();
  REQUIRE(path.ok());
  CHECK(*path == s.downloads->VerifiedPath(s.blob.digest));
  CHECK(ReadFile(*path).value() == s.server.data);
  CHECK(s.Files() == 1);
  CHECK(s.server.ranges == std::vector<std::string>{""});
  CHECK(s.last_bytes == s.blob.size);

  // Kept: asked again, nothing is transferred.
  REQUIRE(s.Fetch().ok());
  CHECK(s.server.ranges.size() == 1);
}

TEST_CASE("a dropped connection resumes where it stopped", "[downloads]") {
  Setup s;
  s.server.drops = 2;
  s.server.drop_after = 30000;
  auto path = s.Fetch();
  REQUIRE(path.ok());
  CHECK(ReadFile(*path).value() == s.server.data);
  CHECK(s.server.ranges == std::vector<std::string>{"", "bytes=30000-", "bytes=60000-"});
  CHECK(s.server.bytes_sent == s.blob.size);
}

TEST_CASE("a partial file left by a killed imaged is resumed with a Range request", "[downloads]") {
  Setup s;
  s.WritePartial(s.server.data.substr(0, 12345));
  REQUIRE(s.Fetch().ok());
  CHECK(s.server.ranges == std::vector<std::string>{"bytes=12345-"});
  CHECK(s.server.bytes_sent == s.blob.size - 12345);
  CHECK(s.Files() == 1);

  SECTION("a registry that ignores Range sends it all, and the file starts over") {
    Setup t;
    t.server.honour_range = false;
    t.WritePartial(t.server.data.substr(0, 12345));
    auto path = t.Fetch();
    REQUIRE(path.ok());
    CHECK(ReadFile(*path).value() == t.server.data);
    CHECK(t.server.bytes_sent == t.blob.size);
  }
}

TEST_CASE("kept bytes that are wrong are found by the full hash and fetched again", "[downloads]") {
  Setup s;
  std::string bad = s.server.data.substr(0, 5000);
  bad[10] ^= 1;
  s.WritePartial(bad);
  auto path = s.Fetch();
  REQUIRE(path.ok());
  CHECK(ReadFile(*path).value() == s.server.data);
  CHECK(s.server.ranges == std::vector<std::string>{"bytes=5000-", ""});

  // A partial longer than the blob cannot be its start.
  Setup t;
  t.WritePartial(t.server.data + "extra");
  REQUIRE(t.Fetch().ok());
  CHECK(t.server.ranges == std::vector<std::string>{""});
}

TEST_CASE("a corrupt or truncated blob is an error and nothing is kept", "[downloads]") {
  Setup s;
  s.server.corrupt = true;
  auto path = s.Fetch();
  REQUIRE(absl::IsInvalidArgument(path.status()));
  CHECK(absl::StrContains(path.status().message(),
                          "filesystem layer verification failed for digest " + s.blob.digest));
  CHECK(s.Files() == 0);
  CHECK(s.server.ranges.size() == 1);

  Setup t;
  t.server.truncate = true;
  t.server.honour_range = false;
  path = t.Fetch();
  REQUIRE_FALSE(path.ok());
  CHECK(absl::StrContains(path.status().message(), "was truncated: got 50000 of 100000 bytes"));
  // The first attempt brought bytes; then three that brought nothing new
  // spend the budget, rather than trying forever.
  CHECK(t.server.ranges.size() == 4);

  // Every answer brings half of the rest: progress, but not forever.
  Setup u;
  u.server.truncate = true;
  REQUIRE_FALSE(u.Fetch().ok());
  CHECK(u.server.ranges.size() == 12);
}

TEST_CASE("5xx answers are retried, and give up after the attempts", "[downloads]") {
  Setup s;
  s.server.failures = 2;
  REQUIRE(s.Fetch().ok());
  CHECK(s.server.ranges.size() == 3);

  Setup t;
  t.server.failures = 10;
  auto path = t.Fetch();
  REQUIRE_FALSE(path.ok());
  CHECK(absl::StrContains(path.status().message(), "503 Service Unavailable"));
  CHECK(t.server.ranges.size() == 3);
}

TEST_CASE("a cancelled download keeps its bytes for the next attempt", "[downloads]") {
  Setup s;
  s.server.drops = 1;
  s.server.drop_after = 40000;
  s.cancel = true;
  CHECK(absl::IsCancelled(s.Fetch().status()));
  s.cancel = false;
  s.server.drops = 0;
  REQUIRE(s.Fetch().ok());
  CHECK(s.server.ranges.back() == "bytes=40000-");
}

TEST_CASE("opening removes expired downloads and stray files", "[downloads]") {
  TempDir dir;
  const std::string downloads = dir.path() + "/d";
  REQUIRE(MakeDirs(downloads).ok());
  const std::string fresh(64, 'a');
  const std::string old(64, 'b');
  REQUIRE(WriteFileAtomic(downloads + "/" + fresh + ".partial", "x").ok());
  REQUIRE(WriteFileAtomic(downloads + "/" + old, "x").ok());
  REQUIRE(WriteFileAtomic(downloads + "/stray.tmp", "x").ok());
  struct timeval times[2] = {{1000, 0}, {1000, 0}};
  REQUIRE(utimes((downloads + "/" + old).c_str(), times) == 0);
  REQUIRE(BlobDownloads::Open(downloads, 3600).ok());
  CHECK(ListDirectory(downloads).value() == std::vector<std::string>{fresh + ".partial"});
}

}  // namespace berth::imaged::registry
