#include "apiserver/handlers/build.h"

#include <cstring>
#include <memory>
#include <set>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_split.h"
#include "apiserver/filters.h"
#include "apiserver/framing.h"
#include "apiserver/handlers/container_events.h"
#include "apiserver/handlers/images.h"
#include "apiserver/handlers/util.h"
#include "apiserver/timefmt.h"
#include "common/batch_priority.h"
#include "common/status.h"

namespace berth::apiserver {

namespace rt = ::berth::runtime::v1;
namespace img = ::berth::image::v1;

namespace {

constexpr size_t kMaxConfigBody = 1 << 20;
// Forwarded as it comes: imaged extracts a chunk while the client sends the
// next (the CLI writes the tar as it walks the context).
constexpr size_t kChunkSize = 64 << 10;

// Up to kChunkSize bytes of the request body; *ended once the body's end was
// read. Read through a buffer and appended: sizing the chunk up front zeroed
// it for every call.
absl::Status NextChunk(Exchange& exchange, std::string* chunk, bool* ended) {
  chunk->clear();
  std::unique_ptr<char[]> buffer(new char[kChunkSize]);
  while (chunk->size() < kChunkSize) {
    ASSIGN_OR_RETURN(size_t n, exchange.ReadBodySome(buffer.get(), kChunkSize - chunk->size()));
    if (n == 0) {
      *ended = true;
      break;
    }
    chunk->append(buffer.get(), n);
  }
  return absl::OkStatus();
}

absl::StatusOr<Json> JsonParam(const Query& query, const std::string& key) {
  std::string text = query.Get(key);
  if (text.empty()) return Json::object();
  absl::StatusOr<Json> parsed = ParseJson(text);
  if (!parsed.ok() || !(parsed->is_object() || parsed->is_null())) {
    return absl::InvalidArgumentError("invalid " + key + " parameter: not a JSON object");
  }
  return parsed->is_null() ? Json::object() : *parsed;
}

bool IsEmpty(const Json& value) {
  if (value.is_string()) return value.get_ref<const std::string&>().empty();
  return value.is_null() || ((value.is_array() || value.is_object()) && value.empty());
}

Json ParseOrEmpty(const std::string& text) {
  if (text.empty()) return Json::object();
  auto parsed = ParseJson(text);
  return parsed.ok() && parsed->is_object() ? *parsed : Json::object();
}

}  // namespace

void BuildHandlers::Register(Router& router) {
  router.Add("POST", "/commit",
             [this](Exchange& exchange, const std::string&) { return Commit(exchange); });
  router.Add("POST", "/build",
             [this](Exchange& exchange, const std::string&) { return Build(exchange); });
  router.Add("POST", "/build/prune",
             [this](Exchange& exchange, const std::string&) { return Prune(exchange); });
}

absl::StatusOr<img::BuildParameters> BuildParametersFrom(const Query& query) {
  if (query.Get("version") == "2") {
    return absl::InvalidArgumentError(
        "BuildKit is not supported by this engine: use the legacy "
        "builder (DOCKER_BUILDKIT=0)");
  }
  if (!query.Get("remote").empty()) {
    return absl::InvalidArgumentError("remote build contexts are not supported");
  }
  img::BuildParameters params;
  for (const std::string& tag : query.GetAll("t")) {
    if (!tag.empty()) params.add_tags(tag);
  }
  ASSIGN_OR_RETURN(Json args, JsonParam(query, "buildargs"));
  for (const auto& [key, value] : args.items()) {
    img::NullableString& out = (*params.mutable_build_args())[key];
    if (value.is_null()) {
      out.set_null(true);
    } else if (value.is_string()) {
      out.set_value(value.get<std::string>());
    } else {
      return absl::InvalidArgumentError("invalid buildargs parameter: values must be strings");
    }
  }
  ASSIGN_OR_RETURN(Json labels, JsonParam(query, "labels"));
  for (const auto& [key, value] : labels.items()) {
    if (!value.is_string()) {
      return absl::InvalidArgumentError("invalid labels parameter: values must be strings");
    }
    (*params.mutable_labels())[key] = value.get<std::string>();
  }
  params.set_dockerfile(query.Get("dockerfile"));
  params.set_target(query.Get("target"));
  params.set_no_cache(query.GetBool("nocache"));
  params.set_pull(query.GetBool("pull"));
  params.set_quiet(query.GetBool("q"));
  params.set_platform(query.Get("platform"));
  // rm is on unless sent as false (Moby, API >= 1.12).
  params.set_keep_containers(query.Has("rm") && !query.GetBool("rm"));
  params.set_force_rm(query.GetBool("forcerm"));
  if (!query.Get("cachefrom").empty()) {
    absl::StatusOr<Json> images = ParseJson(query.Get("cachefrom"));
    if (!images.ok() || !images->is_array()) {
      return absl::InvalidArgumentError("invalid cachefrom parameter: not a JSON array");
    }
    for (const Json& image : *images) {
      if (image.is_string() && !image.get_ref<const std::string&>().empty()) {
        params.add_cache_from(image.get<std::string>());
      }
    }
  }
  Json host = Json::object();
  if (!query.Get("networkmode").empty()) host["NetworkMode"] = query.Get("networkmode");
  if (!query.Get("extrahosts").empty()) {
    Json hosts = Json::array();
    for (absl::string_view h : absl::StrSplit(query.Get("extrahosts"), ',', absl::SkipEmpty())) {
      hosts.push_back(std::string(h));
    }
    host["ExtraHosts"] = hosts;
  }
  const std::pair<const char*, const char*> numbers[] = {
      {"memory", "Memory"},       {"memswap", "MemorySwap"}, {"cpushares", "CpuShares"},
      {"cpuperiod", "CpuPeriod"}, {"cpuquota", "CpuQuota"},  {"shmsize", "ShmSize"}};
  for (const auto& [param, field] : numbers) {
    std::string text = query.Get(param);
    if (text.empty()) continue;
    int64_t value = 0;
    if (!absl::SimpleAtoi(text, &value)) {
      return absl::InvalidArgumentError(std::string("invalid ") + param + " parameter: " + text);
    }
    if (value != 0) host[field] = value;
  }
  if (!query.Get("cpusetcpus").empty()) host["CpusetCpus"] = query.Get("cpusetcpus");
  params.set_host_config_json(host.dump());
  return params;
}

absl::Status BuildHandlers::Build(Exchange& exchange) {
  ASSIGN_OR_RETURN(img::BuildParameters params, BuildParametersFrom(exchange.request().query));
  ASSIGN_OR_RETURN(std::unique_ptr<BuildSession> session, builds_->Build(params));
  // A RUN step may be silent for long: a client that goes away meanwhile
  // (Ctrl-C) cancels the build without waiting for output to fail. Watched
  // from the start: the watch's thread is then made while the client still
  // uploads, not when the build's answer is due; it ends after the reply.
  BuildSession* live = session.get();
  std::unique_ptr<DisconnectWatch> watch = exchange.WatchDisconnect([live] { live->Cancel(); });
  std::string chunk;
  bool ended = false;
  {
    // The CLI writes the context in pieces of half a kilobyte and this
    // thread wakes for each: at normal priority it preempted the CLI on its
    // CPU every time. As a batch thread it reads when the CLI blocks or the
    // other CPU is free, more at a time, and the CLI's upload ends sooner
    // (0.1-0.5 ms in 4 of 4 interleaved runs of 80 cached builds). The
    // reply goes out at normal priority.
    ScopedBatchPriority batch;
    while (true) {
      absl::Status read = NextChunk(exchange, &chunk, &ended);
      if (!read.ok()) {
        watch.reset();
        session.reset();  // cancels the build
        return read;
      }
      if (ended && !chunk.empty()) {
        session->WriteLast(chunk);
        break;
      }
      if (chunk.empty() || !session->Write(chunk)) {
        session->WritesDone();
        break;
      }
    }
  }
  std::string lines;
  // An error before the first message (the Dockerfile does not parse, ...)
  // is the reply itself: Docker answers it with its HTTP status, not 200.
  if (!session->Read(&lines)) {
    absl::Status status = session->Finish();
    if (!status.ok()) return status;
    exchange.StartChunked(200, kJsonType);
    exchange.EndChunked();
    return absl::OkStatus();
  }
  exchange.StartChunked(200, kJsonType);
  bool client_there = exchange.WriteChunk(lines);
  while (client_there && session->Read(&lines)) {
    if (!exchange.WriteChunk(lines)) client_there = false;
  }
  if (!client_there) {
    watch.reset();
    session.reset();
    exchange.EndChunked();
    return absl::OkStatus();
  }
  absl::Status status = session->Finish();
  if (!status.ok()) exchange.WriteChunk(JsonMessageLine(JsonErrorMessage(status.message())));
  exchange.EndChunked();
  return absl::OkStatus();
}

Json RenderBuildCacheRecord(const img::BuildCacheRecord& record) {
  Json parents = Json::array();
  if (!record.parent().empty()) parents.push_back(record.parent());
  return {
      {"ID", record.id()},
      {"Parents", parents.empty() ? Json(nullptr) : parents},
      {"Type", "regular"},
      {"Description", record.description()},
      {"InUse", record.in_use()},
      {"Shared", record.shared()},
      {"Size", record.size()},
      {"CreatedAt", FormatRfc3339Nano(record.created() * 1000000000)},
      {"LastUsedAt", FormatRfc3339Nano(record.last_used() * 1000000000)},
      {"UsageCount", record.usage_count()},
  };
}

absl::StatusOr<img::PruneBuildCacheRequest> BuildPruneRequestFrom(const Query& query,
                                                                  int64_t now_seconds) {
  ASSIGN_OR_RETURN(Filters filters, Filters::Parse(query.Get("filters")));
  RETURN_IF_ERROR(filters.Validate({"until", "unused-for"}));
  img::PruneBuildCacheRequest request;
  request.set_all(query.GetBool("all"));
  for (const char* key : {"until", "unused-for"}) {
    for (const std::string& value : filters.Get(key)) {
      ASSIGN_OR_RETURN(int64_t until, ParseFilterTime(value, now_seconds));
      request.set_until(until);
    }
  }
  return request;
}

absl::StatusOr<Json> BuildHandlers::DiskUsage() {
  ASSIGN_OR_RETURN(std::vector<img::BuildCacheRecord> records, builds_->ListBuildCache());
  Json out = Json::array();
  for (const img::BuildCacheRecord& record : records) out.push_back(RenderBuildCacheRecord(record));
  return out;
}

absl::Status BuildHandlers::Prune(Exchange& exchange) {
  ASSIGN_OR_RETURN(img::PruneBuildCacheRequest request,
                   BuildPruneRequestFrom(exchange.request().query, NowNanos() / 1000000000));
  ASSIGN_OR_RETURN(std::vector<rt::Container> containers, containers_->ListContainers(true));
  for (const rt::Container& container : containers) {
    request.add_images_in_use(container.image_id());
  }
  ASSIGN_OR_RETURN(img::PruneBuildCacheResponse response, builds_->PruneBuildCache(request));
  Json deleted = Json::array();
  for (const std::string& id : response.caches_deleted()) deleted.push_back(id);
  ReplyJson(exchange, 200,
            {{"CachesDeleted", deleted.empty() ? Json(nullptr) : deleted},
             {"SpaceReclaimed", response.space_reclaimed()}});
  return absl::OkStatus();
}

std::vector<std::string> MountPoints(const Json& config, const Json& host_config) {
  std::set<std::string> points;
  if (config.contains("Volumes") && config["Volumes"].is_object()) {
    for (const auto& [path, _] : config["Volumes"].items()) points.insert(path);
  }
  if (host_config.contains("Binds") && host_config["Binds"].is_array()) {
    for (const Json& bind : host_config["Binds"]) {
      if (!bind.is_string()) continue;
      std::vector<std::string> parts = absl::StrSplit(bind.get<std::string>(), ':');
      if (parts.size() >= 2) points.insert(parts[1]);
    }
  }
  if (host_config.contains("Mounts") && host_config["Mounts"].is_array()) {
    for (const Json& mount : host_config["Mounts"]) {
      if (mount.is_object() && mount.contains("Target") && mount["Target"].is_string()) {
        points.insert(mount["Target"].get<std::string>());
      }
    }
  }
  if (host_config.contains("Tmpfs") && host_config["Tmpfs"].is_object()) {
    for (const auto& [path, _] : host_config["Tmpfs"].items()) points.insert(path);
  }
  return {points.begin(), points.end()};
}

Json CommitConfig(const Json& container_config, const Json& body) {
  Json config = container_config.is_object() ? container_config : Json::object();
  if (!body.is_object()) return config;
  for (const auto& [key, value] : body.items()) {
    if (!IsEmpty(value) && !(value.is_boolean() && !value.get<bool>())) config[key] = value;
  }
  return config;
}

absl::Status BuildHandlers::Commit(Exchange& exchange) {
  const Query& query = exchange.request().query;
  const std::string name = query.Get("container");
  if (name.empty()) return absl::InvalidArgumentError("No such container: ");
  ASSIGN_OR_RETURN(std::string body, exchange.ReadBody(kMaxConfigBody));
  Json body_config = ParseOrEmpty(body);
  ASSIGN_OR_RETURN(rt::Container container, containers_->GetContainer(name));

  img::CommitContainerRequest request;
  request.set_container_id(container.id());
  request.set_image_id(container.image_id());
  Json config = ParseOrEmpty(container.config_json());
  request.set_config_json(CommitConfig(config, body_config).dump());
  for (const std::string& point : MountPoints(config, ParseOrEmpty(container.host_config_json()))) {
    request.add_excluded_paths(point);
  }
  request.set_repository(query.Get("repo"));
  request.set_tag(query.Get("tag"));
  request.set_comment(query.Get("comment"));
  request.set_author(query.Get("author"));
  for (const std::string& change : query.GetAll("changes")) {
    // The CLI sends each --change as its own parameter; older clients joined
    // them with newlines.
    for (absl::string_view line : absl::StrSplit(change, '\n', absl::SkipWhitespace())) {
      request.add_changes(std::string(line));
    }
  }

  const bool pause = !query.Has("pause") || query.GetBool("pause");
  const bool paused_here = pause && container.state().status() == "running";
  if (paused_here) RETURN_IF_ERROR(containers_->PauseContainer(container.id()));
  absl::StatusOr<std::string> id = builds_->CommitContainer(request);
  if (paused_here) {
    absl::Status unpaused = containers_->UnpauseContainer(container.id());
    if (id.ok() && !unpaused.ok()) return unpaused;
  }
  RETURN_IF_ERROR(id.status());
  std::string image_ref;
  if (std::string repo = query.Get("repo"); !repo.empty()) {
    // Moby names it in the familiar form, as `docker images` shows it.
    for (const char* prefix : {"docker.io/library/", "docker.io/"}) {
      if (absl::StartsWith(repo, prefix)) {
        repo.erase(0, strlen(prefix));
        break;
      }
    }
    image_ref = repo + ":" + (query.Get("tag").empty() ? "latest" : query.Get("tag"));
  }
  RecordContainerEvent(
      containers_, container.id(), "commit",
      {{"comment", query.Get("comment")}, {"imageID", *id}, {"imageRef", image_ref}});
  ReplyJson(exchange, 201, {{"Id", *id}});
  return absl::OkStatus();
}

}  // namespace berth::apiserver
