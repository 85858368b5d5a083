// The exec RPCs of RuntimeServiceImpl over ExecManager: messages and
// ToGrpcStatus only.

#include "common/grpc_status.h"
#include "runtimed/daemon/duplex_relay.h"
#include "runtimed/daemon/service.h"

namespace berth::runtimed {

using namespace runtime::v1;  // NOLINT: the adapter speaks only this package.

namespace {

grpc::Status NoExec() {
  return grpc::Status(grpc::StatusCode::UNIMPLEMENTED, "exec is not configured");
}

}  // namespace

grpc::Status RuntimeServiceImpl::CreateExec(grpc::ServerContext*, const CreateExecRequest* request,
                                            CreateExecResponse* response) {
  if (execs_ == nullptr) return NoExec();
  auto id = execs_->Create(request->container_id(), request->config_json());
  if (!id.ok()) return ToGrpcStatus(id.status());
  response->set_id(*id);
  return grpc::Status::OK;
}

grpc::Status RuntimeServiceImpl::StartExec(
    grpc::ServerContext* context,
    grpc::ServerReaderWriter<AttachResponse, StartExecRequest>* stream) {
  if (execs_ == nullptr) return NoExec();
  StartExecRequest first;
  if (!stream->Read(&first) || !first.has_options()) {
    return grpc::Status(grpc::StatusCode::INVALID_ARGUMENT,
                        "the first exec start message must carry the options");
  }
  auto started = execs_->Start(first.options().id(), first.options().detach(),
                               first.options().console_height(), first.options().console_width());
  if (!started.ok()) return ToGrpcStatus(started.status());
  std::shared_ptr<ExecSession> session = *std::move(started);
  AttachResponse registered;
  registered.mutable_registered();
  stream->Write(registered);
  if (first.options().detach()) return grpc::Status::OK;

  DuplexTarget target;
  target.write_stdin = [&](const std::string& data) { (void)session->WriteStdin(data); };
  target.close_stdin = [&] { (void)session->CloseStdin(); };
  target.cancel = [&] { session->Cancel(); };
  target.read = [&] { return session->Read(); };
  target.close_stdin_when_client_ends = true;
  RelayDuplex(context, stream, target);
  return grpc::Status::OK;
}

grpc::Status RuntimeServiceImpl::InspectExec(grpc::ServerContext*,
                                             const InspectExecRequest* request,
                                             InspectExecResponse* response) {
  if (execs_ == nullptr) return NoExec();
  auto info = execs_->Inspect(request->id());
  if (!info.ok()) return ToGrpcStatus(info.status());
  *response->mutable_exec() = *std::move(info);
  return grpc::Status::OK;
}

grpc::Status RuntimeServiceImpl::ResizeExec(grpc::ServerContext*, const ResizeExecRequest* request,
                                            ResizeExecResponse*) {
  if (execs_ == nullptr) return NoExec();
  return ToGrpcStatus(execs_->Resize(request->id(), request->height(), request->width()));
}

grpc::Status RuntimeServiceImpl::ListExecs(grpc::ServerContext*, const ListExecsRequest* request,
                                           ListExecsResponse* response) {
  if (execs_ == nullptr) return NoExec();
  for (std::string& id : execs_->List(request->container_id())) response->add_ids(std::move(id));
  return grpc::Status::OK;
}

grpc::Status RuntimeServiceImpl::ContainerStats(grpc::ServerContext*,
                                                const ContainerStatsRequest* request,
                                                ContainerStatsResponse* response) {
  if (stats_ == nullptr) {
    return grpc::Status(grpc::StatusCode::UNIMPLEMENTED, "stats are not configured");
  }
  auto sample = stats_->Read(request->id());
  if (!sample.ok()) return ToGrpcStatus(sample.status());
  *response = *std::move(sample);
  return grpc::Status::OK;
}

}  // namespace berth::runtimed
