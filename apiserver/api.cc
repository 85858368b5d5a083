#include "apiserver/api.h"

#include "absl/strings/str_cat.h"
#include "apiserver/errors.h"
#include "apiserver/version.h"
#include "common/daemon_options.h"
#include "common/log.h"

namespace berth::apiserver {

Api::Api(ContainerBackend* containers, ImageBackend* images, HostInfo host)
    : container_backend_(containers),
      system_(containers, images, std::move(host)),
      containers_(containers, images),
      images_(images, containers) {
  system_.Register(router_);
  containers_.Register(router_);
  images_.Register(router_);
}

void Api::EnableVolumes(VolumeBackend* volumes, const std::string& volumes_dir) {
  volumes_ = std::make_unique<VolumeHandlers>(volumes);
  volumes_->Register(router_);
  containers_.set_volumes_dir(volumes_dir);
}

void Api::EnableFiles(ContainerBackend* containers, ImageBackend* images, VolumeBackend* volumes,
                      ContainerFilesBackend* files) {
  files_ = std::make_unique<FileHandlers>(containers, images, volumes, files);
  files_->Register(router_);
  containers_.set_size_filler(
      [this](const runtime::v1::Container& c, Json& out) { files_->AddSize(c, out); });
}

void Api::EnableExec(ExecBackend* execs) {
  exec_ = std::make_unique<ExecHandlers>(execs);
  exec_->set_containers(container_backend_);
  exec_->Register(router_);
  containers_.set_exec_ids_filler(
      [this](const runtime::v1::Container& c, Json& out) { exec_->AddExecIds(c, out); });
}

void Api::EnableNetworks(NetworkBackend* networks) {
  networks_ = std::make_unique<NetworkHandlers>(networks);
  networks_->Register(router_);
}

void Api::EnableStats(StatsBackend* stats) {
  stats_ = std::make_unique<StatsHandlers>(stats);
  stats_->Register(router_);
}

void Api::EnableEvents(EventBackend* events) {
  events_ = std::make_unique<EventHandlers>(events);
  events_->Register(router_);
}

void Api::EnableBuild(BuildBackend* builds, ContainerBackend* containers) {
  build_ = std::make_unique<BuildHandlers>(builds, containers);
  build_->Register(router_);
  if (files_) files_->set_build_cache_usage([this] { return build_->DiskUsage(); });
}

HeaderList Api::DefaultHeaders() {
  return {{"Api-Version", kMaxApiVersion},
          {"Docker-Experimental", "false"},
          {"Ostype", "linux"},
          {"Server", absl::StrCat("berth/", kBerthVersion, " (linux)")}};
}

void Api::Handle(Exchange& exchange) {
  Request& request = exchange.mutable_request();
  absl::Status status;
  absl::StatusOr<VersionedPath> versioned = StripApiVersion(request.path);
  if (!versioned.ok()) {
    status = versioned.status();
  } else {
    request.api_version = versioned->version;
    request.path = versioned->path;
    std::optional<Router::Match> match = router_.Find(request.method, request.path);
    if (!match) {
      status = absl::NotFoundError("page not found");
    } else {
      try {
        status = (*match->handler)(exchange, match->name);
      } catch (const nlohmann::json::exception& e) {
        // Type mismatches in client JSON that parsed fine.
        status = absl::InvalidArgumentError(absl::StrCat("invalid JSON: ", e.what()));
      }
    }
  }
  if (status.ok()) return;
  int http_status = HttpStatusFor(status.code());
  if (http_status >= 500) {
    SPDLOG_WARN("{} {}: {}", request.method, request.path, status.ToString());
  } else {
    SPDLOG_DEBUG("{} {}: {}", request.method, request.path, status.ToString());
  }
  if (exchange.response_started()) return;
  exchange.Reply(http_status, "application/json", ErrorBody(status.message()));
}

}  // namespace berth::apiserver
