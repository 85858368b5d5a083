// What the Builder needs from the rest of berth, as small interfaces: the
// lead wires them to imaged (images, tags, the cache table), runtimed (RUN
// containers) and stored (layers). Tests use in-memory fakes.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "common/json.h"
#include "imaged/build/context.h"
#include "imaged/build/copy.h"

namespace berth::imaged::build {

// An image a build starts from, copies from or made.
struct ImageRecord {
  // "sha256:<hex>"; empty for scratch.
  std::string id;
  // The whole image config: architecture, os, config, rootfs, history...
  Json config = Json::object();
};

// A committed filesystem change.
struct Layer {
  // "sha256:<hex>" of the uncompressed tar; empty when nothing changed, so
  // the step is an empty_layer in the history.
  std::string diff_id;
  int64_t size = 0;
};

using LineFn = std::function<void(const std::string& text)>;

// Resolves FROM and COPY --from image references ("busybox", "x:1",
// "sha256:<hex>", an ID prefix).
class BaseImages {
 public:
  virtual ~BaseImages() = default;
  // Pulls when the image is missing, or always when pull is set (--pull);
  // progress lines go to progress. NotFound "No such image: <reference>".
  virtual absl::StatusOr<ImageRecord> Resolve(const std::string& reference,
                                              const std::string& platform, bool pull,
                                              const LineFn& progress) = 0;
  // Resolve may answer for an image ID from what it knew of the image,
  // without reading its record (a cached build resolves one image per
  // step). Before the build builds on an image or returns it, Confirm makes
  // sure the image is still stored: NotFound when it is not. An image with
  // children is never removed, so confirming one confirms its parents.
  virtual absl::Status Confirm(const std::string& /*image_id*/) { return absl::OkStatus(); }
  // A hint, given while the context is still arriving, that
  // Resolve(reference, platform, pull=false) follows: a stored image may be
  // looked up now, off the build's critical path, and Resolve answered from
  // that. Never pulls; a miss is left for Resolve.
  virtual void Prefetch(const std::string& /*reference*/, const std::string& /*platform*/) {}
};

// Runs RUN steps in containers (runtimed).
class StepRunner {
 public:
  struct Request {
    // The image the container runs on.
    ImageRecord image;
    // The container's config: Cmd is the command, Env has the build args,
    // Entrypoint is empty, WorkingDir and User as the stage set them.
    Json config = Json::object();
    // --network, --add-host, --memory, --cpu-*... as a Docker HostConfig.
    Json host_config = Json::object();
    // True once the client went away: Run stops waiting (the container is
    // then removed, which kills it).
    std::function<bool()> cancelled;
    // --rm=false: the container stays after the build, as an ordinary one
    // (not marked as a build step, which a restarted imaged would remove).
    bool keep = false;
  };
  virtual ~StepRunner() = default;
  // Returns the new container's ID.
  virtual absl::StatusOr<std::string> Create(const Request& request) = 0;
  // Starts it, streams its output, waits; returns the exit code.
  virtual absl::StatusOr<int> Run(const std::string& container_id, const LineFn& output) = 0;
  virtual absl::Status Remove(const std::string& container_id) = 0;
};

// Makes layers (stored).
class LayerStore {
 public:
  virtual ~LayerStore() = default;
  // The filesystem change of a finished RUN container.
  virtual absl::StatusOr<Layer> CommitContainer(const std::string& container_id) = 0;
  // A layer with what plan writes, on parent's layers; --chown names are
  // resolved against parent's /etc/passwd and /etc/group.
  virtual absl::StatusOr<Layer> CommitCopy(const ImageRecord& parent, const CopyPlan& plan,
                                           const SourceTree& source) = 0;
  // WORKDIR: the directory made on parent's layers (empty when it exists),
  // owned by user as Docker does.
  virtual absl::StatusOr<Layer> CommitWorkdir(const ImageRecord& parent, const std::string& dir,
                                              const std::string& user) = 0;
  // Whether path is a directory in image (COPY's destination rule).
  virtual absl::StatusOr<bool> IsDirectory(const ImageRecord& image, const std::string& path) = 0;
  // An image's files, for COPY --from.
  virtual absl::StatusOr<std::unique_ptr<SourceTree>> OpenImage(const ImageRecord& image) = 0;
};

// Stores images and tags (imaged).
class ImageWriter {
 public:
  virtual ~ImageWriter() = default;
  // Stores an image config whose layers exist; returns its ID. parent_id:
  // the image of the step before ("" for a step on scratch), recorded as
  // the image's Parent as Docker's builder does.
  virtual absl::StatusOr<std::string> Write(const Json& image_config,
                                            const std::string& parent_id) = 0;
  virtual absl::Status Tag(const std::string& image_id, const std::string& reference) = 0;
};

// Fetches ADD's http(s) sources (imaged, over HTTP).
class Downloader {
 public:
  virtual ~Downloader() = default;
  // Writes the body of url to the file path (its directory exists).
  virtual absl::Status Fetch(const std::string& url, const std::string& path,
                             const LineFn& progress) = 0;
};

// Cache key -> image ID, persistent (imaged's DB) so it survives restarts;
// pruned by `docker builder prune`.
class BuildCache {
 public:
  virtual ~BuildCache() = default;
  // The entry's image; finding it does not mark it used (Touch does).
  virtual absl::StatusOr<std::optional<std::string>> Lookup(const std::string& key) = 0;
  virtual absl::Status Record(const std::string& key, const std::string& image_id) = 0;
  // Marks the entries a build reused as used, all of them at once when the
  // build ends: a fully cached build then writes to the cache once, not once
  // per step.
  virtual absl::Status Touch(const std::vector<std::string>& keys) = 0;
  // Changes whenever an entry is recorded or removed (not when touched):
  // while it stays the same, every lookup answers as before. None when the
  // cache cannot tell; then no build is replayed from memory.
  virtual std::optional<int64_t> Generation() { return std::nullopt; }
};

}  // namespace berth::imaged::build
