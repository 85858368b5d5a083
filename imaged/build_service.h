// docker build in imaged: the context is extracted (into memory, or a
// private directory under <exec_root>/imaged/build/ when big), the
// Dockerfile read from it, and the Builder run with the adapters of
// build_adapters.h. The directory is removed afterwards, whatever happened;
// the JSON message stream goes to the caller's sink as Docker's legacy
// builder writes it.
#pragma once

#include <condition_variable>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "absl/status/status.h"
#include "common/database.h"
#include "imaged/build/builder.h"
#include "imaged/build/memo.h"
#include "imaged/build/sql_build_cache.h"
#include "imaged/build_adapters.h"
#include "imaged/byte_source.h"
#include "proto/image/v1/image.grpc.pb.h"

namespace berth::imaged {

struct BuildParams {
  build::BuildOptions options;
  // Path of the Dockerfile inside the context; "" means "Dockerfile".
  std::string dockerfile;
  bool quiet = false;
};

// The builds running now, so that a prune leaves what they use alone: an
// entry a running build has made or looked up is in use. Reused entries are
// marked used in the database only when the build ends, hence the keys here.
class ActiveBuilds {
 public:
  // Registers a build that started at `now` (unix seconds) until the handle goes.
  class Handle {
   public:
    Handle(ActiveBuilds* builds, int64_t id) : builds_(builds), id_(id) {}
    ~Handle() { builds_->End(id_); }
    Handle(const Handle&) = delete;
    Handle& operator=(const Handle&) = delete;
    // The build uses the cache entry `key` until it ends.
    void Use(const std::string& key) { builds_->Use(id_, key); }

   private:
    ActiveBuilds* builds_;
    int64_t id_;
  };
  std::unique_ptr<Handle> Begin(int64_t now);
  // The start of the oldest running build; 0 when none runs.
  int64_t OldestStart();
  // The cache entries running builds use.
  std::set<std::string> KeysInUse();

  // Ends `build` once the entries it reused (`keys`) are marked used in
  // cache, which happens on a thread of its own: that write transaction is
  // off the build's answer. Until then the build counts as running (a prune
  // leaves its entries alone). A crash loses the marks of builds that had
  // just ended: their entries only look older, none is lost.
  void EndAfterTouch(std::unique_ptr<Handle> build, std::vector<std::string> keys,
                     build::BuildCache* cache);
  // Waits until the builds ended so far have their entries marked (before
  // the cache is listed or pruned).
  void WaitForTouches();

  ActiveBuilds() = default;
  // Marks what is pending first.
  ~ActiveBuilds();
  ActiveBuilds(const ActiveBuilds&) = delete;
  ActiveBuilds& operator=(const ActiveBuilds&) = delete;

 private:
  struct Build {
    int64_t start = 0;
    std::set<std::string> keys;
  };
  void End(int64_t id);
  void Use(int64_t id, const std::string& key);
  std::mutex mutex_;
  int64_t next_id_ = 0;
  std::map<int64_t, Build> builds_;

  struct Touch {
    std::unique_ptr<Handle> build;
    std::vector<std::string> keys;
    build::BuildCache* cache;
  };
  void TouchLoop();
  std::mutex touch_mutex_;
  std::condition_variable touch_changed_;
  std::deque<Touch> touches_;
  // Touches queued and done since the start.
  int64_t touches_added_ = 0;
  int64_t touches_done_ = 0;
  bool stopping_ = false;
  std::thread toucher_;
};

class BuildService {
 public:
  // Not owned. work_root: where contexts are extracted (emptied at start).
  // distribution may be null: then missing base images are not pulled;
  // http may be null: then ADD of a URL fails.
  BuildService(ImageStore* store, ContentStore* content, Distribution* distribution,
               registry::HttpTransport* http, ContainerChangesSource* changes,
               build::StepRunner* runner, build::BuildCache* cache, std::string work_root)
      : store_(store),
        content_(content),
        distribution_(distribution),
        http_(http),
        changes_(changes),
        runner_(runner),
        cache_(cache),
        work_root_(std::move(work_root)) {}

