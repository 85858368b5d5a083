#include "imaged/build_adapters.h"

#include <archive.h>
#include <archive_entry.h>
#include <fcntl.h>
#include <sys/stat.h>

#include <algorithm>
#include <chrono>
#include <condition_variable>
#include <set>
#include <thread>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "common/digest.h"
#include "common/fs.h"
#include "common/grpc_status.h"
#include "common/log.h"
#include "common/reference.h"
#include "common/status.h"
#include "imaged/build/layer_writer.h"
#include "imaged/build/plan.h"

namespace berth::imaged {
namespace {

namespace rt = ::berth::runtime::v1;

std::string Clean(std::string path) {
  while (absl::StartsWith(path, "./")) path = path.substr(2);
  while (!path.empty() && path[0] == '/') path = path.substr(1);
  while (!path.empty() && path.back() == '/') path.pop_back();
  if (path == ".") return "";
  return path;
}

std::string Parent(const std::string& path) {
  size_t slash = path.rfind('/');
  return slash == std::string::npos ? "" : path.substr(0, slash);
}

bool Below(const std::string& path, const std::string& dir) {
  return dir.empty() ? !path.empty() : absl::StartsWith(path, dir + "/");
}

struct ReadState {
  ByteSource* source;
  std::string buffer;
};

la_ssize_t ReadCallback(struct archive* a, void* data, const void** out) {
  auto* state = static_cast<ReadState*>(data);
  state->buffer.resize(1 << 20);
  absl::StatusOr<size_t> n = state->source->Read(state->buffer.data(), state->buffer.size());
  if (!n.ok()) {
    archive_set_error(a, EIO, "%s", std::string(n.status().message()).c_str());
    return -1;
  }
  *out = state->buffer.data();
  return static_cast<la_ssize_t>(*n);
}

// Collects an uncompressed layer tar into a blob.
class BlobSink {
 public:
  explicit BlobSink(ContentStore* content) : content_(content) {}
  absl::Status Open() {
    ASSIGN_OR_RETURN(writer_, content_->NewWriter());
    return absl::OkStatus();
  }
  build::TarSinkFn Fn() {
    return [this](absl::string_view bytes) { return writer_->Write(bytes); };
  }
  // "" for a tar without entries (an empty_layer step).
  absl::StatusOr<build::Layer> Commit(bool keep_empty) {
    ASSIGN_OR_RETURN(std::string digest, writer_->Finish());
    if (!keep_empty && (writer_->size() == 0 || digest == kEmptyLayerDiffId)) {
      return build::Layer{};
    }
    if (writer_->size() == 0) {
      // WriteCopyLayer wrote nothing at all: the layer is an empty tar.
      ASSIGN_OR_RETURN(writer_, content_->NewWriter());
      RETURN_IF_ERROR(writer_->Write(std::string(1024, '\0')));
      ASSIGN_OR_RETURN(digest, writer_->Finish());
    }
    RETURN_IF_ERROR(writer_->Commit(digest));
    return build::Layer{digest, writer_->size()};
  }

