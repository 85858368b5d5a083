#include "apiserver/backends/grpc_exec.h"

#include <chrono>
#include <mutex>

#include "apiserver/backends/grpc_streams.h"
#include "common/grpc_status.h"

namespace berth::apiserver {

namespace rt = ::berth::runtime::v1;

namespace {

constexpr char kRuntimed[] = "runtimed";

void SetDeadline(grpc::ClientContext* context) {
  context->set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(60));
}

}  // namespace

GrpcExecBackend::GrpcExecBackend(std::shared_ptr<grpc::Channel> channel)
    : stub_(rt::RuntimeService::NewStub(channel)) {}

absl::StatusOr<std::string> GrpcExecBackend::CreateExec(const std::string& container,
                                                        const std::string& config_json) {
  grpc::ClientContext context;
  SetDeadline(&context);
  rt::CreateExecRequest request;
  request.set_container_id(container);
  request.set_config_json(config_json);
  rt::CreateExecResponse response;
  absl::Status status =
      FromSiblingStatus(stub_->CreateExec(&context, request, &response), kRuntimed);
  if (!status.ok()) return status;
  return response.id();
}

std::unique_ptr<AttachSession> GrpcExecBackend::StartExec(const rt::StartExecOptions& options) {
  rt::StartExecRequest first;
  *first.mutable_options() = options;
  return std::make_unique<GrpcStdinSession<rt::StartExecRequest, rt::AttachResponse>>(
      kRuntimed, [&](grpc::ClientContext* context) { return stub_->StartExec(context); }, first);
}

absl::StatusOr<rt::ExecInfo> GrpcExecBackend::InspectExec(const std::string& id) {
  grpc::ClientContext context;
  SetDeadline(&context);
  rt::InspectExecRequest request;
  request.set_id(id);
  rt::InspectExecResponse response;
  absl::Status status =
      FromSiblingStatus(stub_->InspectExec(&context, request, &response), kRuntimed);
  if (!status.ok()) return status;
  return response.exec();
}

absl::Status GrpcExecBackend::ResizeExec(const rt::ResizeExecRequest& request) {
  grpc::ClientContext context;
  SetDeadline(&context);
  rt::ResizeExecResponse response;
  return FromSiblingStatus(stub_->ResizeExec(&context, request, &response), kRuntimed);
}

absl::StatusOr<std::vector<std::string>> GrpcExecBackend::ListExecs(
    const std::string& container_id) {
  grpc::ClientContext context;
  SetDeadline(&context);
  rt::ListExecsRequest request;
  request.set_container_id(container_id);
  rt::ListExecsResponse response;
  absl::Status status =
      FromSiblingStatus(stub_->ListExecs(&context, request, &response), kRuntimed);
  if (!status.ok()) return status;
  return std::vector<std::string>(response.ids().begin(), response.ids().end());
}

absl::StatusOr<rt::ContainerStatsResponse> GrpcExecBackend::ContainerStats(
    const std::string& container) {
  grpc::ClientContext context;
  SetDeadline(&context);
  rt::ContainerStatsRequest request;
  request.set_id(container);
  rt::ContainerStatsResponse response;
  absl::Status status =
      FromSiblingStatus(stub_->ContainerStats(&context, request, &response), kRuntimed);
  if (!status.ok()) return status;
  return response;
}

}  // namespace berth::apiserver
