// What docker commit and docker build need from imaged beyond ImageBackend.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "proto/image/v1/image.pb.h"

namespace berth::apiserver {

// One build: the context goes up in chunks, then the JSON lines come back.
class BuildSession {
 public:
  virtual ~BuildSession() = default;
  virtual bool Write(const std::string& chunk) = 0;
  virtual void WritesDone() = 0;
  // The context's last chunk and its end, in one message: imaged reads the
  // end with the data instead of waiting for another.
  virtual bool WriteLast(const std::string& chunk) {
    const bool written = Write(chunk);
    WritesDone();
    return written;
  }
  // Docker's JSON messages as imaged encoded them; false at the end.
  virtual bool Read(std::string* json_lines) = 0;
  virtual absl::Status Finish() = 0;
  // From any thread: aborts the build (the client went away).
  virtual void Cancel() = 0;
};

class BuildBackend {
 public:
  virtual ~BuildBackend() = default;
  // Returns the new image's ID.
  virtual absl::StatusOr<std::string> CommitContainer(
      const image::v1::CommitContainerRequest& request) = 0;
  virtual absl::StatusOr<std::unique_ptr<BuildSession>> Build(
      const image::v1::BuildParameters& parameters) = 0;
  // The build cache (docker system df, docker builder prune).
  virtual absl::StatusOr<std::vector<image::v1::BuildCacheRecord>> ListBuildCache() = 0;
  virtual absl::StatusOr<image::v1::PruneBuildCacheResponse> PruneBuildCache(
      const image::v1::PruneBuildCacheRequest& request) = 0;
};

}  // namespace berth::apiserver
