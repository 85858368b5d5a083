// ExecBackend and StatsBackend over gRPC to runtimed.
#pragma once

#include <grpcpp/grpcpp.h>

#include <memory>

#include "apiserver/backends/exec_backend.h"
#include "apiserver/backends/stats_backend.h"
#include "proto/runtime/v1/runtime.grpc.pb.h"

namespace berth::apiserver {

class GrpcExecBackend : public ExecBackend, public StatsBackend {
 public:
  explicit GrpcExecBackend(std::shared_ptr<grpc::Channel> channel);

  absl::StatusOr<std::string> CreateExec(const std::string& container,
                                         const std::string& config_json) override;
  std::unique_ptr<AttachSession> StartExec(const runtime::v1::StartExecOptions& options) override;
  absl::StatusOr<runtime::v1::ExecInfo> InspectExec(const std::string& id) override;
  absl::Status ResizeExec(const runtime::v1::ResizeExecRequest& request) override;
  absl::StatusOr<std::vector<std::string>> ListExecs(const std::string& container_id) override;
  absl::StatusOr<runtime::v1::ContainerStatsResponse> ContainerStats(
      const std::string& container) override;

 private:
  std::unique_ptr<runtime::v1::RuntimeService::Stub> stub_;
};

}  // namespace berth::apiserver
