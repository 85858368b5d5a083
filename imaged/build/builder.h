// The Builder drives a build the way Docker's legacy builder does: global
// ARGs, then each stage in order (FROM, the base image's ONBUILD triggers,
// every instruction), each step either reused from the cache ("Using cache")
// or performed through the executor interfaces and committed as an image
// whose history entry Docker would have written; then the unused build-arg
// warning, "Successfully built", and the tags. Containers it makes are
// removed, failed or not, so a failed build leaves no container behind;
// images of the steps that succeeded stay, as the cache.
#pragma once

#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "imaged/build/build_args.h"
#include "imaged/build/executor.h"
#include "imaged/build/output.h"
#include "imaged/build/plan.h"

namespace berth::imaged::build {

// A field that changes a build's image or output belongs in imaged's
// RequestFingerprint too (build_service.cc): builds are remembered by it.
struct BuildOptions {
  // Tags to apply, as the user wrote them ("app:1"), printed as written.
  std::vector<std::string> tags;
  BuildArgValues build_args;
  std::map<std::string, std::string> labels;
  std::string target;
  bool no_cache = false;
  bool pull = false;
  // "os/arch[/variant]"; the host's when empty.
  std::string platform;
  // --cache-from: images whose history may stand for a step (as the legacy
  // builder uses them: a step matches when the image's history up to the
  // parent is the parent's and its next entry is the step). With any, a
  // local cache hit counts only when it is part of one of them. Missing ones
  // are skipped.
  std::vector<std::string> cache_from;
  // For RUN containers: NetworkMode, ExtraHosts, Memory, CpuShares... as a
  // Docker HostConfig.
  Json host_config = Json::object();
  // --rm=false: RUN containers are left behind (with their changes) unless
  // force_rm (--force-rm). berth removes a failed step's container also
  // without --force-rm, so that a failed build leaves nothing behind.
  bool keep_containers = false;
  bool force_rm = false;
  // Polled between steps: true once the client went away ("Build cancelled").
  std::function<bool()> cancelled;
};

class Builder {
 public:
  struct Dependencies {
    BaseImages* images = nullptr;
    StepRunner* runner = nullptr;
    LayerStore* layers = nullptr;
    ImageWriter* writer = nullptr;
    BuildCache* cache = nullptr;
    // RFC 3339 time for "created".
    std::function<std::string()> now;
    // ADD's URLs; without one such an ADD fails.
    Downloader* downloader = nullptr;
    // A private directory for downloads during the build (emptied by the
    // caller afterwards).
    std::string scratch_dir;
  };

  explicit Builder(Dependencies dependencies) : deps_(std::move(dependencies)) {}

  // Builds and returns the image ID. Progress and, on failure, the error
  // message (with a failed RUN's exit code) are written to output; an error
  // before any output (a Dockerfile that does not parse, a bad --platform) is
  // only returned, for the caller to reply with as Docker does.
  absl::StatusOr<std::string> Build(const BuildOptions& options, const std::string& dockerfile,
                                    const SourceTree& context, BuildOutput& output);

  // Called as soon as the Dockerfile has arrived, while the rest of the
  // context may still be uploading: plans it and hints the stages' base
  // images to deps.images (BaseImages::Prefetch), so that a Build of the same
  // text with the same options starts from there. A cached build's FROM and
  // planning then overlap the upload. Errors are left for Build to report.
  void Prepare(const BuildOptions& options, const std::string& dockerfile);

  // Whether the last Build succeeded with every step from the cache:
  // nothing run, copied, downloaded or restored from --cache-from.
  bool from_cache_only() const { return from_cache_only_; }

 private:
  struct Prepared {
    std::string dockerfile;
    PlanOptions plan_options;
    BuildPlan plan;
  };

  Dependencies deps_;
  std::unique_ptr<Prepared> prepared_;
  bool from_cache_only_ = false;
};

// The image a step makes: parent's config with the stage's container config,
// one more history entry and, unless the layer is empty, one more diff ID.
Json ChildImage(const ImageRecord& parent, const Json& container_config, const std::string& author,
                const std::string& created_by, const Layer& layer, const std::string& created,
                const std::string& platform);

}  // namespace berth::imaged::build
