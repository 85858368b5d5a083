#include "apiserver/handlers/files.h"

#include <sys/stat.h>

#include <map>
#include <set>

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "apiserver/handlers/byte_relay.h"
#include "apiserver/handlers/container_events.h"
#include "apiserver/handlers/request_body.h"
#include "apiserver/handlers/util.h"
#include "apiserver/handlers/volumes.h"
#include "apiserver/render.h"
#include "apiserver/timefmt.h"
#include "common/log.h"
#include "common/mount_points.h"
#include "common/status.h"

namespace berth::apiserver {

namespace rt = ::berth::runtime::v1;
namespace st = ::berth::storage::v1;

namespace {

constexpr int64_t kNanos = 1000000000;

std::string CouldNotFind(const std::string& path, const std::string& name) {
  return absl::StrCat("Could not find the file ", path, " in container ", name);
}

absl::StatusOr<std::string> PathParam(const Exchange& exchange) {
  std::string path = exchange.request().query.Get("path");
  if (path.empty()) return absl::InvalidArgumentError("path is required");
  return path;
}

bool IsRunning(const rt::Container& container) {
  const std::string& status = container.state().status();
  return container.state().pid() > 0 &&
         (status == "running" || status == "paused" || status == "restarting");
}

// Docker's tarCopyOptions for docker cp -a: the files belong to the
// container's user (Config.User), which stored resolves inside the
// container; empty when it runs as the image's default.
std::string ContainerUser(const rt::Container& container) {
  absl::StatusOr<Json> config = ParseJson(container.config_json());
  if (!config.ok() || !config->is_object()) return "";
  auto it = config->find("User");
  if (it == config->end() || !it->is_string()) return "";
  return it->get<std::string>();
}

}  // namespace

ImageDiskUsage ImageLayerUsage(const std::vector<image::v1::Image>& images) {
  // A chain ID names a layer together with everything beneath it: the same
  // chain ID in two images is the same layer on disk.
  std::map<std::string, int> users;
  std::map<std::string, int64_t> sizes;
  for (const image::v1::Image& image : images) {
    std::set<std::string> seen;
    for (int i = 0; i < image.chain_ids_size(); ++i) {
      const std::string& chain_id = image.chain_ids(i);
      if (!seen.insert(chain_id).second) continue;
      ++users[chain_id];
      if (i < image.layer_sizes_size()) sizes[chain_id] = image.layer_sizes(i);
    }
  }
  ImageDiskUsage usage;
  for (const auto& [chain_id, size] : sizes) usage.layers_size += size;
  for (const image::v1::Image& image : images) {
    int64_t shared = 0;
    std::set<std::string> seen;
    for (int i = 0; i < image.chain_ids_size() && i < image.layer_sizes_size(); ++i) {
      const std::string& chain_id = image.chain_ids(i);
      if (seen.insert(chain_id).second && users[chain_id] > 1) shared += image.layer_sizes(i);
    }
    usage.shared_sizes.push_back(shared);
  }
  return usage;
}

uint32_t GoFileMode(uint32_t st_mode) {
  uint32_t mode = st_mode & 0777;
  switch (st_mode & S_IFMT) {
    case S_IFDIR:
      mode |= 1u << 31;
      break;
    case S_IFLNK:
      mode |= 1u << 27;
      break;
    case S_IFBLK:
      mode |= 1u << 26;
      break;
    case S_IFCHR:
      mode |= (1u << 26) | (1u << 21);
      break;
    case S_IFIFO:
      mode |= 1u << 25;
      break;
    case S_IFSOCK:
      mode |= 1u << 24;
      break;
    default:
      break;
  }
  if (st_mode & S_ISUID) mode |= 1u << 23;
  if (st_mode & S_ISGID) mode |= 1u << 22;
  if (st_mode & S_ISVTX) mode |= 1u << 20;
  return mode;
}

std::string PathStatHeader(const st::PathStat& stat) {
  Json json = {
      {"name", stat.name()},
      {"size", stat.size()},
      {"mode", GoFileMode(stat.mode())},
      {"mtime", FormatRfc3339Nano(stat.mtime_sec() * kNanos + stat.mtime_nsec())},
      {"linkTarget", stat.link_target()},
  };
  // Go's base64.URLEncoding: the web-safe alphabet, with padding.
  std::string encoded = absl::WebSafeBase64Escape(json.dump());
  while (encoded.size() % 4 != 0) encoded += '=';
  return encoded;
}

absl::StatusOr<st::ContainerView> ContainerViewOf(const rt::Container& container) {
  st::ContainerView view;
  view.set_container_id(container.id());
  if (IsRunning(container)) view.set_pid(container.state().pid());
  ASSIGN_OR_RETURN(Json config, ParseJson(container.config_json()));
  ASSIGN_OR_RETURN(Json host, ParseJson(container.host_config_json()));
  if (host.is_object()) {
    auto it = host.find("ReadonlyRootfs");
    if (it != host.end() && it->is_boolean()) view.set_read_only_rootfs(it->get<bool>());
  }
  ASSIGN_OR_RETURN(std::vector<MountPoint> mounts, ParseMountPoints(config, host, container.id()));
  for (const MountPoint& m : mounts) {
    if (m.type != "bind" && m.type != "volume") continue;  // tmpfs: only while running
    st::ContainerMount* out = view.add_mounts();
    if (m.type == "volume") {
      out->set_volume(m.name);
    } else {
      out->set_source(m.source);
    }
    out->set_destination(m.destination);
    out->set_read_only(!m.read_write);
  }
  return view;
}

void FileHandlers::Register(Router& router) {
  auto bind = [this](absl::Status (FileHandlers::*method)(Exchange&, const std::string&)) {
    return
        [this, method](Exchange& e, const std::string& name) { return (this->*method)(e, name); };
  };
  router.Add("HEAD", "/containers/{name}/archive", bind(&FileHandlers::StatPath));
  router.Add("GET", "/containers/{name}/archive", bind(&FileHandlers::GetArchive));
  router.Add("PUT", "/containers/{name}/archive", bind(&FileHandlers::PutArchive));
  router.Add("GET", "/containers/{name}/changes", bind(&FileHandlers::Changes));
  router.Add("GET", "/containers/{name}/export", bind(&FileHandlers::Export));
  router.Add("GET", "/system/df", [this](Exchange& e, const std::string&) { return DiskUsage(e); });
}

absl::Status FileHandlers::StatPath(Exchange& exchange, const std::string& name) {
  ASSIGN_OR_RETURN(std::string path, PathParam(exchange));
  ASSIGN_OR_RETURN(rt::Container container, containers_->GetContainer(name));
  ASSIGN_OR_RETURN(st::ContainerView view, ContainerViewOf(container));
  absl::StatusOr<st::PathStat> stat = files_->StatPath(view, path);
  if (!stat.ok()) return NotFoundAs(stat.status(), CouldNotFind(path, name));
  exchange.SetHeader("X-Docker-Container-Path-Stat", PathStatHeader(*stat));
  exchange.Reply(200, kJsonType, "");
  return absl::OkStatus();
}

absl::Status FileHandlers::GetArchive(Exchange& exchange, const std::string& name) {
  ASSIGN_OR_RETURN(std::string path, PathParam(exchange));
  ASSIGN_OR_RETURN(rt::Container container, containers_->GetContainer(name));
  ASSIGN_OR_RETURN(st::ContainerView view, ContainerViewOf(container));
  ByteRelay<st::ArchiveContainerPathResponse> relay(exchange, files_->ArchivePath(view, path));
  st::ArchiveContainerPathResponse message;
  if (!relay.stream().Read(&message) ||
      message.part_case() != st::ArchiveContainerPathResponse::kStat) {
    absl::Status status = relay.stream().Finish();
    if (status.ok()) status = absl::InternalError("stored sent no stat for the archive");
    return NotFoundAs(status, CouldNotFind(path, name));
  }
  exchange.SetHeader("X-Docker-Container-Path-Stat", PathStatHeader(message.stat()));
  RecordContainerEvent(containers_, container.id(), "archive-path");
  return relay.RelayRest("application/x-tar", absl::StrCat("archive of ", path, " in ", name));
}

absl::Status FileHandlers::PutArchive(Exchange& exchange, const std::string& name) {
  ASSIGN_OR_RETURN(std::string path, PathParam(exchange));
  ASSIGN_OR_RETURN(rt::Container container, containers_->GetContainer(name));
  st::ExtractToContainerHeader header;
  ASSIGN_OR_RETURN(*header.mutable_container(), ContainerViewOf(container));
  header.set_path(path);
  const Query& query = exchange.request().query;
  header.set_no_overwrite_dir_non_dir(query.GetBool("noOverwriteDirNonDir"));
  // Docker keeps the archive's owners (by number: names in the tar are
  // ignored), except with copyUIDGID (cp -a) for a container running as a
  // user, whose files they become.
  std::string owner = query.GetBool("copyUIDGID") ? ContainerUser(container) : "";
  header.set_copy_uid_gid(owner.empty());
  header.set_owner(owner);
  std::unique_ptr<ExtractSession> session = files_->Extract(header);
  std::string buffer;
  bool open = true;
  while (true) {
    RETURN_IF_ERROR(NextBodyChunk(exchange, &buffer));
    if (buffer.empty()) break;
    // Once stored has failed the rest of the body is read and dropped, so
    // that the client gets to read the error.
    if (open) open = session->Write(buffer);
  }
  absl::Status status = session->Finish();
  if (!status.ok()) return NotFoundAs(status, CouldNotFind(path, name));
  RecordContainerEvent(containers_, container.id(), "extract-to-dir");
  exchange.Reply(200, kJsonType, "");
  return absl::OkStatus();
}

absl::Status FileHandlers::Changes(Exchange& exchange, const std::string& name) {
  ASSIGN_OR_RETURN(rt::Container container, containers_->GetContainer(name));
  ASSIGN_OR_RETURN(std::vector<st::FileChange> changes, files_->Changes(container.id()));
  Json out = Json::array();
  for (const st::FileChange& change : changes) {
    out.push_back({{"Path", change.path()}, {"Kind", change.kind()}});
  }
  ReplyJson(exchange, 200, out);
  return absl::OkStatus();
}

absl::Status FileHandlers::Export(Exchange& exchange, const std::string& name) {
  ASSIGN_OR_RETURN(rt::Container container, containers_->GetContainer(name));
  RecordContainerEvent(containers_, container.id(), "export");
  ByteRelay<types::v1::Chunk> relay(exchange, files_->Export(container.id()));
  return relay.RelayAll("application/octet-stream", "export of " + name);
}

void FileHandlers::AddSize(const rt::Container& container, Json& out) {
  absl::StatusOr<st::RootfsSizeResponse> size = files_->Size(container.id());
  if (!size.ok()) {
    SPDLOG_DEBUG("size of {}: {}", container.id(), size.status().ToString());
    out["SizeRw"] = 0;
    out["SizeRootFs"] = 0;
    return;
  }
  out["SizeRw"] = size->size_rw();
  out["SizeRootFs"] = size->size_root_fs();
}

absl::Status FileHandlers::DiskUsage(Exchange& exchange) {
  std::vector<std::string> types = exchange.request().query.GetAll("type");
  auto wanted = [&types](const std::string& type) {
    return types.empty() || std::find(types.begin(), types.end(), type) != types.end();
  };
  Json out = Json::object();
  const std::string& version = exchange.request().api_version;
  ASSIGN_OR_RETURN(std::vector<rt::Container> containers, containers_->ListContainers(true));
  if (wanted("image")) {
    ASSIGN_OR_RETURN(std::vector<image::v1::Image> images, images_->ListImages());
    std::map<std::string, int> users;
    for (const rt::Container& c : containers) ++users[c.image_id()];
    Json list = Json::array();
    ImageDiskUsage usage = ImageLayerUsage(images);
    for (size_t i = 0; i < images.size(); ++i) {
      Json summary = RenderImageSummary(images[i], version);
      summary["Containers"] = users[images[i].id()];
      summary["SharedSize"] = usage.shared_sizes[i];
      list.push_back(std::move(summary));
    }
    out["LayersSize"] = usage.layers_size;
    out["Images"] = list;
  }
  if (wanted("container")) {
    Json list = Json::array();
    int64_t now = NowNanos();
    for (const rt::Container& c : containers) {
      Json summary = RenderContainerSummary(c, true, now);
      AddSize(c, summary);
      list.push_back(std::move(summary));
    }
    out["Containers"] = list;
  }
  if (wanted("volume")) {
    ASSIGN_OR_RETURN(std::vector<st::Volume> volumes, volumes_->ListVolumes());
    using SizeMap = std::map<std::string, int64_t>;
    ASSIGN_OR_RETURN(SizeMap sizes, files_->VolumeUsage());
    Json list = Json::array();
    for (const st::Volume& volume : volumes) {
      Json rendered = RenderVolume(volume);
      auto size = sizes.find(volume.name());
      rendered["UsageData"] = {{"Size", size == sizes.end() ? int64_t{-1} : size->second},
                               {"RefCount", volume.container_ids_size()}};
      list.push_back(std::move(rendered));
    }
    out["Volumes"] = list;
  }
  if (wanted("build-cache")) {
    out["BuildCache"] = Json::array();
    if (build_cache_usage_) {
      ASSIGN_OR_RETURN(out["BuildCache"], build_cache_usage_());
    }
  }
  ReplyJson(exchange, 200, out);
  return absl::OkStatus();
}

}  // namespace berth::apiserver
