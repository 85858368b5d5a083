#include <sched.h>

#include <catch2/catch.hpp>

#include "apiserver/api.h"
#include "apiserver/handlers/build.h"
#include "tests/apiserver/fakes.h"

namespace berth::apiserver {
namespace {

namespace img = ::berth::image::v1;
namespace rt = ::berth::runtime::v1;
using testing::FakeContainers;
using testing::FakeExchange;
using testing::FakeImages;

// What a build session saw, kept past the session's end.
struct SessionLog {
  std::string uploaded;
  // Messages the upload took, and whether the last one carried the end.
  int messages = 0;
  bool ended_with_data = false;
  bool writes_done = false;
  bool cancelled = false;
  std::vector<std::string> lines;
  absl::Status finish;
  // Called on the first Read (to act while the build "runs").
  std::function<void()> on_read;
  // The calling thread's scheduling policy at each upload write and read.
  std::vector<int> write_policies;
  std::vector<int> read_policies;
};

class FakeSession : public BuildSession {
 public:
  explicit FakeSession(SessionLog* log) : log_(log) {}
  bool Write(const std::string& chunk) override {
    log_->uploaded += chunk;
    ++log_->messages;
    log_->write_policies.push_back(sched_getscheduler(0));
    return true;
  }
  void WritesDone() override { log_->writes_done = true; }
  bool WriteLast(const std::string& chunk) override {
    Write(chunk);
    log_->ended_with_data = true;
    log_->writes_done = true;
    return true;
  }
  bool Read(std::string* lines) override {
    log_->read_policies.push_back(sched_getscheduler(0));
    if (log_->on_read) std::exchange(log_->on_read, nullptr)();
    if (next_ >= log_->lines.size()) return false;
    *lines = log_->lines[next_++];
    return true;
  }
  absl::Status Finish() override { return log_->finish; }
  void Cancel() override { log_->cancelled = true; }

