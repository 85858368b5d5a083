#include "apiserver/backends/grpc_exec.h"

#include <chrono>
#include <mutex>

#include "common/grpc_status.h"

namespace berth::apiserver {

namespace rt = ::berth::runtime::v1;

namespace {

constexpr char kRuntimed[] = "runtimed";

void SetDeadline(grpc::ClientContext* context) {
  context->set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(60));
}

// StartExec's stream, used like an attach: one writer at a time, nothing
// after WritesDone.
class GrpcExecSession : public AttachSession {
 public:
  GrpcExecSession(rt::RuntimeService::Stub* stub, const rt::StartExecOptions& options) {
    stream_ = stub->StartExec(&context_);
    rt::StartExecRequest request;
    *request.mutable_options() = options;
    // A failed first write shows up as the end of the stream in Read.
    stream_->Write(request);
  }
  bool Read(rt::AttachResponse* event) override { return stream_->Read(event); }
  bool WriteStdin(const std::string& data) override {
    std::lock_guard<std::mutex> lock(write_mutex_);
    if (writes_done_) return false;
    rt::StartExecRequest request;
    request.set_stdin(data);
    return stream_->Write(request);
  }
  bool CloseStdin() override {
    std::lock_guard<std::mutex> lock(write_mutex_);
    if (writes_done_) return true;
    writes_done_ = true;
    rt::StartExecRequest request;
    request.set_close_stdin(true);
    bool ok = stream_->Write(request);
    stream_->WritesDone();
    return ok;
  }
  absl::Status Finish() override { return FromSiblingStatus(stream_->Finish(), kRuntimed); }
  void Cancel() override { context_.TryCancel(); }

 private:
  grpc::ClientContext context_;
  std::unique_ptr<grpc::ClientReaderWriter<rt::StartExecRequest, rt::AttachResponse>> stream_;
  std::mutex write_mutex_;
  bool writes_done_ = false;
};

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
  return std::make_unique<GrpcExecSession>(stub_.get(), options);
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
