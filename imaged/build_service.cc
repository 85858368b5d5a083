#include "imaged/build_service.h"

#include <algorithm>
#include <map>
#include <memory>
#include <mutex>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "common/batch_priority.h"
#include "common/digest.h"
#include "common/fs.h"
#include "common/grpc_status.h"
#include "common/ids.h"
#include "common/log.h"
#include "common/status.h"
#include "imaged/build/dispatch.h"

namespace berth::imaged {
namespace {

// The docker CLI sends `build -f <file outside the context>` as a tar whose
// last entry is not padded and that has no end-of-archive blocks (Go's tar
// reader in dockerd takes that). An uncompressed context is completed here
// so that libarchive reads it too; zero blocks after a complete tar are
// harmless.
class CompletedTar : public ByteSource {
 public:
  explicit CompletedTar(ByteSource& inner) : inner_(inner) {}
  absl::StatusOr<size_t> Read(char* buffer, size_t n) override {
    if (padding_left_ < 0) {
      ASSIGN_OR_RETURN(size_t got, inner_.Read(buffer, n));
      if (total_ == 0 && got > 0) {
        const unsigned char c = static_cast<unsigned char>(buffer[0]);
        // gzip, bzip2, xz, zstd magic: compressed, left alone.
        compressed_ = c == 0x1f || c == 'B' || c == 0xfd || c == 0x28;
      }
      total_ += got;
      if (got > 0 || compressed_) return got;
      padding_left_ = static_cast<int64_t>((512 - total_ % 512) % 512) + 1024;
    }
    size_t count = std::min(n, static_cast<size_t>(padding_left_));
    std::fill(buffer, buffer + count, '\0');
    padding_left_ -= static_cast<int64_t>(count);
    return count;
  }

 private:
  ByteSource& inner_;
  uint64_t total_ = 0;
  bool compressed_ = false;
  int64_t padding_left_ = -1;
};

// The context hashed as it arrives. Extraction reads it 64 KiB at a time
// and the apiserver sends it in messages of at most that, so once the inner
// source is drained the digest of the complete context is known before the
// last bytes are unpacked: on_complete(digest) then says whether the
// extraction goes on, and a build answered from memory skips them.
class HashedContext : public ByteSource {
 public:
  using CompleteFn = std::function<bool(const std::string& digest)>;
  HashedContext(ByteSource& inner, CompleteFn on_complete)
      : inner_(inner), on_complete_(std::move(on_complete)) {}

  absl::StatusOr<size_t> Read(char* buffer, size_t n) override {
    if (!ended_) {
      ASSIGN_OR_RETURN(size_t got, inner_.Read(buffer, n));
      hash_.Update(buffer, got);
      if (got > 0 && !inner_.Drained()) return got;
      ended_ = true;
      stopped_ = !on_complete_(hash_.Finish());
      if (!stopped_) return got;
    }
    if (stopped_) return absl::CancelledError("the rest of the context is not needed");
    return size_t{0};
  }

  // Reads what the extraction left (bytes after the archive's end), so that
  // on_complete has run.
  absl::Status Finish() {
    char rest[4096];
    while (!ended_) RETURN_IF_ERROR(Read(rest, sizeof(rest)).status());
    return absl::OkStatus();
  }