 private:
  ContentStore* content_;
  std::unique_ptr<ContentWriter> writer_;
};

}  // namespace

// ---- ImageFilesTree ----

absl::StatusOr<std::unique_ptr<ImageFilesTree>> ImageFilesTree::Read(
    ContentStore* content, const ImageInfo& image, const std::string& content_dir) {
  std::unique_ptr<ImageFilesTree> tree(new ImageFilesTree());
  tree->entries_[""] = build::FileInfo{build::FileType::kDirectory, 0755};
  for (size_t i = 0; i < image.blob_digests.size(); ++i) {
    ASSIGN_OR_RETURN(std::unique_ptr<ByteSource> blob, content->OpenBlob(image.blob_digests[i]));
    RETURN_IF_ERROR(tree->ReadLayer(*blob, content_dir, static_cast<int>(i)));
  }
  return tree;
}

absl::Status ImageFilesTree::ReadLayer(ByteSource& blob, const std::string& content_dir,
                                       int layer) {
  struct archive* a = archive_read_new();
  archive_read_support_filter_all(a);
  archive_read_support_format_tar(a);
  ReadState state{&blob, ""};
  if (archive_read_open(a, &state, nullptr, ReadCallback, nullptr) != ARCHIVE_OK) {
    std::string error = archive_error_string(a) ? archive_error_string(a) : "unreadable";
    archive_read_free(a);
    return absl::InternalError(absl::StrCat("reading layer ", layer, ": ", error));
  }
  // What this layer itself adds: an opaque marker hides only the layers below.
  std::set<std::string> added;
  absl::Status status;
  struct archive_entry* entry;
  while (true) {
    int rc = archive_read_next_header(a, &entry);
    if (rc == ARCHIVE_EOF) break;
    if (rc < ARCHIVE_WARN) {
      status = absl::InternalError(
          absl::StrCat("reading layer ", layer, ": ",
                       archive_error_string(a) ? archive_error_string(a) : "bad entry"));
      break;
    }
    std::string path = Clean(archive_entry_pathname(entry));
    if (path.empty()) continue;
    std::string dir = Parent(path);
    std::string base = path.substr(dir.empty() ? 0 : dir.size() + 1);
    if (base == ".wh..wh..opq") {
      for (auto it = entries_.begin(); it != entries_.end();) {
        if (Below(it->first, dir) && !added.count(it->first)) {
          contents_.erase(it->first);
          it = entries_.erase(it);
        } else {
          ++it;
        }
      }
      continue;
    }
    if (absl::StartsWith(base, ".wh.")) {
      std::string gone = dir.empty() ? base.substr(4) : dir + "/" + base.substr(4);
      for (auto it = entries_.begin(); it != entries_.end();) {
        if (it->first == gone || Below(it->first, gone)) {
          contents_.erase(it->first);
          it = entries_.erase(it);
        } else {
          ++it;
        }
      }
      continue;
    }
    build::FileInfo info;
    info.mode = archive_entry_perm(entry);
    info.uid = static_cast<uint32_t>(archive_entry_uid(entry));
    info.gid = static_cast<uint32_t>(archive_entry_gid(entry));
    info.size = archive_entry_size(entry);
    const char* hardlink = archive_entry_hardlink(entry);
    if (hardlink != nullptr) {
      auto target = entries_.find(Clean(hardlink));
      if (target == entries_.end()) continue;
      entries_[path] = target->second;
      auto content = contents_.find(target->first);
      if (content != contents_.end()) contents_[path] = content->second;
      added.insert(path);
      continue;
    }
    switch (archive_entry_filetype(entry)) {
      case AE_IFDIR:
        info.type = build::FileType::kDirectory;
        break;
      case AE_IFREG:
        info.type = build::FileType::kFile;
        break;
      case AE_IFLNK:
        info.type = build::FileType::kSymlink;
        info.link_target = archive_entry_symlink(entry) ? archive_entry_symlink(entry) : "";
        break;
      default:
        info.type = build::FileType::kOther;
    }
    // A non-directory replaces whatever was there, with everything below it.
    if (info.type != build::FileType::kDirectory) {
      for (auto it = entries_.upper_bound(path); it != entries_.end() && Below(it->first, path);) {
        contents_.erase(it->first);
        it = entries_.erase(it);
      }
    }
    entries_[path] = info;
    contents_.erase(path);
    added.insert(path);
    if (info.type != build::FileType::kFile) continue;
    const bool account = path == "etc/passwd" || path == "etc/group";
    if (!account && content_dir.empty()) continue;
    std::string data;
    std::string file;
    int fd = -1;
    if (!content_dir.empty()) {
      file = absl::StrCat(content_dir, "/", next_file_++);
      fd = open(file.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
      if (fd < 0) {
        status = LastErrnoStatus("create " + file);
        break;
      }
    }
    char buffer[65536];
    la_ssize_t n;
    while ((n = archive_read_data(a, buffer, sizeof(buffer))) > 0) {
      if (account) data.append(buffer, static_cast<size_t>(n));
      if (fd >= 0 && !WriteFull(fd, buffer, static_cast<size_t>(n)).ok()) {
        n = -1;
        break;
      }
    }
    if (fd >= 0) close(fd);
    if (n < 0) {
      status = absl::InternalError(absl::StrCat("reading ", path, " in layer ", layer));
      break;
    }
    if (!file.empty()) contents_[path] = file;
    if (path == "etc/passwd") passwd_ = data;
    if (path == "etc/group") group_ = data;
  }
  archive_read_free(a);
  return status;
}

absl::StatusOr<build::FileInfo> ImageFilesTree::Lstat(const std::string& path) const {
  auto it = entries_.find(Clean(path));
  if (it == entries_.end()) return absl::NotFoundError(absl::StrCat(path, ": not found"));
  return it->second;
}

absl::StatusOr<std::vector<std::string>> ImageFilesTree::List(const std::string& dir) const {
  std::string clean = Clean(dir);
  auto it = entries_.find(clean);
  if (it == entries_.end()) return absl::NotFoundError(absl::StrCat(dir, ": not found"));
  if (it->second.type != build::FileType::kDirectory) {
    return absl::InvalidArgumentError(absl::StrCat(dir, ": not a directory"));
  }
  std::vector<std::string> names;
  for (auto child = entries_.upper_bound(clean); child != entries_.end(); ++child) {
    if (!Below(child->first, clean)) {
      if (!clean.empty()) break;
    }
    std::string rest = child->first.substr(clean.empty() ? 0 : clean.size() + 1);
    if (rest.find('/') == std::string::npos) names.push_back(rest);
  }
  return names;
}

absl::StatusOr<std::unique_ptr<ByteSource>> ImageFilesTree::Open(const std::string& path) const {
  auto it = contents_.find(Clean(path));
  if (it == contents_.end()) return absl::NotFoundError(absl::StrCat(path, ": not found"));
  int fd = open(it->second.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return LastErrnoStatus("open " + it->second);
  return std::unique_ptr<ByteSource>(std::make_unique<FdSource>(fd));
}

// ---- StoreBaseImages, StoreImageWriter ----

namespace {

absl::Status ConfigMatchesPlatform(const std::string& reference, const Json& config,
                                   const std::string& platform) {
  if (platform.empty()) return absl::OkStatus();
  std::string actual = absl::StrCat(config.value("os", std::string("linux")), "/",
                                    config.value("architecture", std::string()));
  std::string variant = config.value("variant", std::string());
  if (!variant.empty()) absl::StrAppend(&actual, "/", variant);
  absl::StatusOr<std::string> normalized = build::NormalizePlatform(actual);
  if (normalized.ok()) actual = *normalized;
  std::vector<std::string> wanted = absl::StrSplit(platform, '/');
  std::vector<std::string> have = absl::StrSplit(actual, '/');
  bool match = wanted.size() >= 2 && have.size() >= 2 && wanted[0] == have[0] &&
               wanted[1] == have[1] &&
               (wanted.size() < 3 || have.size() < 3 || wanted[2] == have[2]);
  if (match) return absl::OkStatus();
  // Moby's words; a NotFound, so that the image is pulled for the platform.
  return absl::NotFoundError(absl::StrCat("image with reference ", reference,
                                          " was found but does not match the specified "
                                          "platform: wanted ",
                                          platform, ", actual: ", absl::StrJoin(have, "/")));
}

}  // namespace

absl::Status MatchesPlatform(const std::string& reference, const std::string& config_json,
                             const std::string& platform) {
  if (platform.empty()) return absl::OkStatus();
  ASSIGN_OR_RETURN(Json config, ParseJson(config_json));
  return ConfigMatchesPlatform(reference, config, platform);
}

std::shared_ptr<const Json> ImageConfigCache::Find(const std::string& id) {
  std::lock_guard<std::mutex> lock(mutex_);
  auto it = configs_.find(id);
  return it == configs_.end() ? nullptr : it->second;
}

void ImageConfigCache::Insert(const std::string& id, std::shared_ptr<const Json> config) {
  std::lock_guard<std::mutex> lock(mutex_);
  if (configs_.size() >= kCapacity) configs_.clear();
  configs_[id] = std::move(config);
}

void ImageConfigCache::Erase(const std::string& id) {
  std::lock_guard<std::mutex> lock(mutex_);
  configs_.erase(id);
}

absl::StatusOr<std::shared_ptr<const Json>> StoreBaseImages::ConfigOf(const ImageInfo& image) {
  if (configs_ != nullptr) {
    std::shared_ptr<const Json> cached = configs_->Find(image.id);
    if (cached != nullptr) return cached;
  }
  ASSIGN_OR_RETURN(Json parsed, ParseJson(image.config_json));
  auto config = std::make_shared<const Json>(std::move(parsed));
  if (configs_ != nullptr) configs_->Insert(image.id, config);
  return config;
}

void StoreBaseImages::Prefetch(const std::string& reference, const std::string& platform) {
  if (prefetched_.count({reference, platform})) return;
  absl::StatusOr<ImageInfo> found = store_->Get(reference);
  if (!found.ok()) return;
  absl::StatusOr<std::shared_ptr<const Json>> config = ConfigOf(*found);
  if (!config.ok() || !ConfigMatchesPlatform(reference, **config, platform).ok()) return;
  prefetched_[{reference, platform}] = build::ImageRecord{found->id, **config};
}

absl::StatusOr<build::ImageRecord> StoreBaseImages::Resolve(const std::string& reference,
                                                            const std::string& platform, bool pull,
                                                            const build::LineFn& progress) {
  if (!pull) {
    auto prefetched = prefetched_.find({reference, platform});
    if (prefetched != prefetched_.end()) return prefetched->second;
  }
  if (configs_ != nullptr && !pull && IsSha256Digest(reference)) {
    std::shared_ptr<const Json> config = configs_->Find(reference);
    if (config != nullptr && store_->HasBlob(reference)) {
      RETURN_IF_ERROR(ConfigMatchesPlatform(reference, *config, platform));
      unconfirmed_.insert(reference);
      return build::ImageRecord{reference, *config};
    }
  }
  std::shared_ptr<const Json> config;
  absl::StatusOr<ImageInfo> found = store_->Get(reference);
  if (found.ok()) {
    ASSIGN_OR_RETURN(config, ConfigOf(*found));
    absl::Status matches = ConfigMatchesPlatform(reference, *config, platform);
    if (!matches.ok()) found = matches;
  }
  if (distribution_ != nullptr && (pull || absl::IsNotFound(found.status()))) {
    // Byte counts are left out: the build's stream is text.
    absl::Status pulled = distribution_->Pull(
        reference, platform, registry::Credentials{}, [&](const ProgressEvent& event) {
          if (event.total == 0 && !event.status.empty()) {
            progress(event.id.empty() ? event.status + "\n"
                                      : absl::StrCat(event.id, ": ", event.status, "\n"));
          }
          return true;
        });
    if (!pulled.ok() && (pull || absl::IsNotFound(found.status()))) {
      // A missing image that cannot be pulled is still "No such image".
      if (!found.ok()) return found.status();
      return pulled;
    }
    absl::StatusOr<ImageInfo> pulled_image = store_->Get(reference);
    if (pulled_image.ok()) {
      ASSIGN_OR_RETURN(config, ConfigOf(*pulled_image));
      RETURN_IF_ERROR(ConfigMatchesPlatform(reference, *config, platform));
    }
    found = std::move(pulled_image);
  }
  RETURN_IF_ERROR(found.status());
  return build::ImageRecord{found->id, *config};
}

absl::Status StoreBaseImages::Confirm(const std::string& image_id) {
  if (!unconfirmed_.count(image_id)) return absl::OkStatus();
  absl::StatusOr<ImageInfo> image = store_->Get(image_id);
  if (image.ok()) {
    unconfirmed_.erase(image_id);
    return absl::OkStatus();
  }
  if (!absl::IsNotFound(image.status())) return image.status();
  // Its config blob outlived its record (a removal racing the build, or a
  // blob left behind): the next build must not take the shortcut again.
  for (const std::string& id : unconfirmed_) configs_->Erase(id);
  unconfirmed_.clear();
  return absl::NotFoundError(
      absl::StrCat("No such image: ", image_id, " (removed while the build used it)"));
}

absl::StatusOr<std::string> StoreImageWriter::Write(const Json& image_config,
                                                    const std::string& parent_id) {
  // A layer's blob is where the parent has it (a pulled layer's compressed
  // blob), else the uncompressed tar a step stored. Only a layer taken from a
  // --cache-from image may have its blob elsewhere: then every image is
  // asked, which costs a read of each (too much for every step).
  std::vector<ImageInfo> known;
  if (!parent_id.empty()) {
    ASSIGN_OR_RETURN(ImageInfo parent, store_->Get(parent_id));
    known.push_back(std::move(parent));
  }
  std::set<std::string> parent_layers;
  for (const ImageInfo& image : known) {
    parent_layers.insert(image.diff_ids.begin(), image.diff_ids.end());
  }
  const Json& rootfs = image_config.value("rootfs", Json::object());
  if (rootfs.is_object() && rootfs.contains("diff_ids") && rootfs["diff_ids"].is_array()) {
    for (const Json& diff_id : rootfs["diff_ids"]) {
      if (!diff_id.is_string()) continue;
      const std::string& id = diff_id.get_ref<const std::string&>();
      if (!parent_layers.count(id) && !content_->Exists(id)) {
        ASSIGN_OR_RETURN(known, store_->List());
        break;
      }
    }
  }
  return StoreLocalImage(store_, content_, image_config, known, {}, parent_id);
}

absl::Status StoreImageWriter::Tag(const std::string& image_id, const std::string& reference) {
  // Rebuilding an image under the name it has changes nothing, and the tag
  // write would be a synced commit per build.
  absl::StatusOr<Reference> named = Reference::ParseNormalized(reference);
  if (named.ok() && !named->has_digest()) {
    const std::string familiar = named->TagNameOnly().FamiliarString();
    absl::StatusOr<ImageInfo> image = store_->Get(image_id);
    if (image.ok() && std::find(image->repo_tags.begin(), image->repo_tags.end(), familiar) !=
                          image->repo_tags.end()) {
      return absl::OkStatus();
    }
  }
  return store_->Tag(image_id, reference, "");
}

// ---- BlobLayerStore ----

absl::StatusOr<std::unique_ptr<ImageFilesTree>> BlobLayerStore::Files(
    const build::ImageRecord& image, const std::string& content_dir) {
  ImageInfo info;
  if (!image.id.empty()) {
    ASSIGN_OR_RETURN(info, store_->Get(image.id));
  }
  return ImageFilesTree::Read(content_, info, content_dir);
}

absl::StatusOr<const ImageFilesTree*> BlobLayerStore::Entries(const build::ImageRecord& image) {
  auto it = entries_.find(image.id);
  if (it != entries_.end()) return it->second.get();
  ASSIGN_OR_RETURN(std::unique_ptr<ImageFilesTree> files, Files(image, ""));
  // One entry per image a build touches; the builds are short-lived.
  return (entries_[image.id] = std::move(files)).get();
}

absl::StatusOr<build::Layer> BlobLayerStore::CommitContainer(const std::string& container_id) {
  ASSIGN_OR_RETURN(std::unique_ptr<ByteSource> tar, changes_->OpenChanges(container_id, {}));
  ASSIGN_OR_RETURN(StoredLayer layer, StoreLayerBlob(content_, *tar));
  if (layer.diff_id == kEmptyLayerDiffId) return build::Layer{};
  return build::Layer{layer.diff_id, layer.size};
}

absl::StatusOr<build::Layer> BlobLayerStore::CommitCopy(const build::ImageRecord& parent,
                                                        const build::CopyPlan& plan,
                                                        const build::SourceTree& source) {
  ASSIGN_OR_RETURN(const ImageFilesTree* files, Entries(parent));
  build::Owner owner;
  if (!plan.chown.empty()) {
    ASSIGN_OR_RETURN(owner, build::ResolveChown(plan.chown, files->passwd(), files->group()));
  }
  BlobSink sink(content_);
  RETURN_IF_ERROR(sink.Open());
  RETURN_IF_ERROR(build::WriteCopyLayer(
      plan, source, owner, [&](const std::string& path) { return files->Lstat(path).ok(); },
      sink.Fn()));
  return sink.Commit(/*keep_empty=*/true);
}

absl::StatusOr<build::Layer> BlobLayerStore::CommitWorkdir(const build::ImageRecord& parent,
                                                           const std::string& dir,
                                                           const std::string& user) {
  ASSIGN_OR_RETURN(const ImageFilesTree* files, Entries(parent));
  build::Owner owner;
  if (!user.empty()) {
    ASSIGN_OR_RETURN(owner, build::ResolveChown(user, files->passwd(), files->group()));
  }
  BlobSink sink(content_);
  RETURN_IF_ERROR(sink.Open());
  RETURN_IF_ERROR(build::WriteWorkdirLayer(
      dir, owner, [&](const std::string& path) { return files->Lstat(path).ok(); }, sink.Fn()));
  return sink.Commit(/*keep_empty=*/false);
}

absl::StatusOr<bool> BlobLayerStore::IsDirectory(const build::ImageRecord& image,
                                                 const std::string& path) {
  ASSIGN_OR_RETURN(const ImageFilesTree* files, Entries(image));
  absl::StatusOr<std::string> resolved = build::ResolveInTree(*files, Clean(path));
  if (!resolved.ok()) return false;
  absl::StatusOr<build::FileInfo> info = files->Lstat(*resolved);
  return info.ok() && info->type == build::FileType::kDirectory;
}

absl::StatusOr<std::unique_ptr<build::SourceTree>> BlobLayerStore::OpenImage(
    const build::ImageRecord& image) {
  std::string dir = absl::StrCat(scratch_dir_, "/image-", opened_++);
  RETURN_IF_ERROR(MakeDirs(dir, 0700));
  ASSIGN_OR_RETURN(std::unique_ptr<ImageFilesTree> files, Files(image, dir));
  return std::unique_ptr<build::SourceTree>(std::move(files));
}

// ---- HttpDownloader ----

absl::Status HttpDownloader::Fetch(const std::string& url, const std::string& path,
                                   const build::LineFn& /*progress*/) {
  int fd = open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (fd < 0) return LastErrnoStatus("create " + path);
  registry::HttpRequest request;
  request.url = url;
  registry::BodySink sink = [fd](absl::string_view data) {
    return WriteFull(fd, data.data(), data.size());
  };
  absl::StatusOr<registry::HttpResponse> response = http_->Do(request, &sink);
  close(fd);
  if (!response.ok()) {
    return absl::UnavailableError(
        absl::StrCat("failed to GET ", url, ": ", response.status().message()));
  }
  if (response->status < 200 || response->status > 299) {
    // Docker's words.
    return absl::InvalidArgumentError(
        absl::StrCat("failed to GET ", url, " with status ", response->status));
  }
  return absl::OkStatus();
}

// ---- GrpcStepRunner ----

GrpcStepRunner::GrpcStepRunner(std::shared_ptr<grpc::Channel> runtimed, ImageStore* store)
    : stub_(rt::RuntimeService::NewStub(runtimed)), store_(store) {}

absl::Status GrpcStepRunner::RemoveOrphans() {
  std::lock_guard<std::mutex> lock(orphans_mutex_);
  if (orphans_removed_) return absl::OkStatus();
  grpc::ClientContext context;
  context.set_deadline(std::chrono::system_clock::now() + std::chrono::minutes(1));
  rt::ListContainersRequest request;
  request.set_all(true);
  rt::ListContainersResponse response;
  grpc::Status status = stub_->ListContainers(&context, request, &response);
  if (!status.ok()) return FromSiblingStatus(status, "runtimed");
  for (const rt::Container& container : response.containers()) {
    absl::StatusOr<Json> config = ParseJson(container.config_json());
    if (!config.ok() || !config->contains("Labels") || !(*config)["Labels"].is_object() ||
        !(*config)["Labels"].contains(kBuildStepLabel)) {
      continue;
    }
    spdlog::info("removing build container {} left by an earlier imaged", container.id());
    RETURN_IF_ERROR(Remove(container.id()));
  }
  orphans_removed_ = true;
  return absl::OkStatus();
}

absl::StatusOr<std::string> GrpcStepRunner::Create(const Request& request) {
  RETURN_IF_ERROR(RemoveOrphans());
  ASSIGN_OR_RETURN(ImageInfo image, store_->Get(request.image.id));
  rt::CreateContainerRequest create;
  Json config = request.config;
  config["Image"] = image.id;
  // Only the container carries it: the step's image is made from the
  // stage's config, not from the container's.
  if (!request.keep) {
    if (!config.contains("Labels") || !config["Labels"].is_object())
      config["Labels"] = Json::object();
    config["Labels"][kBuildStepLabel] = "1";
  }
  create.set_config_json(config.dump());
  create.set_host_config_json(request.host_config.dump());
  types::v1::ImageSpec* spec = create.mutable_image();
  spec->set_id(image.id);
  spec->set_reference(image.id);
  spec->set_config_json(image.config_json);
  spec->set_top_chain_id(image.top_chain_id());
  grpc::ClientContext context;
  context.set_deadline(std::chrono::system_clock::now() + std::chrono::minutes(2));
  rt::CreateContainerResponse response;
  grpc::Status status = stub_->CreateContainer(&context, create, &response);
  if (!status.ok()) return FromSiblingStatus(status, "runtimed");
  if (request.cancelled) {
    std::lock_guard<std::mutex> lock(cancels_mutex_);
    cancels_[response.id()] = request.cancelled;
  }
  return response.id();
}

absl::StatusOr<int> GrpcStepRunner::Run(const std::string& container_id,
                                        const build::LineFn& output) {
  {
    grpc::ClientContext context;
    context.set_deadline(std::chrono::system_clock::now() + std::chrono::minutes(2));
    rt::StartContainerRequest request;
    request.set_id(container_id);
    rt::StartContainerResponse response;
    grpc::Status status = stub_->StartContainer(&context, request, &response);
    if (!status.ok()) return FromSiblingStatus(status, "runtimed");
  }
  std::function<bool()> cancelled;
  {
    std::lock_guard<std::mutex> lock(cancels_mutex_);
    auto it = cancels_.find(container_id);
    if (it != cancels_.end()) cancelled = it->second;
  }
  // Follow the log while the step runs, so its output shows as it comes.
  {
    grpc::ClientContext context;
    // A client that goes away stops the wait (a long RUN is not waited for).
    std::mutex mutex;
    std::condition_variable wake;
    bool done = false;
    std::thread watcher;
    if (cancelled) {
      watcher = std::thread([&] {
        std::unique_lock<std::mutex> lock(mutex);
        while (!wake.wait_for(lock, std::chrono::milliseconds(200), [&] { return done; })) {
          if (cancelled()) {
            context.TryCancel();
            return;
          }
        }
      });
    }
    auto stop_watcher = [&] {
      {
        std::lock_guard<std::mutex> lock(mutex);
        done = true;
      }
      wake.notify_all();
      if (watcher.joinable()) watcher.join();
    };
    rt::LogsRequest request;
    request.set_id(container_id);
    request.set_follow(true);
    request.set_stdout(true);
    request.set_stderr(true);
    request.set_tail(-1);
    auto reader = stub_->Logs(&context, request);
    rt::LogEntry entry;
    while (reader->Read(&entry)) output(entry.data());
    grpc::Status status = reader->Finish();
    stop_watcher();
    if (cancelled && cancelled()) return absl::CancelledError("Build cancelled");
    if (!status.ok()) return FromSiblingStatus(status, "runtimed");
  }
  grpc::ClientContext context;
  rt::WaitContainerRequest request;
  request.set_id(container_id);
  auto reader = stub_->WaitContainer(&context, request);
  rt::WaitContainerResponse response;
  int code = -1;
  while (reader->Read(&response)) {
    if (response.has_result()) code = response.result().exit_code();
  }
  grpc::Status status = reader->Finish();
  if (!status.ok()) return FromSiblingStatus(status, "runtimed");
  if (code < 0) return absl::UnavailableError("runtimed is unavailable: no exit status");
  return code;
}

absl::Status GrpcStepRunner::Remove(const std::string& container_id) {
  {
    std::lock_guard<std::mutex> lock(cancels_mutex_);
    cancels_.erase(container_id);
  }
  grpc::ClientContext context;
  context.set_deadline(std::chrono::system_clock::now() + std::chrono::minutes(2));
  rt::RemoveContainerRequest request;
  request.set_id(container_id);
  request.set_force(true);
  request.set_remove_volumes(true);
  rt::RemoveContainerResponse response;
  grpc::Status status = stub_->RemoveContainer(&context, request, &response);
  return FromSiblingStatus(status, "runtimed");
}

}  // namespace berth::imaged