 private:
  SessionLog* log_;
  size_t next_ = 0;
};

class FakeBuilds : public BuildBackend {
 public:
  absl::StatusOr<std::string> CommitContainer(const img::CommitContainerRequest& request) override {
    requests.push_back(request);
    status_seen = containers->containers.begin()->second.state().status();
    if (!fail.ok()) return fail;
    return std::string("sha256:") + std::string(64, 'a');
  }
  absl::StatusOr<std::unique_ptr<BuildSession>> Build(
      const img::BuildParameters& parameters) override {
    last_build = parameters;
    if (session_log != nullptr) return std::unique_ptr<BuildSession>(new FakeSession(session_log));
    return absl::UnavailableError("imaged is unavailable: test");
  }
  absl::StatusOr<std::vector<img::BuildCacheRecord>> ListBuildCache() override {
    return cache_records;
  }
  absl::StatusOr<img::PruneBuildCacheResponse> PruneBuildCache(
      const img::PruneBuildCacheRequest& request) override {
    last_prune = request;
    img::PruneBuildCacheResponse response;
    for (const img::BuildCacheRecord& record : cache_records) {
      response.add_caches_deleted(record.id());
      response.set_space_reclaimed(response.space_reclaimed() + record.size());
    }
    return response;
  }
  std::vector<img::BuildCacheRecord> cache_records;
  img::PruneBuildCacheRequest last_prune;
  img::BuildParameters last_build;
  SessionLog* session_log = nullptr;
  FakeContainers* containers = nullptr;
  std::vector<img::CommitContainerRequest> requests;
  std::string status_seen;
  absl::Status fail;
};

struct Fixture {
  Fixture() : api(&containers, &images, HostInfo{}) {
    builds.containers = &containers;
    api.EnableBuild(&builds, &containers);
  }
  FakeContainers containers;
  FakeImages images;
  FakeBuilds builds;
  Api api;
};

TEST_CASE("mount points of volumes, binds, mounts and tmpfs are excluded", "[build]") {
  Json config = {{"Volumes", {{"/v", Json::object()}}}};
  Json host = {{"Binds", {"/host:/b:ro", "named:/n"}},
               {"Mounts", {{{"Type", "volume"}, {"Target", "/m"}}}},
               {"Tmpfs", {{"/t", ""}}}};
  CHECK(MountPoints(config, host) == std::vector<std::string>{"/b", "/m", "/n", "/t", "/v"});
  CHECK(MountPoints(Json::object(), Json::object()).empty());
}

TEST_CASE("the request's config goes over the container's where set", "[build]") {
  Json container = {{"Cmd", {"sh"}}, {"Env", {"A=1"}}, {"User", "app"}};
  Json merged = CommitConfig(container, {{"Cmd", {"echo"}}, {"Env", nullptr}, {"User", ""}});
  CHECK(merged["Cmd"] == Json({"echo"}));
  CHECK(merged["Env"] == Json({"A=1"}));
  CHECK(merged["User"] == "app");
}

TEST_CASE("POST /commit pauses a running container around the commit", "[build]") {
  Fixture f;
  rt::Container& c = f.containers.Add(std::string(64, 'c'), "web", "running",
                                      R"({"Cmd":["sh"],"Volumes":{"/data":{}}})");
  c.set_image_id("sha256:" + std::string(64, 'b'));
  FakeExchange exchange("POST",
                        "/commit?container=web&repo=app&tag=v1&author=me&comment=hi&"
                        "changes=CMD%20%5B%22x%22%5D&changes=ENV%20A%3D1");
  f.api.Handle(exchange);
  CHECK(exchange.status == 201);
  CHECK(ParseJson(exchange.body).value()["Id"] == "sha256:" + std::string(64, 'a'));
  REQUIRE(f.builds.requests.size() == 1);
  const img::CommitContainerRequest& r = f.builds.requests[0];
  CHECK(r.container_id() == std::string(64, 'c'));
  CHECK(r.image_id() == "sha256:" + std::string(64, 'b'));
  CHECK(r.repository() == "app");
  CHECK(r.tag() == "v1");
  CHECK(r.author() == "me");
  CHECK(r.comment() == "hi");
  CHECK(r.changes_size() == 2);
  CHECK(r.excluded_paths_size() == 1);
  CHECK(f.builds.status_seen == "paused");
  CHECK(c.state().status() == "running");
}

TEST_CASE("POST /commit with pause=0 leaves the container running; errors map", "[build]") {
  Fixture f;
  f.containers.Add(std::string(64, 'c'), "web", "running");
  FakeExchange exchange("POST", "/commit?container=web&pause=0");
  f.api.Handle(exchange);
  CHECK(exchange.status == 201);
  CHECK(f.builds.status_seen == "running");

  f.builds.fail = absl::InvalidArgumentError("RUN is not a valid change command");
  FakeExchange bad("POST", "/commit?container=web");
  f.api.Handle(bad);
  CHECK(bad.status == 400);
  CHECK(f.containers.containers.begin()->second.state().status() == "running");

  FakeExchange missing("POST", "/commit?container=nope");
  f.api.Handle(missing);
  CHECK(missing.status == 404);
}

TEST_CASE("POST /build/prune: all, until, the images containers use, Docker's reply", "[build]") {
  Fixture f;
  rt::Container& c = f.containers.Add(std::string(64, 'c'), "web", "exited", "{}");
  c.set_image_id("sha256:" + std::string(64, 'b'));
  img::BuildCacheRecord record;
  record.set_id("abcdefabcdefabcdefabcdefa");
  record.set_size(42);
  f.builds.cache_records.push_back(record);
  FakeExchange exchange("POST",
                        "/build/prune?all=1&filters=%7B%22until%22%3A%7B%2224h%22%3Atrue%7D%7D");
  f.api.Handle(exchange);
  CHECK(exchange.status == 200);
  Json body = ParseJson(exchange.body).value();
  CHECK(body["CachesDeleted"] == Json::array({"abcdefabcdefabcdefabcdefa"}));
  CHECK(body["SpaceReclaimed"] == 42);
  CHECK(f.builds.last_prune.all());
  CHECK(f.builds.last_prune.until() > 0);
  CHECK(f.builds.last_prune.images_in_use_size() == 1);

  // Nothing deleted is null, as Docker answers.
  f.builds.cache_records.clear();
  FakeExchange none("POST", "/build/prune");
  f.api.Handle(none);
  CHECK(ParseJson(none.body).value()["CachesDeleted"].is_null());
  CHECK_FALSE(f.builds.last_prune.all());
  CHECK(f.builds.last_prune.until() == 0);

  FakeExchange bad("POST", "/build/prune?filters=%7B%22foo%22%3A%7B%22x%22%3Atrue%7D%7D");
  f.api.Handle(bad);
  CHECK(bad.status == 400);
  CHECK(bad.body.find("invalid filter 'foo'") != std::string::npos);
}

TEST_CASE("a build cache record renders as system df's BuildCache entry", "[build]") {
  img::BuildCacheRecord record;
  record.set_id("id1");
  record.set_parent("id0");
  record.set_description("/bin/sh -c echo hi");
  record.set_size(10);
  record.set_created(1700000000);
  record.set_last_used(1700000060);
  record.set_usage_count(3);
  record.set_shared(true);
  Json out = RenderBuildCacheRecord(record);
  CHECK(out["ID"] == "id1");
  CHECK(out["Parents"] == Json::array({"id0"}));
  CHECK(out["Type"] == "regular");
  CHECK(out["Shared"] == true);
  CHECK(out["InUse"] == false);
  CHECK(out["Size"] == 10);
  CHECK(out["CreatedAt"] == "2023-11-14T22:13:20Z");
  CHECK(out["LastUsedAt"] == "2023-11-14T22:14:20Z");
  CHECK(out["UsageCount"] == 3);
  record.clear_parent();
  CHECK(RenderBuildCacheRecord(record)["Parents"].is_null());
}

TEST_CASE("POST /build's query becomes the build parameters", "[build]") {
  Query query = Query::Parse(
      "t=a:1&t=b&buildargs=%7B%22X%22%3A%221%22%2C%22Y%22%3Anull%7D&labels=%7B%22l%22%3A%22v%22%7D"
      "&dockerfile=sub%2FDf&target=t1&nocache=1&q=1&networkmode=none&memory=1024&"
      "extrahosts=h%3A1.2.3.4&cachefrom=%5B%22app%3A1%22%2C%22%22%2C%22base%22%5D");
  auto params = BuildParametersFrom(query);
  REQUIRE(params.ok());
  CHECK(params->tags_size() == 2);
  CHECK(params->build_args().at("X").value() == "1");
  CHECK(params->build_args().at("Y").null());
  CHECK(params->labels().at("l") == "v");
  CHECK(params->dockerfile() == "sub/Df");
  CHECK(params->target() == "t1");
  CHECK(params->no_cache());
  CHECK(params->quiet());
  CHECK_FALSE(params->pull());
  Json host = ParseJson(params->host_config_json()).value();
  CHECK(host["NetworkMode"] == "none");
  CHECK(host["Memory"] == 1024);
  CHECK(host["ExtraHosts"] == Json({"h:1.2.3.4"}));
  REQUIRE(params->cache_from_size() == 2);
  CHECK(params->cache_from(0) == "app:1");
  CHECK(params->cache_from(1) == "base");

  CHECK(absl::IsInvalidArgument(BuildParametersFrom(Query::Parse("version=2")).status()));
  CHECK(absl::IsInvalidArgument(BuildParametersFrom(Query::Parse("buildargs=%5B1%5D")).status()));
  CHECK(absl::IsInvalidArgument(BuildParametersFrom(Query::Parse("memory=lots")).status()));
  CHECK(absl::IsInvalidArgument(BuildParametersFrom(Query::Parse("cachefrom=x")).status()));
  CHECK_FALSE(BuildParametersFrom(Query::Parse("")).value().keep_containers());
  CHECK_FALSE(BuildParametersFrom(Query::Parse("rm=1")).value().keep_containers());
  CHECK(BuildParametersFrom(Query::Parse("rm=0")).value().keep_containers());
  CHECK(BuildParametersFrom(Query::Parse("rm=0&forcerm=1")).value().force_rm());
}

TEST_CASE("POST /build with imaged down is 503 before any body", "[build]") {
  Fixture f;
  FakeExchange exchange("POST", "/build?t=x", "context");
  f.api.Handle(exchange);
  CHECK(exchange.status == 503);
  CHECK(f.builds.last_build.tags_size() == 1);
}

TEST_CASE("POST /build uploads the body and copies imaged's lines back", "[build]") {
  Fixture f;
  SessionLog log;
  log.lines = {"{\"stream\":\"Step 1/1 : FROM x\"}\r\n", "{\"stream\":\"\\n\"}\r\n"};
  f.builds.session_log = &log;
  std::string context(3 << 20, 'c');
  FakeExchange exchange("POST", "/build?t=x", context);
  f.api.Handle(exchange);
  CHECK(exchange.status == 200);
  CHECK(log.uploaded == context);
  CHECK(log.writes_done);
  CHECK(exchange.body == log.lines[0] + log.lines[1]);
  CHECK_FALSE(log.cancelled);

  SessionLog failed;
  failed.finish = absl::UnavailableError("imaged is unavailable: gone");
  f.builds.session_log = &failed;
  FakeExchange broken("POST", "/build", "ctx");
  f.api.Handle(broken);
  // Nothing was streamed yet: the error is the reply, with its status.
  CHECK(broken.status == 503);
  CHECK(broken.body.find("imaged is unavailable: gone") != std::string::npos);

  SessionLog parse;
  parse.finish =
      absl::InvalidArgumentError("Dockerfile parse error line 2: unknown instruction: X");
  f.builds.session_log = &parse;
  FakeExchange bad("POST", "/build", "ctx");
  f.api.Handle(bad);
  CHECK(bad.status == 400);
  CHECK(ParseJson(bad.body).value()["message"] ==
        "Dockerfile parse error line 2: unknown instruction: X");

  // After the first message an error ends the stream instead.
  SessionLog late;
  late.lines = {"{\"stream\":\"Step 1/2 : FROM x\"}\r\n"};
  late.finish = absl::UnavailableError("imaged is unavailable: gone");
  f.builds.session_log = &late;
  FakeExchange midway("POST", "/build", "ctx");
  f.api.Handle(midway);
  CHECK(midway.status == 200);
  CHECK(midway.body.find("imaged is unavailable: gone") != std::string::npos);
}

TEST_CASE("POST /build's last context chunk carries the end of the upload", "[build]") {
  Fixture f;
  SessionLog log;
  f.builds.session_log = &log;
  std::string context((64 << 10) + 100, 'c');
  FakeExchange exchange("POST", "/build", context);
  f.api.Handle(exchange);
  CHECK(log.uploaded == context);
  CHECK(log.messages == 2);
  CHECK(log.ended_with_data);
  // The upload is relayed at batch priority, the reply at the normal one.
  CHECK(log.write_policies == std::vector<int>{SCHED_BATCH, SCHED_BATCH});
  REQUIRE_FALSE(log.read_policies.empty());
  for (int policy : log.read_policies) CHECK(policy == SCHED_OTHER);
  CHECK(sched_getscheduler(0) == SCHED_OTHER);

  // A body that ends on a chunk's end has nothing left to carry it.
  SessionLog even;
  f.builds.session_log = &even;
  FakeExchange whole("POST", "/build", std::string(64 << 10, 'c'));
  f.api.Handle(whole);
  CHECK(even.messages == 1);
  CHECK_FALSE(even.ended_with_data);
  CHECK(even.writes_done);

  SessionLog empty;
  f.builds.session_log = &empty;
  FakeExchange nothing("POST", "/build", "");
  f.api.Handle(nothing);
  CHECK(empty.messages == 0);
  CHECK(empty.writes_done);
}

TEST_CASE("a client gone during a silent step cancels the build", "[build]") {
  Fixture f;
  SessionLog log;
  FakeExchange exchange("POST", "/build", "ctx");
  log.on_read = [&] { exchange.Disconnect(); };
  f.builds.session_log = &log;
  f.api.Handle(exchange);
  CHECK(log.cancelled);
}

}  // namespace
}  // namespace berth::apiserver