 private:
  ByteSource& inner_;
  CompleteFn on_complete_;
  bool ended_ = false;
  bool stopped_ = false;
  Sha256 hash_;
};

// Every parameter that can change a build's image or output, as one string.
std::string RequestFingerprint(const BuildParams& params) {
  const build::BuildOptions& options = params.options;
  Json args = Json::object();
  for (const auto& [key, value] : options.build_args) {
    args[key] = value.has_value() ? Json(*value) : Json(nullptr);
  }
  const Json request = {{"tags", options.tags},
                        {"build_args", args},
                        {"labels", options.labels},
                        {"target", options.target},
                        {"no_cache", options.no_cache},
                        {"pull", options.pull},
                        {"platform", options.platform},
                        {"cache_from", options.cache_from},
                        {"host_config", options.host_config},
                        {"keep_containers", options.keep_containers},
                        {"force_rm", options.force_rm},
                        {"dockerfile", params.dockerfile},
                        {"quiet", params.quiet}};
  return request.dump();
}

// Asking gRPC whether the client went away cost more than a cached step
// does: the answer is kept for `every` (a cancelled build stops that much
// later at most). Once cancelled, always cancelled.
std::function<bool()> Throttled(std::function<bool()> check, absl::Duration every) {
  if (!check) return check;
  struct State {
    std::mutex mutex;
    absl::Time next = absl::InfinitePast();
    bool cancelled = false;
  };
  auto state = std::make_shared<State>();
  return [check = std::move(check), state, every] {
    std::lock_guard<std::mutex> lock(state->mutex);
    if (state->cancelled) return true;
    const absl::Time now = absl::Now();
    if (now < state->next) return false;
    state->next = now + every;
    state->cancelled = check();
    return state->cancelled;
  };
}

// The cache as one build sees it: every entry it looks up or makes is in
// use (a concurrent prune leaves it) until the build ends. Registered before
// the lookup, so that a prune listing entries after it sees the entry in use.
// Touch only takes the keys down (into *reused): the build's handle ends
// after they are marked (ActiveBuilds::EndAfterTouch).
class BuildScopedCache : public build::BuildCache {
 public:
  BuildScopedCache(build::BuildCache* cache, ActiveBuilds::Handle* build,
                   std::vector<std::string>* reused)
      : cache_(cache), build_(build), reused_(reused) {}
  absl::StatusOr<std::optional<std::string>> Lookup(const std::string& key) override {
    build_->Use(key);
    return cache_->Lookup(key);
  }
  absl::Status Record(const std::string& key, const std::string& image_id) override {
    build_->Use(key);
    return cache_->Record(key, image_id);
  }
  absl::Status Touch(const std::vector<std::string>& keys) override {
    *reused_ = keys;
    return absl::OkStatus();
  }
  std::optional<int64_t> Generation() override { return cache_->Generation(); }

