#include "apiserver/backends/grpc_exec.h"

#include <chrono>
#include <mutex>

#include "apiserver/backends/grpc_streams.h"
#include "common/grpc_status.h"
#include "common/status.h"

namespace berth::apiserver {

namespace rt = ::berth::runtime::v1;

namespace {

constexpr char kRuntimed[] = "runtimed";
constexpr auto kDeadline = std::chrono::seconds(60);

}  // namespace

GrpcExecBackend::GrpcExecBackend(std::shared_ptr<grpc::Channel> channel)
    : stub_(rt::RuntimeService::NewStub(channel)) {}

absl::StatusOr<std::string> GrpcExecBackend::CreateExec(const std::string& container,
                                                        const std::string& config_json) {
  rt::CreateExecRequest request;
  request.set_container_id(container);
  request.set_config_json(config_json);
  ASSIGN_OR_RETURN(
      rt::CreateExecResponse response,
      UnaryCall(stub_.get(), &rt::RuntimeService::Stub::CreateExec, request, kDeadline, kRuntimed));
  return response.id();
}

std::unique_ptr<AttachSession> GrpcExecBackend::StartExec(const rt::StartExecOptions& options) {
  rt::StartExecRequest first;
  *first.mutable_options() = options;
  return std::make_unique<GrpcStdinSession<rt::StartExecRequest, rt::AttachResponse>>(
      kRuntimed, [&](grpc::ClientContext* context) { return stub_->StartExec(context); }, first);
}

absl::StatusOr<rt::ExecInfo> GrpcExecBackend::InspectExec(const std::string& id) {
  rt::InspectExecRequest request;
  request.set_id(id);
  ASSIGN_OR_RETURN(rt::InspectExecResponse response,
                   UnaryCall(stub_.get(), &rt::RuntimeService::Stub::InspectExec, request,
                             kDeadline, kRuntimed));
  return response.exec();
}

absl::Status GrpcExecBackend::ResizeExec(const rt::ResizeExecRequest& request) {
  return UnaryCall(stub_.get(), &rt::RuntimeService::Stub::ResizeExec, request, kDeadline,
                   kRuntimed)
      .status();
}

absl::StatusOr<std::vector<std::string>> GrpcExecBackend::ListExecs(
    const std::string& container_id) {
  rt::ListExecsRequest request;
  request.set_container_id(container_id);
  ASSIGN_OR_RETURN(
      rt::ListExecsResponse response,
      UnaryCall(stub_.get(), &rt::RuntimeService::Stub::ListExecs, request, kDeadline, kRuntimed));
  return std::vector<std::string>(response.ids().begin(), response.ids().end());
}

absl::StatusOr<rt::ContainerStatsResponse> GrpcExecBackend::ContainerStats(
    const std::string& container) {
  rt::ContainerStatsRequest request;
  request.set_id(container);
  return UnaryCall(stub_.get(), &rt::RuntimeService::Stub::ContainerStats, request, kDeadline,
                   kRuntimed);
}

}  // namespace berth::apiserver