  // Removes what a crash left in work_root. Call at start.
  absl::Status CleanUp();

  using Sink = std::function<absl::Status(const std::string& bytes)>;
  // Errors of the build itself are in the stream. The status is non-OK when
  // the stream could not be written, or for an error before anything was
  // written (an invalid context, no Dockerfile, a parse error, a bad
  // --platform): Docker replies with that as an HTTP error.
  // last_sink, when set, takes the stream's last bytes (the end of a build,
  // or its error), which the gRPC adapter sends together with the status.
  absl::Status Build(const BuildParams& params, ByteSource& context, const Sink& sink,
                     const Sink& last_sink = nullptr);

  ActiveBuilds* active() { return &active_; }
  // Fully cached builds answered again from memory (build/memo.h).
  build::BuildMemo* memo() { return &memo_; }

 private:
  // Both stores' generations; none when the cache cannot tell.
  std::optional<build::StoreGenerations> Generations();

  ImageStore* store_;
  ContentStore* content_;
  Distribution* distribution_;
  registry::HttpTransport* http_;
  ContainerChangesSource* changes_;
  build::StepRunner* runner_;
  build::BuildCache* cache_;
  std::string work_root_;
  ActiveBuilds active_;
  ImageConfigCache configs_;
  build::BuildMemo memo_;
};

// One build cache entry as `docker system df -v` shows it.
struct BuildCacheUsage {
  std::string key;
  // Docker-style: 25 characters of the key.
  std::string id;
  // The entry of the step before, when it is in the cache.
  std::string parent;
  std::string image_id;
  // The step's history created_by.
  std::string description;
  // The step's own layer (0 for a metadata-only step).
  int64_t size = 0;
  int64_t created = 0;
  int64_t last_used = 0;
  int64_t usage_count = 0;
  // The image is a tagged image or one of its parents: removing the entry
  // frees nothing.
  bool shared = false;
  // A running build made or reused it: prune leaves it.
  bool in_use = false;
};

struct BuildCachePruneOptions {
  // Every entry, not only those no tagged image shares (docker builder prune -a).
  bool all = false;
  // Unix seconds: only entries last used before then; 0 = no bound.
  int64_t until = 0;
  // Images containers use stay, as they do with docker rmi.
  std::set<std::string> images_in_use;
};

struct BuildCachePruneResult {
  std::vector<std::string> deleted;
  int64_t reclaimed = 0;
};

// The build cache as `docker system df` and `docker builder prune` see it.
// An entry names a step's image; pruning removes entries, then the images
// no entry, tag, child image or container holds any more (a chain of them
// from the leaf up), so the space of an abandoned build comes back.
class BuildCacheManager {
 public:
  // Not owned. active: the builds running, whose entries are in use (may be null).
  BuildCacheManager(ImageStore* store, build::SqlBuildCache* cache, ActiveBuilds* active = nullptr)
      : store_(store), cache_(cache), active_(active) {}

  // Entries whose image is gone (removed with docker rmi) are left out.
  absl::StatusOr<std::vector<BuildCacheUsage>> List();
  absl::StatusOr<BuildCachePruneResult> Prune(const BuildCachePruneOptions& options);

 private:
  ImageStore* store_;
  build::SqlBuildCache* cache_;
  ActiveBuilds* active_;
  // One prune at a time: two would race deleting the same images.
  std::mutex prune_mutex_;
};

// berth.image.v1.BuildCacheService over a BuildCacheManager.
class BuildCacheGrpcService final : public berth::image::v1::BuildCacheService::Service {
 public:
  explicit BuildCacheGrpcService(BuildCacheManager* manager) : manager_(manager) {}
  grpc::Status ListBuildCache(grpc::ServerContext* context,
                              const berth::image::v1::ListBuildCacheRequest* request,
                              berth::image::v1::ListBuildCacheResponse* response) override;
  grpc::Status PruneBuildCache(grpc::ServerContext* context,
                               const berth::image::v1::PruneBuildCacheRequest* request,
                               berth::image::v1::PruneBuildCacheResponse* response) override;

 private:
  BuildCacheManager* manager_;
};

}  // namespace berth::imaged
