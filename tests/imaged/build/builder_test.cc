#include "imaged/build/builder.h"

#include <algorithm>
#include <catch2/catch.hpp>
#include <set>

#include "absl/strings/match.h"
#include "absl/strings/str_split.h"
#include "common/digest.h"
#include "imaged/byte_source.h"
#include "tests/imaged/build/tar_builder.h"

namespace berth::imaged::build {
namespace {

using testing::TarBuilder;
using testing::TempDir;

std::unique_ptr<BuildContext> Extract(const std::string& tar, const std::string& dir) {
  StringSource source(tar);
  auto context = BuildContext::Extract(source, dir);
  REQUIRE(context.ok());
  return std::move(*context);
}

// Images by name and everything the writer stored, by ID.
struct FakeImages : BaseImages {
  absl::StatusOr<ImageRecord> Resolve(const std::string& reference, const std::string&, bool,
                                      const LineFn&) override {
    ++resolves;
    auto named = by_name.find(reference);
    if (named != by_name.end()) return named->second;
    auto stored = by_id.find(reference);
    if (stored != by_id.end()) return ImageRecord{reference, stored->second};
    return absl::NotFoundError("No such image: " + reference);
  }
  absl::Status Confirm(const std::string& id) override {
    confirmed.push_back(id);
    if (gone.count(id)) return absl::NotFoundError("No such image: " + id);
    return absl::OkStatus();
  }
  void Prefetch(const std::string& reference, const std::string& platform) override {
    prefetched.push_back(reference + "@" + platform);
  }
  std::map<std::string, ImageRecord> by_name;
  std::vector<std::string> prefetched;
  std::map<std::string, Json> by_id;
  int resolves = 0;
  std::vector<std::string> confirmed;
  // Resolved, but not there when confirmed.
  std::set<std::string> gone;
};

struct FakeWriter : ImageWriter {
  explicit FakeWriter(FakeImages* images) : images(images) {}
  absl::StatusOr<std::string> Write(const Json& config, const std::string& parent_id) override {
    std::string id = Sha256Digest(config.dump());
    parents[id] = parent_id;
    images->by_id[id] = config;
    ++writes;
    return id;
  }
  absl::Status Tag(const std::string& id, const std::string& reference) override {
    tags[reference] = id;
    return absl::OkStatus();
  }
  FakeImages* images;
  std::map<std::string, std::string> tags;
  int writes = 0;
  std::map<std::string, std::string> parents;
};

struct FakeCache : BuildCache {
  absl::StatusOr<std::optional<std::string>> Lookup(const std::string& key) override {
    auto it = entries.find(key);
    if (it == entries.end()) return std::optional<std::string>();
    return std::optional<std::string>(it->second);
  }
  absl::Status Record(const std::string& key, const std::string& id) override {
    entries[key] = id;
    return absl::OkStatus();
  }
  absl::Status Touch(const std::vector<std::string>& keys) override {
    ++touches;
    for (const std::string& key : keys) ++uses[key];
    return absl::OkStatus();
  }
  std::map<std::string, std::string> entries;
  std::map<std::string, int> uses;
  int touches = 0;
};

struct FakeRunner : StepRunner {
  absl::StatusOr<std::string> Create(const Request& request) override {
    std::string id = std::string(DigestHex(Sha256Digest(std::to_string(++created))));
    requests[id] = request;
    live.insert(id);
    return id;
  }
  absl::StatusOr<int> Run(const std::string& id, const LineFn& output) override {
    const Json& cmd = requests[id].config["Cmd"];
    std::string command = cmd.back().get<std::string>();
    output("ran " + command + "\n");
    if (absl::StrContains(command, "exit ")) {
      return std::stoi(command.substr(command.find("exit ") + 5));
    }
    return 0;
  }
  absl::Status Remove(const std::string& id) override {
    live.erase(id);
    return absl::OkStatus();
  }
  int created = 0;
  std::map<std::string, Request> requests;
  std::set<std::string> live;
};

struct FakeLayers : LayerStore {
  absl::StatusOr<Layer> CommitContainer(const std::string& id) override {
    return Layer{Sha256Digest("run " + id), 10};
  }
  absl::StatusOr<Layer> CommitCopy(const ImageRecord&, const CopyPlan& plan,
                                   const SourceTree& source) override {
    copies.push_back(plan);
    for (const CopyItem& item : plan.items) {
      if (item.kind != CopyItem::Kind::kFile) continue;
      auto in = source.Open(item.source);
      if (!in.ok()) return in.status();
      std::string content;
      char buffer[256];
      while (true) {
        auto n = (*in)->Read(buffer, sizeof(buffer));
        if (!n.ok()) return n.status();
        if (*n == 0) break;
        content.append(buffer, *n);
      }
      written[item.target] = content;
    }
    return Layer{Sha256Digest("copy " + plan.checksum), 5};
  }
  absl::StatusOr<Layer> CommitWorkdir(const ImageRecord&, const std::string& dir,
                                      const std::string&) override {
    workdirs.push_back(dir);
    return Layer{};
  }
  absl::StatusOr<bool> IsDirectory(const ImageRecord&, const std::string& path) override {
    return path == "/usr/bin";
  }
  absl::StatusOr<std::unique_ptr<SourceTree>> OpenImage(const ImageRecord& image) override {
    opened.push_back(image.id);
    dirs.push_back(std::make_unique<TempDir>());
    return std::unique_ptr<SourceTree>(
        Extract(TarBuilder().File("out/app", "binary", 0755).Finish(), dirs.back()->path()));
  }
  std::vector<CopyPlan> copies;
  std::map<std::string, std::string> written;
  std::vector<std::string> workdirs;
  std::vector<std::string> opened;
  std::vector<std::unique_ptr<TempDir>> dirs;
};

ImageRecord Busybox() {
  ImageRecord image;
  image.id = "sha256:" + std::string(64, 'b');
  image.config = Json{{"architecture", "amd64"},
                      {"os", "linux"},
                      {"config", {{"Env", {"PATH=/bin"}}, {"Cmd", {"sh"}}}},
                      {"rootfs", {{"type", "layers"}, {"diff_ids", {"sha256:base"}}}},
                      {"history", {{{"created_by", "/bin/sh -c #(nop) ADD file:x in / "}}}}};
  return image;
}

struct Fixture {
  Fixture() : writer(&images) {
    images.by_name["busybox"] = Busybox();
    deps =
        Builder::Dependencies{&images, &runner, &layers,
                              &writer, &cache,  [] { return std::string("2026-01-02T03:04:05Z"); }};
    context = Extract(TarBuilder()
                          .File("Dockerfile", "FROM busybox\n")
                          .File("app.sh", "echo app", 0755)
                          .File("conf/a.conf", "a")
                          .Finish(),
                      dir.path());
  }
  absl::StatusOr<std::string> Build(const std::string& dockerfile, BuildOptions options = {},
                                    bool quiet = false) {
    stream.clear();
    sink_writes = 0;
    // A clock that stands still: gathered messages go out only when the
    // builder flushes, however slow the machine.
    BuildOutput output(
        [this](const std::string& bytes) {
          stream += bytes;
          ++sink_writes;
          return absl::OkStatus();
        },
        quiet, [] { return absl::UnixEpoch(); });
    return Builder(deps).Build(options, dockerfile, *context, output);
  }
  // The "stream" texts, joined.
  std::string Text() const {
    std::string text;
    for (absl::string_view line : absl::StrSplit(stream, "\r\n", absl::SkipEmpty())) {
      auto message = ParseJson(std::string(line));
      REQUIRE(message.ok());
      if (message->contains("stream")) text += (*message)["stream"].get<std::string>();
      if (message->contains("aux")) text += "[aux " + ShortId((*message)["aux"]["ID"]) + "]\n";
      if (message->contains("error"))
        text += "[error " + (*message)["error"].get<std::string>() + "]\n";
    }
    return text;
  }
  Json Image(const std::string& id) { return images.by_id.at(id); }
  // A fresh output into stream, for a Builder of the test's own.
  BuildOutput& Output(bool quiet = false) {
    stream.clear();
    output = std::make_unique<BuildOutput>(
        [this](const std::string& bytes) {
          stream += bytes;
          return absl::OkStatus();
        },
        quiet);
    return *output;
  }

