#include "apiserver/handlers/images.h"

#include <algorithm>
#include <atomic>
#include <set>

#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/strip.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "apiserver/errors.h"
#include "apiserver/filters.h"
#include "apiserver/framing.h"
#include "apiserver/handlers/byte_relay.h"
#include "apiserver/handlers/request_body.h"
#include "apiserver/handlers/util.h"
#include "apiserver/render.h"
#include "apiserver/timefmt.h"
#include "common/log.h"
#include "common/status.h"

namespace berth::apiserver {

namespace img = ::berth::image::v1;

namespace {

std::vector<Json> ProgressMessages(const img::Progress& progress) {
  std::vector<Json> messages;
  if (!progress.stream().empty()) messages.push_back({{"stream", progress.stream()}});
  if (!progress.status().empty()) {
    Json message = {{"status", progress.status()}};
    if (!progress.id().empty()) message["id"] = progress.id();
    if (progress.total() > 0 || progress.current() > 0) {
      message["progressDetail"] = {{"current", progress.current()}, {"total", progress.total()}};
    }
    messages.push_back(message);
  }
  if (!progress.aux_id().empty()) messages.push_back({{"aux", {{"ID", progress.aux_id()}}}});
  if (!progress.aux_json().empty()) {
    auto aux = ParseJson(progress.aux_json());
    if (aux.ok()) messages.push_back({{"progressDetail", Json::object()}, {"aux", *aux}});
  }
  return messages;
}

// Streams imaged's progress as Docker's JSON message stream. A failure
// before the first message is still an HTTP error; later ones go in-stream.
absl::Status StreamProgress(Exchange& exchange, ReadStream<img::Progress>& stream) {
  std::atomic<bool> client_gone{false};
  auto watch = exchange.WatchDisconnect([&] {
    client_gone = true;
    stream.Cancel();
  });
  img::Progress progress;
  if (!stream.Read(&progress)) {
    RETURN_IF_ERROR(stream.Finish());
    exchange.StartChunked(200, kJsonType);
    exchange.EndChunked();
    return absl::OkStatus();
  }
  exchange.StartChunked(200, kJsonType);
  do {
    for (const Json& message : ProgressMessages(progress)) {
      if (!exchange.WriteChunk(JsonMessageLine(message))) {
        client_gone = true;
        stream.Cancel();
      }
    }
  } while (!client_gone && stream.Read(&progress));
  absl::Status status = stream.Finish();
  if (client_gone) return absl::OkStatus();
  if (!status.ok()) exchange.WriteChunk(JsonMessageLine(JsonErrorMessage(status.message())));
  exchange.EndChunked();
  return absl::OkStatus();
}

std::string DecodeBase64Url(const std::string& text) {
  std::string out;
  if (absl::WebSafeBase64Unescape(text, &out)) return out;
  if (absl::Base64Unescape(text, &out)) return out;
  return "";
}

}  // namespace

img::RegistryAuth ParseRegistryAuth(const std::string& header) {
  img::RegistryAuth auth;
  if (header.empty()) return auth;
  auto json = ParseJson(DecodeBase64Url(header));
  if (!json.ok() || !json->is_object()) return auth;
  auto text = [&](const char* key) {
    auto it = json->find(key);
    return it != json->end() && it->is_string() ? it->get<std::string>() : std::string();
  };
  auth.set_username(text("username"));
  auth.set_password(text("password"));
  auth.set_identity_token(text("identitytoken"));
  auth.set_registry_token(text("registrytoken"));
  auth.set_server_address(text("serveraddress"));
  // "auth" is base64("user:password"), as config.json keeps it.
  std::string encoded = text("auth");
  if (auth.username().empty() && !encoded.empty()) {
    std::string decoded = DecodeBase64Url(encoded);
    size_t colon = decoded.find(':');
    if (colon != std::string::npos) {
      auth.set_username(decoded.substr(0, colon));
      auth.set_password(decoded.substr(colon + 1));
    }
  }
  return auth;
}

namespace {

// "docker.io/library/busybox" -> "busybox", "docker.io/x/y" -> "x/y".
std::string FamiliarName(const std::string& reference) {
  absl::string_view name = reference;
  if (absl::ConsumePrefix(&name, "docker.io/")) absl::ConsumePrefix(&name, "library/");
  return std::string(name);
}

}  // namespace

void SplitRepoTag(std::string* repo, std::string* tag) {
  if (!tag->empty()) return;
  size_t slash = repo->rfind('/');
  size_t colon = repo->rfind(':');
  if (colon != std::string::npos && (slash == std::string::npos || colon > slash)) {
    *tag = repo->substr(colon + 1);
    repo->resize(colon);
  }
}

absl::StatusOr<int64_t> ParseFilterTime(const std::string& value, int64_t now_seconds) {
  absl::Duration duration;
  // Go's durations ("24h", "1h30m", "90s") are a subset of what absl reads.
  if (!value.empty() && !absl::StrContains(value, ":") && !absl::StrContains(value, "-") &&
      absl::ParseDuration(value, &duration) && value.find_first_of("hms") != std::string::npos) {
    return now_seconds - absl::ToInt64Seconds(duration);
  }
  if (!value.empty() && value.find_first_not_of("0123456789.") == std::string::npos) {
    ASSIGN_OR_RETURN(int64_t nanos, ParseUnixTimestamp(value));
    return nanos / 1000000000;
  }
  absl::Time time;
  std::string error;
  for (const char* format : {absl::RFC3339_full, "%Y-%m-%dT%H:%M:%S", "%Y-%m-%d"}) {
    if (absl::ParseTime(format, value, absl::UTCTimeZone(), &time, &error)) {
      return absl::ToUnixSeconds(time);
    }
  }
  return absl::InvalidArgumentError(
      absl::StrCat("failed to parse value as time or duration: \"", value, "\""));
}

std::vector<img::Image> PruneCandidates(const std::vector<img::Image>& images, bool dangling_only,
                                        int64_t until, const Filters& filters) {
  std::set<std::string> parents;
  for (const img::Image& image : images) {
    if (!image.parent().empty()) parents.insert(image.parent());
  }
  auto label_matches = [](const std::map<std::string, std::string>& labels,
                          const std::string& filter) {
    size_t eq = filter.find('=');
    auto it = labels.find(filter.substr(0, eq));
    if (it == labels.end()) return false;
    return eq == std::string::npos || it->second == filter.substr(eq + 1);
  };
  std::vector<img::Image> out;
  for (const img::Image& image : images) {
    const bool tagged = image.repo_tags_size() > 0;
    if (dangling_only && tagged) continue;
    // Moby takes only heads when dangling, and never an untagged parent.
    if (parents.count(image.id()) &&
        (dangling_only || (!tagged && image.repo_digests_size() == 0))) {
      continue;
    }
    if (until > 0 && image.created() > until) continue;
    std::map<std::string, std::string> labels = ImageLabels(image);
    if (!filters.MatchLabels(labels)) continue;
    if (filters.Has("label!")) {
      bool all = true;
      for (const std::string& filter : filters.Get("label!")) {
        all = all && label_matches(labels, filter);
      }
      if (all) continue;
    }
    out.push_back(image);
  }
  return out;
}

void AddImageUsers(const std::vector<runtime::v1::Container>& containers,
                   img::RemoveImageRequest* request) {
  std::set<std::string> in_use;
  for (const runtime::v1::Container& container : containers) {
    if (container.image_id().empty()) continue;
    in_use.insert(container.image_id());
    img::ImageUser* user = request->add_image_users();
    user->set_image_id(container.image_id());
    user->set_container_id(container.id());
    // Paused and restarting containers hold their image as running ones do.
    const std::string& status = container.state().status();
    user->set_running(status == "running" || status == "paused" || status == "restarting");
  }
  for (const std::string& id : in_use) request->add_images_in_use(id);
}

bool ReferenceMatches(const std::string& pattern, const std::string& repo_tag) {
  if (PathMatch(pattern, repo_tag)) return true;
  std::string name = repo_tag;
  std::string tag;
  SplitRepoTag(&name, &tag);
  return PathMatch(pattern, name);
}

void ImageHandlers::Register(Router& router) {
  auto bind = [this](absl::Status (ImageHandlers::*method)(Exchange&, const std::string&)) {
    return
        [this, method](Exchange& e, const std::string& name) { return (this->*method)(e, name); };
  };
  router.Add("POST", "/images/load", [this](Exchange& e, const std::string&) { return Load(e); });
  router.Add("POST", "/images/create",
             [this](Exchange& e, const std::string&) { return Create(e); });
  router.Add("GET", "/images/json", [this](Exchange& e, const std::string&) { return List(e); });
  router.Add("GET", "/images/{name}/json", bind(&ImageHandlers::Inspect));
  router.Add("GET", "/images/{name}/history", bind(&ImageHandlers::History));
  router.Add("POST", "/images/{name}/tag", bind(&ImageHandlers::Tag));
  router.Add("DELETE", "/images/{name}", bind(&ImageHandlers::Remove));
  router.Add("GET", "/images/get", [this](Exchange& e, const std::string&) {
    return Save(e, e.request().query.GetAll("names"));
  });
  router.Add("GET", "/images/{name}/get",
             [this](Exchange& e, const std::string& name) { return Save(e, {name}); });
  router.Add("POST", "/images/{name}/push", bind(&ImageHandlers::Push));
  router.Add("POST", "/auth", [this](Exchange& e, const std::string&) { return Auth(e); });
  router.Add("GET", "/distribution/{name}/json", bind(&ImageHandlers::InspectDistribution));
  router.Add("POST", "/images/prune", [this](Exchange& e, const std::string&) { return Prune(e); });
}

absl::Status ImageHandlers::Load(Exchange& exchange) {
  ASSIGN_OR_RETURN(std::unique_ptr<LoadSession> session,
                   images_->LoadImages(exchange.request().query.GetBool("quiet")));
  std::string chunk;
  while (true) {
    RETURN_IF_ERROR(NextBodyChunk(exchange, &chunk));
    if (chunk.empty()) break;
    // A failed write means imaged gave up; its reason comes with Finish.
    if (!session->Write(chunk)) break;
  }
  session->WritesDone();
  img::Progress progress;
  if (!session->Read(&progress)) {
    absl::Status status = session->Finish();
    if (!status.ok()) return status;
    exchange.StartChunked(200, kJsonType);
    exchange.EndChunked();
    return absl::OkStatus();
  }
  exchange.StartChunked(200, kJsonType);
  do {
    for (const Json& message : ProgressMessages(progress)) {
      exchange.WriteChunk(JsonMessageLine(message));
    }
  } while (session->Read(&progress));
  absl::Status status = session->Finish();
  if (!status.ok()) exchange.WriteChunk(JsonMessageLine(JsonErrorMessage(status.message())));
  exchange.EndChunked();
  return absl::OkStatus();
}

absl::Status ImageHandlers::Create(Exchange& exchange) {
  const Query& query = exchange.request().query;
  if (query.Has("fromImage") && !query.Get("fromImage").empty()) return Pull(exchange);
  if (query.Has("fromSrc")) return Import(exchange);
  return absl::InvalidArgumentError("either fromImage or fromSrc must be given");
}

absl::Status ImageHandlers::Import(Exchange& exchange) {
  const Query& query = exchange.request().query;
  if (query.Get("fromSrc") != "-") {
    return absl::UnimplementedError(absl::StrCat("importing from a URL (", query.Get("fromSrc"),
                                                 ") is not supported; use a file or -"));
  }
  img::ImportOptions options;
  std::string repo = query.Get("repo"), tag = query.Get("tag");
  SplitRepoTag(&repo, &tag);
  options.set_repository(repo);
  options.set_tag(tag);
  for (const std::string& change : query.GetAll("changes")) {
    if (!change.empty()) options.add_changes(change);
  }
  options.set_message(query.Get("message"));
  options.set_platform(query.Get("platform"));
  ASSIGN_OR_RETURN(std::unique_ptr<ImportSession> session, images_->ImportImage(options));
  std::string chunk;
  while (true) {
    RETURN_IF_ERROR(NextBodyChunk(exchange, &chunk));
    if (chunk.empty() || !session->Write(chunk)) break;
  }
  ASSIGN_OR_RETURN(std::string id, session->Finish());
  exchange.StartChunked(200, kJsonType);
  exchange.WriteChunk(JsonMessageLine({{"status", id}}));
  exchange.EndChunked();
  return absl::OkStatus();
}

absl::Status ImageHandlers::Pull(Exchange& exchange) {
  const Query& query = exchange.request().query;
  std::string repo = query.Get("fromImage"), tag = query.Get("tag");
  SplitRepoTag(&repo, &tag);
  if (tag.empty()) tag = "latest";
  bool digest = absl::StartsWith(tag, "sha256:");
  std::string reference = absl::StrCat(repo, digest ? "@" : ":", tag);
  img::PullImageRequest request;
  request.set_reference(reference);
  request.set_platform(query.Get("platform"));
  *request.mutable_auth() = ParseRegistryAuth(exchange.request().Header("x-registry-auth"));
  std::unique_ptr<ReadStream<img::Progress>> stream = images_->PullImage(request);
  absl::Status status;
  img::Progress first;
  if (stream == nullptr) {
    status = absl::UnimplementedError(absl::StrCat(
        "pulling from a registry is not supported: No such image: ", FamiliarName(reference)));
  } else if (!stream->Read(&first)) {
    status = stream->Finish();
    if (status.ok()) return status;
  }
  if (!status.ok()) {
    // Without a reachable registry an image that is already here is "up to
    // date", which keeps `docker run --pull` usable offline.
    bool unreachable = status.code() == absl::StatusCode::kInternal ||
                       status.code() == absl::StatusCode::kUnknown ||
                       status.code() == absl::StatusCode::kUnimplemented;
    if (!unreachable || !images_->GetImage(reference).ok()) return status;
    exchange.StartChunked(200, kJsonType);
    exchange.WriteChunk(JsonMessageLine(
        {{"status", absl::StrCat("Pulling from ", FamiliarName(repo))}, {"id", tag}}));
    exchange.WriteChunk(JsonMessageLine(
        {{"status", "Status: Image is up to date for " + FamiliarName(reference)}}));
    exchange.EndChunked();
    return absl::OkStatus();
  }
  // The first message was taken to learn whether the pull started at all.
  class Replay : public ReadStream<img::Progress> {
   public:
    Replay(ReadStream<img::Progress>* inner, img::Progress first)
        : inner_(inner), first_(std::move(first)) {}
    bool Read(img::Progress* message) override {
      if (!replayed_) {
        replayed_ = true;
        *message = first_;
        return true;
      }
      return inner_->Read(message);
    }
    absl::Status Finish() override { return inner_->Finish(); }
    void Cancel() override { inner_->Cancel(); }

   private:
    ReadStream<img::Progress>* inner_;
    img::Progress first_;
    bool replayed_ = false;
  };
  Replay replay(stream.get(), std::move(first));
  return StreamProgress(exchange, replay);
}

absl::Status ImageHandlers::Push(Exchange& exchange, const std::string& name) {
  std::string repo = name;
  std::string tag = exchange.request().query.Get("tag");
  SplitRepoTag(&repo, &tag);
  img::PushImageRequest request;
  request.set_reference(tag.empty() ? repo : absl::StrCat(repo, ":", tag));
  *request.mutable_auth() = ParseRegistryAuth(exchange.request().Header("x-registry-auth"));
  std::unique_ptr<ReadStream<img::Progress>> stream = images_->PushImage(request);
  if (stream == nullptr) return absl::UnimplementedError("pushing to a registry is not supported");
  return StreamProgress(exchange, *stream);
}

absl::Status ImageHandlers::InspectDistribution(Exchange& exchange, const std::string& name) {
  img::InspectDistributionRequest request;
  request.set_reference(name);
  *request.mutable_auth() = ParseRegistryAuth(exchange.request().Header("x-registry-auth"));
  ASSIGN_OR_RETURN(img::InspectDistributionResponse response,
                   images_->InspectDistribution(request));
  Json platforms = Json::array();
  for (const img::DistributionPlatform& platform : response.platforms()) {
    Json out = {{"architecture", platform.architecture()}, {"os", platform.os()}};
    if (!platform.variant().empty()) out["variant"] = platform.variant();
    platforms.push_back(out);
  }
  ReplyJson(exchange, 200,
            {{"Descriptor",
              {{"mediaType", response.media_type()},
               {"digest", response.digest()},
               {"size", response.size()}}},
             {"Platforms", platforms}});
  return absl::OkStatus();
}

absl::Status ImageHandlers::Auth(Exchange& exchange) {
  ASSIGN_OR_RETURN(std::string body, exchange.ReadBody(1 << 20));
  auto json = ParseJson(body);
  if (!json.ok() || !json->is_object()) {
    return absl::InvalidArgumentError("invalid auth configuration: not a JSON object");
  }
  img::LoginRequest request;
  *request.mutable_auth() = ParseRegistryAuth(absl::WebSafeBase64Escape(json->dump()));
  absl::StatusOr<img::LoginResponse> response = images_->Login(request);
  if (!response.ok()) {
    // Docker answers a refused login with 401, which the CLI reports as is.
    if (absl::IsUnauthenticated(response.status())) {
      exchange.Reply(401, "application/json", ErrorBody(response.status().message()));
      return absl::OkStatus();
    }
    return response.status();
  }
  ReplyJson(exchange, 200,
            {{"Status", response->status()}, {"IdentityToken", response->identity_token()}});
  return absl::OkStatus();
}

absl::Status ImageHandlers::List(Exchange& exchange) {
  ASSIGN_OR_RETURN(Filters filters, Filters::Parse(exchange.request().query.Get("filters")));
  RETURN_IF_ERROR(filters.Validate({"before", "dangling", "label", "reference", "since", "until"}));
  std::optional<bool> dangling;
  for (const std::string& value : filters.Get("dangling")) {
    if (value == "true" || value == "1") {
      dangling = true;
    } else if (value == "false" || value == "0") {
      dangling = false;
    } else {
      return absl::InvalidArgumentError(absl::StrCat("invalid filter 'dangling=", value, "'"));
    }
  }
  ASSIGN_OR_RETURN(std::vector<img::Image> images, images_->ListImages());
  std::sort(images.begin(), images.end(),
            [](const img::Image& a, const img::Image& b) { return a.created() > b.created(); });
  // An untagged image that is another's parent is an intermediate one (a
  // build step): Docker lists it only with all=1, and never as dangling.
  std::set<std::string> parents;
  for (const img::Image& image : images) {
    if (!image.parent().empty()) parents.insert(image.parent());
  }
  // before= and since= name an image; the list is of those made strictly
  // before or after it (Moby compares creation times).
  auto created_of = [&](const std::string& key) -> absl::StatusOr<int64_t> {
    if (!filters.Has(key)) return 0;
    int64_t bound = 0;
    for (const std::string& name : filters.Get(key)) {
      ASSIGN_OR_RETURN(img::GetImageResponse found, images_->GetImage(name));
      bound = found.image().created();
    }
    return bound;
  };
  ASSIGN_OR_RETURN(int64_t before, created_of("before"));
  ASSIGN_OR_RETURN(int64_t since, created_of("since"));
  int64_t until = 0;
  for (const std::string& value : filters.Get("until")) {
    ASSIGN_OR_RETURN(until, ParseFilterTime(value, absl::ToUnixSeconds(absl::Now())));
  }
  const bool all = exchange.request().query.GetBool("all");
  Json out = Json::array();
  for (const img::Image& image : images) {
    const bool intermediate = image.repo_tags_size() == 0 && parents.count(image.id()) > 0;
    if (intermediate && (!all || dangling)) continue;
    if (filters.Has("before") && image.created() >= before) continue;
    if (filters.Has("since") && image.created() <= since) continue;
    if (until > 0 && image.created() > until) continue;
    if (dangling && (*dangling != (image.repo_tags_size() == 0))) continue;
    if (filters.Has("reference")) {
      bool matched = false;
      for (const std::string& tag : image.repo_tags()) {
        matched = matched || filters.AnyOrAbsent("reference", [&](const std::string& pattern) {
          return ReferenceMatches(pattern, tag);
        });
      }
      if (!matched) continue;
    }
    if (!filters.MatchLabels(ImageLabels(image))) continue;
    out.push_back(RenderImageSummary(image, exchange.request().api_version));
  }
  ReplyJson(exchange, 200, out);
  return absl::OkStatus();
}

absl::Status ImageHandlers::Inspect(Exchange& exchange, const std::string& name) {
  ASSIGN_OR_RETURN(img::GetImageResponse image, images_->GetImage(name));
  ReplyJson(exchange, 200, RenderImageInspect(image.image(), exchange.request().api_version));
  return absl::OkStatus();
}

absl::Status ImageHandlers::History(Exchange& exchange, const std::string& name) {
  ASSIGN_OR_RETURN(img::GetImageResponse image, images_->GetImage(name));
  ReplyJson(exchange, 200, RenderImageHistory(image.image()));
  return absl::OkStatus();
}

absl::Status ImageHandlers::Tag(Exchange& exchange, const std::string& name) {
  img::TagImageRequest request;
  request.set_source(name);
  std::string repo = exchange.request().query.Get("repo");
  std::string tag = exchange.request().query.Get("tag");
  if (repo.empty()) {
    return absl::InvalidArgumentError("repository name must have at least one component");
  }
  SplitRepoTag(&repo, &tag);
  request.set_repository(repo);
  request.set_tag(tag);
  RETURN_IF_ERROR(images_->TagImage(request));
  exchange.Reply(201, "", "");
  return absl::OkStatus();
}

absl::Status ImageHandlers::Remove(Exchange& exchange, const std::string& name) {
  img::RemoveImageRequest request;
  request.set_reference(name);
  request.set_force(exchange.request().query.GetBool("force"));
  request.set_no_prune(exchange.request().query.GetBool("noprune"));
  ASSIGN_OR_RETURN(std::vector<runtime::v1::Container> containers,
                   containers_->ListContainers(true));
  AddImageUsers(containers, &request);
  ASSIGN_OR_RETURN(img::RemoveImageResponse response, images_->RemoveImage(request));
  Json out = Json::array();
  for (const img::ImageDeleteItem& item : response.items()) {
    if (!item.untagged().empty()) out.push_back({{"Untagged", item.untagged()}});
    if (!item.deleted().empty()) out.push_back({{"Deleted", item.deleted()}});
  }
  ReplyJson(exchange, 200, out);
  return absl::OkStatus();
}

absl::Status ImageHandlers::Prune(Exchange& exchange) {
  ASSIGN_OR_RETURN(Filters filters, Filters::Parse(exchange.request().query.Get("filters")));
  RETURN_IF_ERROR(filters.Validate({"dangling", "label", "label!", "until"}));
  bool dangling_only = true;
  for (const std::string& value : filters.Get("dangling")) {
    if (value == "true" || value == "1") {
      dangling_only = true;
    } else if (value == "false" || value == "0") {
      dangling_only = false;
    } else {
      return absl::InvalidArgumentError(absl::StrCat("invalid filter 'dangling=", value, "'"));
    }
  }
  int64_t until = 0;
  for (const std::string& value : filters.Get("until")) {
    ASSIGN_OR_RETURN(until, ParseFilterTime(value, absl::ToUnixSeconds(absl::Now())));
  }
  ASSIGN_OR_RETURN(std::vector<img::Image> images, images_->ListImages());
  std::map<std::string, int64_t> layer_sizes;
  for (const img::Image& image : images) {
    for (int i = 0; i < image.chain_ids_size() && i < image.layer_sizes_size(); ++i) {
      layer_sizes[image.chain_ids(i)] = image.layer_sizes(i);
    }
  }
  ASSIGN_OR_RETURN(std::vector<runtime::v1::Container> containers,
                   containers_->ListContainers(true));
  Json deleted = Json::array();
  int64_t reclaimed = 0;
  auto remove = [&](const std::string& reference) {
    img::RemoveImageRequest request;
    request.set_reference(reference);
    AddImageUsers(containers, &request);
    absl::StatusOr<img::RemoveImageResponse> response = images_->RemoveImage(request);
    // As Moby: an image that is in use, has gained a child or is gone is
    // skipped, not an error of the prune.
    if (!response.ok()) {
      spdlog::debug("prune skips {}: {}", reference, response.status().ToString());
      return;
    }
    for (const img::ImageDeleteItem& item : response->items()) {
      if (!item.untagged().empty()) deleted.push_back({{"Untagged", item.untagged()}});
      if (!item.deleted().empty()) {
        deleted.push_back({{"Deleted", item.deleted()}});
        auto size = layer_sizes.find(item.deleted());
        if (size != layer_sizes.end()) reclaimed += size->second;
      }
    }
  };
  for (const img::Image& image : PruneCandidates(images, dangling_only, until, filters)) {
    if (image.repo_tags_size() == 0 && image.repo_digests_size() == 0) {
      remove(image.id());
      continue;
    }
    // Each reference in turn: the last one removed deletes the image.
    for (const std::string& tag : image.repo_tags()) remove(tag);
    for (const std::string& digest : image.repo_digests()) remove(digest);
  }
  ReplyJson(exchange, 200,
            {{"ImagesDeleted", deleted.empty() ? Json(nullptr) : deleted},
             {"SpaceReclaimed", reclaimed}});
  return absl::OkStatus();
}

absl::Status ImageHandlers::Save(Exchange& exchange, const std::vector<std::string>& names) {
  if (names.empty()) return absl::InvalidArgumentError("no image names given");
  ByteRelay<types::v1::Chunk> relay(exchange, images_->SaveImages(names));
  // imaged resolves every name before it sends a byte, so an unknown image
  // is still an HTTP error here.
  return relay.RelayAll("application/x-tar", "docker save of " + absl::StrJoin(names, " "));
}

}  // namespace berth::apiserver