 private:
  build::BuildCache* cache_;
  ActiveBuilds::Handle* build_;
  std::vector<std::string>* reused_;
};

}  // namespace

absl::Status BuildService::CleanUp() {
  RETURN_IF_ERROR(RemoveAll(work_root_));
  return MakeDirs(work_root_, 0700);
}

std::unique_ptr<ActiveBuilds::Handle> ActiveBuilds::Begin(int64_t now) {
  std::lock_guard<std::mutex> lock(mutex_);
  int64_t id = next_id_++;
  builds_[id].start = now;
  return std::make_unique<Handle>(this, id);
}

int64_t ActiveBuilds::OldestStart() {
  std::lock_guard<std::mutex> lock(mutex_);
  int64_t oldest = 0;
  for (const auto& [id, build] : builds_) {
    if (oldest == 0 || build.start < oldest) oldest = build.start;
  }
  return oldest;
}

std::set<std::string> ActiveBuilds::KeysInUse() {
  std::lock_guard<std::mutex> lock(mutex_);
  std::set<std::string> keys;
  for (const auto& [id, build] : builds_) keys.insert(build.keys.begin(), build.keys.end());
  return keys;
}

void ActiveBuilds::Use(int64_t id, const std::string& key) {
  std::lock_guard<std::mutex> lock(mutex_);
  builds_[id].keys.insert(key);
}

void ActiveBuilds::End(int64_t id) {
  std::lock_guard<std::mutex> lock(mutex_);
  builds_.erase(id);
}

void ActiveBuilds::EndAfterTouch(std::unique_ptr<Handle> build, std::vector<std::string> keys,
                                 build::BuildCache* cache) {
  if (keys.empty()) return;
  std::lock_guard<std::mutex> lock(touch_mutex_);
  touches_.push_back(Touch{std::move(build), std::move(keys), cache});
  ++touches_added_;
  if (!toucher_.joinable()) toucher_ = std::thread([this] { TouchLoop(); });
  touch_changed_.notify_all();
}

void ActiveBuilds::TouchLoop() {
  // A batch thread does not preempt the build thread that woke it: the
  // touch waits for the CPU until the build's answer is out.
  ScopedBatchPriority batch;
  if (!batch.batch()) SPDLOG_DEBUG("build cache: the touch thread keeps the normal policy");
  std::unique_lock<std::mutex> lock(touch_mutex_);
  while (true) {
    touch_changed_.wait(lock, [this] { return stopping_ || !touches_.empty(); });
    if (touches_.empty()) return;
    Touch touch = std::move(touches_.front());
    touches_.pop_front();
    lock.unlock();
    // Losing this only ages the entries (an earlier prune by --filter
    // until): a build whose images are stored does not fail for it.
    absl::Status touched = touch.cache->Touch(touch.keys);
    if (!touched.ok()) spdlog::warn("build cache: marking entries used: {}", touched.ToString());
    touch.build.reset();
    lock.lock();
    ++touches_done_;
    touch_changed_.notify_all();
  }
}

void ActiveBuilds::WaitForTouches() {
  std::unique_lock<std::mutex> lock(touch_mutex_);
  const int64_t added = touches_added_;
  touch_changed_.wait(lock, [&] { return touches_done_ >= added; });
}

ActiveBuilds::~ActiveBuilds() {
  {
    std::lock_guard<std::mutex> lock(touch_mutex_);
    stopping_ = true;
  }
  touch_changed_.notify_all();
  if (toucher_.joinable()) toucher_.join();
}

std::optional<build::StoreGenerations> BuildService::Generations() {
  std::optional<int64_t> cache = cache_->Generation();
  if (!cache.has_value()) return std::nullopt;
  return build::StoreGenerations{store_->Generation(), *cache};
}

absl::Status BuildService::Build(const BuildParams& params, ByteSource& context, const Sink& sink,
                                 const Sink& last_sink) {
  std::unique_ptr<ActiveBuilds::Handle> running = active_.Begin(absl::ToUnixSeconds(absl::Now()));
  // --pull asks the registry each time and --no-cache runs every step:
  // neither is answered from memory. Otherwise the build's output is kept
  // until it is known whether every step came from the cache.
  const std::optional<build::StoreGenerations> before =
      params.options.no_cache || params.options.pull ? std::nullopt : Generations();
  std::vector<std::pair<std::string, bool>> written;
  const Sink recorded = [&](const std::string& bytes) {
    if (before.has_value()) written.emplace_back(bytes, false);
    return sink(bytes);
  };
  const Sink recorded_last = [&](const std::string& bytes) {
    if (before.has_value()) written.emplace_back(bytes, true);
    return last_sink(bytes);
  };
  build::BuildOutput output(recorded, params.quiet);
  if (last_sink) output.set_last_sink(recorded_last);
  const std::string dir = absl::StrCat(work_root_, "/", GenerateId().substr(0, 16));
  // A fully cached build asked before is known once the context is: its
  // entries are taken in use first, as a build's lookups make them, then the
  // stores must still be as the remembered build saw them.
  std::string memo_key;
  std::optional<build::MemoizedBuild> memoized;
  HashedContext hashed(context, [&](const std::string& digest) {
    if (!before.has_value()) return true;
    memo_key = Sha256Digest(absl::StrCat(RequestFingerprint(params), "\n", digest));
    memoized = memo_.Find(memo_key, *Generations());
    if (!memoized.has_value()) return true;
    for (const std::string& key : memoized->reused) running->Use(key);
    if (Generations() != memoized->generations) memoized.reset();
    return !memoized.has_value();
  });
  CompletedTar completed(hashed);
  // The cache entries the build reused, marked used after it answered.
  std::vector<std::string> reused;
  auto run = [&]() -> absl::Status {
    StoreBaseImages images(store_, distribution_, &configs_);
    StoreImageWriter writer(store_, content_);
    BlobLayerStore layers(store_, content_, changes_, dir + "/scratch");
    build::Builder::Dependencies deps;
    deps.images = &images;
    deps.runner = runner_;
    deps.layers = &layers;
    deps.writer = &writer;
    BuildScopedCache cache(cache_, running.get(), &reused);
    deps.cache = &cache;
    deps.now = [] {
      return absl::FormatTime("%Y-%m-%dT%H:%M:%E9SZ", absl::Now(), absl::UTCTimeZone());
    };
    deps.scratch_dir = dir + "/scratch";
    std::unique_ptr<HttpDownloader> downloader;
    if (http_ != nullptr) {
      downloader = std::make_unique<HttpDownloader>(http_);
      deps.downloader = downloader.get();
    }
    build::Builder builder(std::move(deps));
    build::BuildOptions options = params.options;
    options.cancelled = Throttled(params.options.cancelled, absl::Milliseconds(20));
    // The directories are made when needed (a big context, COPY --from, ADD
    // of a URL): a cached build of a small context touches no file here.
    // Errors before the first step are the reply itself, as in Docker.
    const std::string dockerfile_name =
        params.dockerfile.empty() ? "Dockerfile" : params.dockerfile;
    const std::string early_name = build::CleanPath(dockerfile_name);
    // The CLI sends the Dockerfile among the first entries: the build plans
    // and finds its base images while the rest of the context arrives.
    absl::StatusOr<std::unique_ptr<build::BuildContext>> tree =
        build::BuildContext::Extract(completed, dir + "/context", build::BuildContext::kMemoryLimit,
                                     [&](const std::string& name, absl::string_view content) {
                                       if (name == early_name)
                                         builder.Prepare(options, std::string(content));
                                     });
    // A hit found only now (the archive ended before its stream did) is
    // still answered from memory.
    if (tree.ok()) hashed.Finish().IgnoreError();
    if (memoized.has_value()) {
      for (const auto& [bytes, last] : memoized->output) {
        RETURN_IF_ERROR(last && last_sink ? last_sink(bytes) : sink(bytes));
      }
      reused = std::move(memoized->reused);
      return absl::OkStatus();
    }
    RETURN_IF_ERROR(tree.status());
    ASSIGN_OR_RETURN(std::string dockerfile, (*tree)->ReadDockerfile(dockerfile_name));
    absl::StatusOr<std::string> id = builder.Build(options, dockerfile, **tree, output);
    if (!id.ok()) {
      SPDLOG_DEBUG("build failed: {}", id.status().ToString());
      if (!output.started()) return id.status();
    } else if (!memo_key.empty() && builder.from_cache_only() && Generations() == before) {
      memo_.Remember(memo_key, build::MemoizedBuild{*id, std::move(written), reused, *before});
    }
    return absl::OkStatus();
  };
  absl::Status status = run();
  active_.EndAfterTouch(std::move(running), std::move(reused), cache_);
  absl::Status removed = RemoveAll(dir);
  if (!removed.ok()) spdlog::warn("removing build directory {}: {}", dir, removed.ToString());
  return status;
}

}  // namespace berth::imaged

