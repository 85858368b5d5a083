// docker build in imaged: the context is extracted into a private directory
// under <exec_root>/imaged/build/, the Dockerfile read from it, and the
// Builder run with the adapters of build_adapters.h. The directory is
// removed afterwards, whatever happened; the JSON message stream goes to
// the caller's sink as Docker's legacy builder writes it.
#pragma once

#include <functional>
#include <string>

#include "absl/status/status.h"
#include "common/database.h"
#include "imaged/build/builder.h"
#include "imaged/build/sql_build_cache.h"
#include "imaged/build_adapters.h"
#include "imaged/byte_source.h"

namespace berth::imaged {

struct BuildParams {
  build::BuildOptions options;
  // Path of the Dockerfile inside the context; "" means "Dockerfile".
  std::string dockerfile;
  bool quiet = false;
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
  // Errors of the build itself are in the stream; the status is non-OK only
  // when the stream could not be written.
  absl::Status Build(const BuildParams& params, ByteSource& context, const Sink& sink);

 private:
  ImageStore* store_;
  ContentStore* content_;
  Distribution* distribution_;
  registry::HttpTransport* http_;
  ContainerChangesSource* changes_;
  build::StepRunner* runner_;
  build::BuildCache* cache_;
  std::string work_root_;
};

}  // namespace berth::imaged
