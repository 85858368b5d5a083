// runtimed's exec calls as the exec handlers need them.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "apiserver/backends/backends.h"
#include "proto/runtime/v1/runtime.pb.h"

namespace berth::apiserver {

class ExecBackend {
 public:
  virtual ~ExecBackend() = default;
  // config_json: Docker's ExecConfig as the client sent it. Returns the ID.
  virtual absl::StatusOr<std::string> CreateExec(const std::string& container,
                                                 const std::string& config_json) = 0;
  // The stream answers `registered` once the process runs (or ends with the
  // error that kept it from starting), then output, then `ended`.
  virtual std::unique_ptr<AttachSession> StartExec(
      const runtime::v1::StartExecOptions& options) = 0;
  virtual absl::StatusOr<runtime::v1::ExecInfo> InspectExec(const std::string& id) = 0;
  virtual absl::Status ResizeExec(const runtime::v1::ResizeExecRequest& request) = 0;
  virtual absl::StatusOr<std::vector<std::string>> ListExecs(const std::string& container_id) = 0;
};

}  // namespace berth::apiserver