namespace berth::imaged {
namespace {

// The step's instruction and whether it made a layer, from the image's last
// history entry.
void DescribeStep(const ImageInfo& image, BuildCacheUsage* usage) {
  absl::StatusOr<Json> config = ParseJson(image.config_json);
  if (!config.ok() || !config->contains("history") || !(*config)["history"].is_array() ||
      (*config)["history"].empty()) {
    return;
  }
  const Json& last = (*config)["history"].back();
  usage->description = last.value("created_by", std::string());
  if (!last.value("empty_layer", false) && !image.layer_sizes.empty()) {
    usage->size = image.layer_sizes.back();
  }
}

}  // namespace

absl::StatusOr<std::vector<BuildCacheUsage>> BuildCacheManager::List() {
  if (active_ != nullptr) active_->WaitForTouches();
  const int64_t oldest_build = active_ != nullptr ? active_->OldestStart() : 0;
  const std::set<std::string> keys_in_use =
      active_ != nullptr ? active_->KeysInUse() : std::set<std::string>();
  ASSIGN_OR_RETURN(std::vector<build::CacheEntry> entries, cache_->List());
  ASSIGN_OR_RETURN(std::vector<ImageInfo> images, store_->List());
  std::map<std::string, const ImageInfo*> by_id;
  for (const ImageInfo& image : images) by_id[image.id] = &image;
  std::set<std::string> shared;
  for (const ImageInfo& image : images) {
    if (image.repo_tags.empty()) continue;
    for (const ImageInfo* at = &image; at != nullptr && shared.insert(at->id).second;) {
      auto parent = by_id.find(at->parent);
      at = parent == by_id.end() ? nullptr : parent->second;
    }
  }
  std::vector<BuildCacheUsage> out;
  std::map<std::string, std::string> entry_of_image;
  for (const build::CacheEntry& entry : entries) {
    auto image = by_id.find(entry.image_id);
    if (image == by_id.end()) continue;
    BuildCacheUsage usage;
    usage.key = entry.key;
    std::string hex = absl::StartsWith(entry.key, "sha256:") ? entry.key.substr(7) : entry.key;
    usage.id = hex.substr(0, 25);
    usage.image_id = entry.image_id;
    usage.created = entry.created;
    usage.last_used = entry.last_used;
    usage.usage_count = entry.usage_count;
    usage.shared = shared.count(entry.image_id) > 0;
    usage.in_use =
        keys_in_use.count(entry.key) > 0 || (oldest_build > 0 && entry.last_used >= oldest_build);
    DescribeStep(*image->second, &usage);
    entry_of_image.emplace(entry.image_id, usage.id);
    out.push_back(std::move(usage));
  }
  for (BuildCacheUsage& usage : out) {
    auto parent = entry_of_image.find(by_id[usage.image_id]->parent);
    if (parent != entry_of_image.end()) usage.parent = parent->second;
  }
  return out;
}

absl::StatusOr<BuildCachePruneResult> BuildCacheManager::Prune(
    const BuildCachePruneOptions& options) {
  std::lock_guard<std::mutex> lock(prune_mutex_);
  if (active_ != nullptr) active_->WaitForTouches();
  ASSIGN_OR_RETURN(std::vector<build::CacheEntry> entries, cache_->List());
  ASSIGN_OR_RETURN(std::vector<BuildCacheUsage> listed, List());
  std::map<std::string, const BuildCacheUsage*> by_key;
  for (const BuildCacheUsage& usage : listed) by_key[usage.key] = &usage;
  BuildCachePruneResult result;
  std::vector<std::string> keys;
  for (const build::CacheEntry& entry : entries) {
    auto usage = by_key.find(entry.key);
    // An entry whose image is gone is a miss anyway: dropped silently.
    if (usage == by_key.end()) {
      keys.push_back(entry.key);
      continue;
    }
    if (usage->second->in_use) continue;
    if (!options.all && usage->second->shared) continue;
    if (options.until > 0 && entry.last_used >= options.until) continue;
    keys.push_back(entry.key);
    result.deleted.push_back(usage->second->id);
  }
  ASSIGN_OR_RETURN(std::vector<std::string> released, cache_->Remove(keys));
  // Leaf first: an image goes once nothing holds it, which may free its parent.
  std::set<std::string> pending(released.begin(), released.end());
  bool progress = true;
  while (progress && !pending.empty()) {
    progress = false;
    ASSIGN_OR_RETURN(std::vector<ImageInfo> images, store_->List());
    std::set<std::string> parents;
    for (const ImageInfo& image : images) parents.insert(image.parent);
    for (const ImageInfo& image : images) {
      if (!pending.count(image.id)) continue;
      if (!image.repo_tags.empty() || parents.count(image.id) ||
          options.images_in_use.count(image.id)) {
        continue;
      }
      absl::StatusOr<std::vector<DeleteItem>> removed =
          store_->Remove(image.id, /*force=*/false, options.images_in_use, /*prune=*/false);
      if (!removed.ok()) {
        spdlog::warn("build cache prune: removing image {}: {}", image.id,
                     removed.status().ToString());
        continue;
      }
      BuildCacheUsage usage;
      DescribeStep(image, &usage);
      result.reclaimed += usage.size;
      pending.erase(image.id);
      progress = true;
    }
    // Images that stay (tagged, with children, in use) are no longer pending.
    std::set<std::string> still;
    for (const ImageInfo& image : images) {
      if (pending.count(image.id)) still.insert(image.id);
    }
    if (!progress) break;
    pending.swap(still);
  }
  return result;
}

grpc::Status BuildCacheGrpcService::ListBuildCache(
    grpc::ServerContext*, const berth::image::v1::ListBuildCacheRequest*,
    berth::image::v1::ListBuildCacheResponse* response) {
  absl::StatusOr<std::vector<BuildCacheUsage>> records = manager_->List();
  if (!records.ok()) return ToGrpcStatus(records.status());
  for (const BuildCacheUsage& usage : *records) {
    berth::image::v1::BuildCacheRecord* record = response->add_records();
    record->set_id(usage.id);
    record->set_parent(usage.parent);
    record->set_image_id(usage.image_id);
    record->set_description(usage.description);
    record->set_size(usage.size);
    record->set_created(usage.created);
    record->set_last_used(usage.last_used);
    record->set_usage_count(usage.usage_count);
    record->set_shared(usage.shared);
    record->set_in_use(usage.in_use);
  }
  return grpc::Status::OK;
}

grpc::Status BuildCacheGrpcService::PruneBuildCache(
    grpc::ServerContext*, const berth::image::v1::PruneBuildCacheRequest* request,
    berth::image::v1::PruneBuildCacheResponse* response) {
  BuildCachePruneOptions options;
  options.all = request->all();
  options.until = request->until();
  options.images_in_use.insert(request->images_in_use().begin(), request->images_in_use().end());
  absl::StatusOr<BuildCachePruneResult> result = manager_->Prune(options);
  if (!result.ok()) return ToGrpcStatus(result.status());
  for (const std::string& id : result->deleted) response->add_caches_deleted(id);
  response->set_space_reclaimed(result->reclaimed);
  return grpc::Status::OK;
}

}  // namespace berth::imaged
