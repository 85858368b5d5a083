// What docker commit and docker build need from imaged beyond ImageBackend.
#pragma once

#include <string>

#include "absl/status/statusor.h"
#include "proto/image/v1/image.pb.h"

namespace berth::apiserver {

class BuildBackend {
 public:
  virtual ~BuildBackend() = default;
  // Returns the new image's ID.
  virtual absl::StatusOr<std::string> CommitContainer(
      const image::v1::CommitContainerRequest& request) = 0;
};

}  // namespace berth::apiserver