  FakeImages images;
  FakeWriter writer;
  FakeCache cache;
  FakeRunner runner;
  FakeLayers layers;
  Builder::Dependencies deps;
  TempDir dir;
  std::unique_ptr<BuildContext> context;
  std::string stream;
  int sink_writes = 0;
  std::unique_ptr<BuildOutput> output;
};

TEST_CASE("a metadata-only build: output, config, history, then all from cache") {
  Fixture f;
  BuildOptions options;
  options.tags = {"app:1"};
  options.labels = {{"team", "core"}};
  const std::string dockerfile = "FROM busybox\nENV A=1\nCMD [\"app\"]\n";
  auto id = f.Build(dockerfile, options);
  INFO(f.stream);
  REQUIRE(id.ok());
  std::string b = ShortId(Busybox().id);
  std::vector<std::string> lines = absl::StrSplit(f.Text(), '\n');
  REQUIRE(lines.size() >= 12);
  CHECK(lines[0] == "Step 1/4 : FROM busybox");
  CHECK(lines[1] == " ---> " + b);
  CHECK(lines[2] == "Step 2/4 : ENV A=1");
  CHECK(absl::StartsWith(lines[3], " ---> "));
  CHECK(lines[4] == "Step 3/4 : CMD [\"app\"]");
  CHECK(lines[6] == "Step 4/4 : LABEL team=core");
  CHECK(lines[8] == "[aux " + ShortId(*id) + "]");
  CHECK(lines[9] == "Successfully built " + ShortId(*id));
  CHECK(lines[10] == "Successfully tagged app:1");
  CHECK(f.writer.tags["app:1"] == *id);
  CHECK(absl::StrContains(f.stream, "\"Step 1/4 : FROM busybox\"}\r\n{\"stream\":\"\\n\"}"));

  Json image = f.Image(*id);
  CHECK(image["config"]["Env"] == Json::array({"PATH=/bin", "A=1"}));
  CHECK(image["config"]["Cmd"] == Json::array({"app"}));
  CHECK(image["config"]["Labels"] == Json{{"team", "core"}});
  CHECK(image["rootfs"]["diff_ids"] == Json::array({"sha256:base"}));
  REQUIRE(image["history"].size() == 4);
  CHECK(image["history"][1]["created_by"] == "/bin/sh -c #(nop)  ENV A=1");
  CHECK(image["history"][1]["empty_layer"] == true);
  CHECK(image["history"][2]["created_by"] == "/bin/sh -c #(nop)  CMD [\"app\"]");
  CHECK(image["history"][3]["created_by"] == "/bin/sh -c #(nop)  LABEL team=core");
  CHECK(image["history"][3]["created"] == "2026-01-02T03:04:05Z");
  CHECK(image["architecture"] == "amd64");
  // Each step's image names the one before as its parent, down to busybox.
  std::string step = *id;
  for (int i = 0; i < 3; ++i) step = f.writer.parents[step];
  CHECK(step == Busybox().id);
  int writes = f.writer.writes;

  auto again = f.Build(dockerfile, options);
  REQUIRE(again.ok());
  CHECK(*again == *id);
  CHECK(f.writer.writes == writes);
  std::string text = f.Text();
  size_t hits = 0;
  for (size_t at = text.find("Using cache"); at != std::string::npos;
       at = text.find("Using cache", at + 1)) {
    ++hits;
  }
  CHECK(hits == 3);
  // Cached steps' messages are gathered (each write is a gRPC message and an
  // HTTP chunk): the FROM line (a pull may follow), then the rest at the end.
  CHECK(f.sink_writes == 2);
  // The reused entries are marked used once, at the end of each build.
  CHECK(f.cache.touches == 2);
  REQUIRE(f.cache.uses.size() == 3);
  for (const auto& [key, uses] : f.cache.uses) CHECK(uses == 1);
  // All from the cache: only the result is confirmed.
  CHECK(f.images.confirmed.back() == *id);
  f.images.confirmed.clear();
  // A result that went away meanwhile fails the build instead of being reported.
  f.images.gone.insert(*id);
  auto vanished = f.Build(dockerfile, options);
  CHECK(absl::IsNotFound(vanished.status()));
  CHECK(f.images.confirmed == std::vector<std::string>{*id});
  CHECK_FALSE(absl::StrContains(f.Text(), "Successfully built"));
  f.images.gone.clear();

  // --no-cache rebuilds (same content, so the same IDs).
  options.no_cache = true;
  auto fresh = f.Build(dockerfile, options);
  REQUIRE(fresh.ok());
  CHECK_FALSE(absl::StrContains(f.Text(), "Using cache"));
  CHECK(f.writer.writes == writes + 3);
}

TEST_CASE("RUN steps run in containers that are removed") {
  Fixture f;
  BuildOptions options;
  options.build_args = {{"V", std::string("2")}, {"UNUSED", std::string("x")}};
  options.host_config = Json{{"NetworkMode", "host"}};
  auto id = f.Build("FROM busybox\nARG V=1\nWORKDIR /w\nRUN echo $V\n", options);
  INFO(f.stream);
  REQUIRE(id.ok());
  REQUIRE(f.runner.requests.size() == 1);
  const StepRunner::Request& request = f.runner.requests.begin()->second;
  CHECK(request.config["Cmd"] == Json::array({"/bin/sh", "-c", "echo $V"}));
  CHECK(request.config["Env"] == Json::array({"PATH=/bin", "V=2"}));
  CHECK(request.config["WorkingDir"] == "/w");
  CHECK(request.config["Entrypoint"].is_null());
  CHECK(request.host_config["NetworkMode"] == "host");
  CHECK(request.image.id != Busybox().id);
  CHECK(f.runner.live.empty());
  std::string container = ShortId(f.runner.requests.begin()->first);
  std::string text = f.Text();
  CHECK(absl::StrContains(text, "Step 4/4 : RUN echo $V\n ---> Running in " + container +
                                    "\nran echo $V\nRemoving intermediate container " + container +
                                    "\n ---> "));
  CHECK(absl::StrContains(text, "[Warning] One or more build-args [UNUSED] were not consumed\n"));
  CHECK(f.layers.workdirs == std::vector<std::string>{"/w"});
  Json image = f.Image(*id);
  CHECK(image["history"][3]["created_by"] == "|1 V=2 /bin/sh -c echo $V");
  CHECK_FALSE(image["history"][3].contains("empty_layer"));
  CHECK(image["history"][2]["created_by"] == "/bin/sh -c #(nop) WORKDIR /w");
  CHECK(image["rootfs"]["diff_ids"].size() == 2);
  // The image keeps no build args in its Env.
  CHECK(image["config"]["Env"] == Json::array({"PATH=/bin"}));

  // Another value for the build arg is another RUN.
  options.build_args["V"] = std::string("3");
  REQUIRE(f.Build("FROM busybox\nARG V=1\nWORKDIR /w\nRUN echo $V\n", options).ok());
  CHECK(f.runner.created == 2);
  options.build_args["V"] = std::string("2");
  REQUIRE(f.Build("FROM busybox\nARG V=1\nWORKDIR /w\nRUN echo $V\n", options).ok());
  CHECK(f.runner.created == 2);
}

TEST_CASE("--cache-from: a source image's history stands for the steps, nothing runs") {
  Fixture f;
  const std::string dockerfile = "FROM busybox\nRUN echo one\nENV A=1\nRUN echo two\n";
  auto built = f.Build(dockerfile);
  REQUIRE(built.ok());
  CHECK(f.runner.created == 2);
  // As if the image was saved and loaded elsewhere: no cache entries, only
  // the image (by name) with its history.
  Json source = f.Image(*built);
  f.cache.entries.clear();
  f.images.by_id.clear();
  f.images.by_name["src:1"] = ImageRecord{*built, source};

  BuildOptions options;
  options.cache_from = {"src:1", "missing:1"};
  auto again = f.Build(dockerfile, options);
  INFO(f.stream);
  REQUIRE(again.ok());
  CHECK(f.runner.created == 2);
  std::string text = f.Text();
  size_t hits = 0;
  for (size_t at = text.find("Using cache"); at != std::string::npos;
       at = text.find("Using cache", at + 1)) {
    ++hits;
  }
  CHECK(hits == 3);
  // The same config as the source, so the same image.
  CHECK(*again == *built);
  CHECK(f.Image(*again)["history"] == source["history"]);
  CHECK(f.Image(*again)["rootfs"] == source["rootfs"]);

  // A step that differs from the source runs, and so does every one after it.
  auto changed = f.Build("FROM busybox\nRUN echo one\nENV A=2\nRUN echo two\n", options);
  REQUIRE(changed.ok());
  CHECK(f.runner.created == 3);

  // With --cache-from, a local entry that is no part of a source is not used.
  auto other = f.Build("FROM busybox\nRUN echo three\n");
  REQUIRE(other.ok());
  CHECK(f.runner.created == 4);
  auto ignored = f.Build("FROM busybox\nRUN echo three\n", options);
  REQUIRE(ignored.ok());
  CHECK(f.runner.created == 5);
  // --no-cache ignores the sources.
  options.no_cache = true;
  REQUIRE(f.Build(dockerfile, options).ok());
  CHECK(f.runner.created == 7);
}

TEST_CASE("--rm=false keeps the RUN containers, --force-rm removes them anyway") {
  Fixture f;
  BuildOptions options;
  options.keep_containers = true;
  auto id = f.Build("FROM busybox\nRUN echo kept\n", options);
  REQUIRE(id.ok());
  CHECK(f.runner.live.size() == 1);
  CHECK(f.runner.requests.begin()->second.keep);
  CHECK_FALSE(absl::StrContains(f.Text(), "Removing intermediate container"));
  // A failed step's container stays too.
  REQUIRE_FALSE(f.Build("FROM busybox\nRUN exit 4\n", options).ok());
  CHECK(f.runner.live.size() == 2);

  options.force_rm = true;
  REQUIRE(f.Build("FROM busybox\nRUN echo forced\n", options).ok());
  CHECK(absl::StrContains(f.Text(), "Removing intermediate container"));
  REQUIRE_FALSE(f.Build("FROM busybox\nRUN exit 5\n", options).ok());
  CHECK(f.runner.live.size() == 2);
}

TEST_CASE("a failing RUN reports its code, removes its container, tags nothing") {
  Fixture f;
  BuildOptions options;
  options.tags = {"broken:1"};
  auto id = f.Build("FROM busybox\nRUN exit 3\nCMD x\n", options);
  REQUIRE_FALSE(id.ok());
  CHECK(id.status().message() == "The command '/bin/sh -c exit 3' returned a non-zero code: 3");
  CHECK(absl::StrContains(f.stream,
                          "{\"errorDetail\":{\"code\":3,\"message\":\"The command '/bin/sh -c exit "
                          "3' returned a non-zero code: 3\"},\"error\":"));
  CHECK(f.runner.live.empty());
  CHECK(f.writer.tags.empty());
  CHECK_FALSE(absl::StrContains(f.Text(), "Step 3/3"));
}

TEST_CASE("COPY from the context: history hash and cache follow the files") {
  Fixture f;
  const std::string dockerfile = "FROM busybox\nCOPY app.sh /usr/bin\nCOPY conf /etc/app/\n";
  auto id = f.Build(dockerfile);
  INFO(f.stream);
  REQUIRE(id.ok());
  REQUIRE(f.layers.copies.size() == 2);
  CHECK(f.layers.copies[0].items[0].target == "/usr/bin/app.sh");
  CHECK(f.layers.copies[1].items.back().target == "/etc/app/a.conf");
  Json image = f.Image(*id);
  std::string first = image["history"][1]["created_by"];
  CHECK(absl::StartsWith(first, "/bin/sh -c #(nop) COPY file:"));
  CHECK(absl::EndsWith(first, " in /usr/bin "));
  CHECK(absl::StartsWith(image["history"][2]["created_by"].get<std::string>(),
                         "/bin/sh -c #(nop) COPY dir:"));

  // Same files, new mtimes: cached. Changed content: copied again.
  TempDir other;
  f.context = Extract(
      TarBuilder().File("app.sh", "echo app", 0755, 42).File("conf/a.conf", "a", 0644, 42).Finish(),
      other.path());
  REQUIRE(f.Build(dockerfile).ok());
  CHECK(f.layers.copies.size() == 2);
  TempDir changed;
  f.context =
      Extract(TarBuilder().File("app.sh", "echo app", 0755).File("conf/a.conf", "b").Finish(),
              changed.path());
  REQUIRE(f.Build(dockerfile).ok());
  CHECK(f.layers.copies.size() == 3);

  auto missing = f.Build("FROM busybox\nCOPY nothere /x\n");
  REQUIRE_FALSE(missing.ok());
  CHECK(missing.status().message() ==
        "COPY failed: file not found in build context or excluded by .dockerignore: stat nothere: "
        "file does not exist");
}

TEST_CASE("multi-stage: COPY --from a stage, --target, FROM scratch") {
  Fixture f;
  const std::string dockerfile =
      "ARG BASE=busybox\n"
      "FROM ${BASE} AS build\n"
      "RUN make\n"
      "FROM scratch AS final\n"
      "COPY --from=build /out/app /app\n"
      "ENTRYPOINT [\"/app\"]\n";
  auto id = f.Build(dockerfile);
  INFO(f.stream);
  REQUIRE(id.ok());
  REQUIRE(f.layers.opened.size() == 1);
  CHECK(f.layers.opened[0] != Busybox().id);
  REQUIRE(f.layers.copies.size() == 1);
  CHECK(f.layers.copies[0].preserve_ownership);
  Json image = f.Image(*id);
  CHECK(image["config"]["Env"] == Json::array({std::string("PATH=") + kDefaultPathEnv}));
  CHECK(image["history"].size() == 2);
  CHECK(image["rootfs"]["diff_ids"].size() == 1);
  std::string text = f.Text();
  CHECK(absl::StrContains(text, "Step 1/6 : ARG BASE=busybox\nStep 2/6 : FROM ${BASE} AS build\n"));
  CHECK(absl::StrContains(text, "Step 4/6 : FROM scratch AS final\n ---> \n"));

  BuildOptions target;
  target.target = "build";
  auto build_only = f.Build(dockerfile, target);
  REQUIRE(build_only.ok());
  CHECK(f.Image(*build_only)["history"].size() == 2);
  CHECK(absl::StrContains(f.Text(), "Step 3/3 : RUN make"));

  auto unknown = f.Build("FROM busybox\nCOPY --from=nginx:1 /x /y\n");
  REQUIRE_FALSE(unknown.ok());
  CHECK(unknown.status().message() == "invalid from flag value nginx:1: No such image: nginx:1");
  auto base = f.Build("FROM nope:1\n");
  CHECK(base.status().message() == "No such image: nope:1");
  CHECK(absl::StrContains(f.stream, "\"error\":\"No such image: nope:1\""));
}

TEST_CASE("ONBUILD triggers of the base run after FROM and are not inherited") {
  Fixture f;
  ImageRecord base = Busybox();
  base.id = "sha256:" + std::string(64, 'c');
  base.config["config"]["OnBuild"] = {"ENV FROM_TRIGGER=1", "COPY app.sh /"};
  f.images.by_name["parent"] = base;
  auto id = f.Build("FROM parent\nCMD x\n");
  INFO(f.stream);
  REQUIRE(id.ok());
  CHECK(absl::StrContains(f.Text(), "# Executing 2 build triggers\n"));
  Json image = f.Image(*id);
  CHECK(image["config"]["OnBuild"].is_null());
  CHECK(image["config"]["Env"] == Json::array({"PATH=/bin", "FROM_TRIGGER=1"}));
  CHECK(f.layers.copies.size() == 1);
}

TEST_CASE("FROM names earlier stages only; build args reach FROM") {
  Fixture f;
  ImageRecord ubuntu = Busybox();
  ubuntu.id = "sha256:" + std::string(64, 'd');
  f.images.by_name["ubuntu"] = ubuntu;
  f.images.by_name["busybox:2"] = Busybox();
  auto id = f.Build("FROM ubuntu AS ubuntu\nENV A=1\nFROM ubuntu\nENV B=2\n");
  INFO(f.stream);
  REQUIRE(id.ok());
  // The second FROM builds on the first stage.
  CHECK(f.Image(*id)["config"]["Env"] == Json::array({"PATH=/bin", "A=1", "B=2"}));

  BuildOptions options;
  options.build_args = {{"TAG", std::string("2")}};
  auto tagged = f.Build("ARG TAG=1\nFROM busybox:${TAG}\n", options);
  INFO(f.stream);
  REQUIRE(tagged.ok());
  CHECK(*tagged == Busybox().id);
  CHECK_FALSE(absl::StrContains(f.Text(), "[Warning]"));
  auto blank = f.Build("ARG NONE\nFROM ${NONE}\n");
  CHECK(blank.status().message() == "base name (${NONE}) should not be blank");
}

TEST_CASE("a second HEALTHCHECK prints Docker's note") {
  Fixture f;
  auto id = f.Build("FROM busybox\nHEALTHCHECK CMD true\nHEALTHCHECK --retries=2 CMD false\n");
  REQUIRE(id.ok());
  CHECK(absl::StrContains(f.Text(), "Note: overriding previous HEALTHCHECK: [CMD-SHELL true]\n"));
  CHECK(f.Image(*id)["config"]["Healthcheck"] ==
        Json{{"Test", {"CMD-SHELL", "false"}}, {"Retries", 2}});
}

// The Dockerfile that was built with a reference dockerd's legacy builder
// (DOCKER_BUILDKIT=0, --build-arg V=2 --label team=core); its history, read
// back with `docker history --no-trunc`, is what berth must write. Content
// hashes differ (Docker's are tarsums) and Docker >= 25 adds StartInterval to
// the HEALTHCHECK line.
TEST_CASE("history matches a reference dockerd's legacy build") {
  Fixture f;
  TempDir dir;
  f.context = Extract(
      TarBuilder().File("a.txt", "hi\n").File("b.txt", "big\n").File("conf/x.conf", "c\n").Finish(),
      dir.path());
  const std::string dockerfile =
      "ARG GV=1\n"
      "FROM busybox AS base\n"
      "ARG V=1\n"
      "ENV A=1 B=\"two words\"\n"
      "LABEL k=v \"x y\"=z\n"
      "RUN echo hi $V\n"
      "RUN [\"echo\", \"exec\"]\n"
      "WORKDIR /app\n"
      "WORKDIR sub\n"
      "COPY a.txt .\n"
      "COPY *.txt /multi/\n"
      "COPY conf /etc/conf/\n"
      "EXPOSE 80 53/udp\n"
      "VOLUME /data /logs\n"
      "USER nobody\n"
      "STOPSIGNAL SIGINT\n"
      "HEALTHCHECK --interval=5m --retries=3 CMD wget -q x || exit 1\n"
      "ONBUILD RUN echo onbuild\n"
      "CMD echo \"hi\"\n"
      "ENTRYPOINT [\"top\", \"-b\"]\n"
      "SHELL [\"/bin/sh\", \"-xc\"]\n"
      "MAINTAINER me <me@x>\n"
      "USER 0\n"
      "FROM base\n"
      "CMD [\"x\"]\n";
  BuildOptions options;
  options.build_args = {{"V", std::string("2")}, {"UNUSED", std::string("1")}};
  options.labels = {{"team", "core"}};
  auto id = f.Build(dockerfile, options);
  INFO(f.stream);
  REQUIRE(id.ok());
  const std::vector<std::string> reference = {
      "/bin/sh -c #(nop)  ARG V=1",
      "/bin/sh -c #(nop)  ENV A=1 B=two words",
      "/bin/sh -c #(nop)  LABEL k=v x y=z",
      "|1 V=2 /bin/sh -c echo hi $V",
      "|1 V=2 echo exec",
      "/bin/sh -c #(nop) WORKDIR /app",
      "/bin/sh -c #(nop) WORKDIR /app/sub",
      "/bin/sh -c #(nop) COPY file:* in . ",
      "/bin/sh -c #(nop) COPY multi:* in /multi/ ",
      "/bin/sh -c #(nop) COPY dir:* in /etc/conf/ ",
      "/bin/sh -c #(nop)  EXPOSE 53/udp 80",
      "/bin/sh -c #(nop)  VOLUME [/data /logs]",
      "/bin/sh -c #(nop)  USER nobody",
      "/bin/sh -c #(nop)  STOPSIGNAL SIGINT",
      "/bin/sh -c #(nop)  HEALTHCHECK &{[\"CMD-SHELL\" \"wget -q x || exit 1\"] \"5m0s\" \"0s\" "
      "\"0s\" \"0s\" '\\x03'}",
      "/bin/sh -c #(nop)  ONBUILD RUN echo onbuild",
      "/bin/sh -c #(nop)  CMD [\"/bin/sh\" \"-c\" \"echo \\\"hi\\\"\"]",
      "/bin/sh -c #(nop)  ENTRYPOINT [\"top\" \"-b\"]",
      "/bin/sh -xc #(nop)  SHELL [/bin/sh -xc]",
      "/bin/sh -xc #(nop)  MAINTAINER me <me@x>",
      "/bin/sh -xc #(nop)  USER 0",
      "/bin/sh -xc echo onbuild",
      "/bin/sh -xc #(nop)  CMD [\"x\"]",
      "/bin/sh -xc #(nop)  LABEL team=core",
  };
  Json history = f.Image(*id)["history"];
  REQUIRE(history.size() == reference.size() + 1);
  for (size_t i = 0; i < reference.size(); ++i) {
    std::string actual = history[i + 1]["created_by"];
    const std::string& expected = reference[i];
    size_t star = expected.find('*');
    if (star == std::string::npos) {
      CHECK(actual == expected);
    } else {
      CHECK(absl::StartsWith(actual, expected.substr(0, star)));
      CHECK(absl::EndsWith(actual, expected.substr(star + 1)));
    }
  }
  Json config = f.Image(*id)["config"];
  CHECK(config["ExposedPorts"] == Json{{"53/udp", Json::object()}, {"80/tcp", Json::object()}});
  CHECK(config["Healthcheck"] == Json{{"Test", {"CMD-SHELL", "wget -q x || exit 1"}},
                                      {"Interval", 300000000000LL},
                                      {"Retries", 3}});
  CHECK(config["OnBuild"].is_null());
  CHECK(config["Shell"] == Json::array({"/bin/sh", "-xc"}));
  CHECK(config["WorkingDir"] == "/app/sub");
  CHECK(config["User"] == "0");
  CHECK(config["Labels"] == Json{{"k", "v"}, {"team", "core"}, {"x y", "z"}});
  std::string text = f.Text();
  CHECK(absl::StrContains(text, "Step 24/26 : FROM base\n ---> "));
  CHECK(absl::StrContains(text, "# Executing 1 build trigger\n"));
  CHECK(absl::StrContains(text, "[Warning] One or more build-args [UNUSED] were not consumed\n"));
}

TEST_CASE("a cancelled build stops between steps") {
  Fixture f;
  BuildOptions options;
  int polls = 0;
  options.cancelled = [&] { return ++polls > 1; };
  auto id = f.Build("FROM busybox\nRUN echo one\nRUN echo two\n", options);
  REQUIRE_FALSE(id.ok());
  CHECK(absl::IsCancelled(id.status()));
  CHECK(id.status().message() == "Build cancelled");
  CHECK(f.runner.created == 1);
  CHECK(f.runner.live.empty());
}

struct FakeDownloader : Downloader {
  absl::Status Fetch(const std::string& url, const std::string& path, const LineFn&) override {
    ++fetches;
    auto body = bodies.find(url);
    if (body == bodies.end()) return absl::NotFoundError("404 Not Found");
    return WriteFileAtomic(path, body->second, 0600);
  }
  std::map<std::string, std::string> bodies;
  int fetches = 0;
};

TEST_CASE("ADD fetches URLs every time; their content decides the cache") {
  Fixture f;
  TempDir scratch;
  FakeDownloader downloader;
  downloader.bodies["https://example.com/dl/tool.tgz"] = "v1";
  f.deps.downloader = &downloader;
  f.deps.scratch_dir = scratch.path();
  const std::string dockerfile = "FROM busybox\nADD https://example.com/dl/tool.tgz app.sh /opt/\n";
  auto id = f.Build(dockerfile);
  INFO(f.stream);
  REQUIRE(id.ok());
  REQUIRE(f.layers.copies.size() == 1);
  CHECK(f.layers.written["/opt/tool.tgz"] == "v1");
  CHECK(f.layers.written["/opt/app.sh"] == "echo app");
  const CopyPlan& plan = f.layers.copies[0];
  auto download = std::find_if(plan.items.begin(), plan.items.end(),
                               [](const CopyItem& i) { return i.target == "/opt/tool.tgz"; });
  REQUIRE(download != plan.items.end());
  // A remote archive is not extracted, and keeps Docker's 0600.
  CHECK(download->kind == CopyItem::Kind::kFile);
  CHECK(download->mode == 0600);

  REQUIRE(f.Build(dockerfile).ok());
  CHECK(downloader.fetches == 2);
  CHECK(f.layers.copies.size() == 1);
  downloader.bodies["https://example.com/dl/tool.tgz"] = "v2";
  REQUIRE(f.Build(dockerfile).ok());
  CHECK(f.layers.copies.size() == 2);
  CHECK(f.layers.written["/opt/tool.tgz"] == "v2");

  auto missing = f.Build("FROM busybox\nADD https://example.com/nope /x\n");
  CHECK(missing.status().message() == "ADD failed: https://example.com/nope: 404 Not Found");
  f.deps.downloader = nullptr;
  CHECK(f.Build(dockerfile).status().message() ==
        "ADD failed: downloading https://example.com/dl/tool.tgz is not supported here");
}

TEST_CASE("quiet builds print only the ID") {
  Fixture f;
  auto id = f.Build("FROM busybox\nENV A=1\n", {}, /*quiet=*/true);
  REQUIRE(id.ok());
  CHECK(f.stream == "{\"stream\":\"" + *id + "\\n\"}\r\n");
}

TEST_CASE("parse errors are returned before any output, later errors end the stream") {
  Fixture f;
  auto id = f.Build("FROM busybox\nRUN true\nFOOBAR x\n");
  REQUIRE_FALSE(id.ok());
  CHECK(id.status().message() == "Dockerfile parse error line 3: unknown instruction: FOOBAR");
  CHECK(f.stream.empty());
  CHECK(f.images.resolves == 0);

  // Heredocs are BuildKit's: the legacy builder reads the body as instructions.
  id = f.Build("FROM busybox\nRUN <<EOF\necho hi\nEOF\n");
  REQUIRE_FALSE(id.ok());
  CHECK(id.status().message() == "Dockerfile parse error line 3: unknown instruction: ECHO");
  CHECK(f.stream.empty());

  id = f.Build("FROM nosuch\n");
  REQUIRE_FALSE(id.ok());
  CHECK(absl::StrContains(f.stream, "\"error\":\"No such image: nosuch\""));
}

TEST_CASE("--platform: normalized, refused in containerd's words, FROM --platform too") {
  CHECK(*NormalizePlatform("") == "");
  CHECK(*NormalizePlatform("linux/x86_64") == "linux/amd64");
  CHECK(*NormalizePlatform("linux/aarch64/v8") == "linux/arm64");
  CHECK(*NormalizePlatform("linux/armhf") == "linux/arm/v7");
  CHECK(*NormalizePlatform("Linux/ARM64") == "linux/arm64");
  CHECK(*NormalizePlatform("arm64") == "linux/arm64");
  CHECK(absl::StartsWith(*NormalizePlatform("linux"), "linux/"));
  CHECK(NormalizePlatform("foo").status().message() ==
        "\"foo\": unknown operating system or architecture: invalid argument");
  CHECK(NormalizePlatform("a/b/c/d").status().message() ==
        "\"a/b/c/d\": cannot parse platform specifier: invalid argument");
  CHECK(absl::StrContains(NormalizePlatform("linux/").status().message(),
                          "is an invalid component of \"linux/\""));

  Fixture f;
  BuildOptions options;
  options.platform = "foo";
  auto id = f.Build("FROM busybox\n", options);
  REQUIRE_FALSE(id.ok());
  CHECK(f.stream.empty());
  id = f.Build("FROM --platform=bar busybox\n");
  REQUIRE_FALSE(id.ok());
  CHECK(absl::StrContains(f.stream, "unknown operating system or architecture"));
}

TEST_CASE("Prepare hints each stage's base image once; the build then reads as without it") {
  Fixture f;
  const std::string dockerfile =
      "ARG BASE=alpine\nFROM ${BASE} AS one\nFROM one\nFROM scratch\nFROM busybox\n"
      "FROM --platform=linux/arm64 busybox\nLABEL last=yes\n";
  BuildOptions options;
  options.build_args["BASE"] = std::string("busybox");
  Builder prepared(f.deps);
  prepared.Prepare(options, dockerfile);
  // Stages and scratch are not images; ARGs are expanded as FROM expands them.
  CHECK(f.images.prefetched == std::vector<std::string>{"busybox@", "busybox@linux/arm64"});

  std::string stream;
  BuildOutput output(
      [&](const std::string& bytes) {
        stream += bytes;
        return absl::OkStatus();
      },
      false);
  auto id = prepared.Build(options, dockerfile, *f.context, output);
  REQUIRE(id.ok());
  Fixture unprepared;
  auto fresh = unprepared.Build(dockerfile, options);
  REQUIRE(fresh.ok());
  CHECK(*fresh == *id);
  CHECK(unprepared.stream == stream);
  CHECK(absl::StrContains(stream, "Step 7/7 : LABEL last=yes"));

  // --pull asks the registry first: nothing is looked up ahead.
  f.images.prefetched.clear();
  options.pull = true;
  Builder(f.deps).Prepare(options, dockerfile);
  CHECK(f.images.prefetched.empty());
}

TEST_CASE("a prepared plan serves only the Dockerfile and options it was made for") {
  Fixture f;
  BuildOptions options;
  Builder builder(f.deps);
  builder.Prepare(options, "FROM busybox\nLABEL v=1\n");
  // The context's last entry of that name won: another text.
  REQUIRE(builder.Build(options, "FROM busybox\nLABEL v=2\n", *f.context, f.Output()).ok());
  CHECK(absl::StrContains(f.stream, "LABEL v=2"));
  CHECK_FALSE(absl::StrContains(f.stream, "LABEL v=1"));

  Builder labelled(f.deps);
  labelled.Prepare(options, "FROM busybox\n");
  options.labels["extra"] = "x";
  REQUIRE(labelled.Build(options, "FROM busybox\n", *f.context, f.Output()).ok());
  CHECK(absl::StrContains(f.stream, "LABEL extra=x"));

  // A Dockerfile that does not parse is reported by the build, not by Prepare.
  Builder broken(f.deps);
  broken.Prepare(options, "FROOM busybox\n");
  absl::Status status = broken.Build(options, "FROOM busybox\n", *f.context, f.Output()).status();
  CHECK(absl::StrContains(status.message(), "unknown instruction: FROOM"));
}

}  // namespace
}  // namespace berth::imaged::build
