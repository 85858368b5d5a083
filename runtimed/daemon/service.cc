#include "runtimed/daemon/service.h"

#include "common/grpc_status.h"
#include "runtimed/daemon/duplex_relay.h"

namespace berth::runtimed {

using namespace runtime::v1;  // NOLINT: the adapter speaks only this package.

namespace {

std::optional<int> Timeout(bool has, int value) {
  return has ? std::optional<int>(value) : std::nullopt;
}

StdStream ToStdStream(int stream) { return stream == 2 ? STDERR : STDOUT; }

}  // namespace

grpc::Status RuntimeServiceImpl::CreateContainer(grpc::ServerContext*,
                                                 const CreateContainerRequest* request,
                                                 CreateContainerResponse* response) {
  auto result = manager_->Create(*request);
  if (!result.ok()) return ToGrpcStatus(result.status());
  *response = *std::move(result);
  return grpc::Status::OK;
}

grpc::Status RuntimeServiceImpl::StartContainer(grpc::ServerContext*,
                                                const StartContainerRequest* request,
                                                StartContainerResponse* response) {
  auto result = manager_->Start(request->id());
  if (!result.ok()) return ToGrpcStatus(result.status());
  response->set_already_running(*result);
  return grpc::Status::OK;
}

grpc::Status RuntimeServiceImpl::StopContainer(grpc::ServerContext*,
                                               const StopContainerRequest* request,
                                               StopContainerResponse* response) {
  auto result = manager_->Stop(request->id(), Timeout(request->has_timeout(), request->timeout()),
                               request->signal());
  if (!result.ok()) return ToGrpcStatus(result.status());
  response->set_already_stopped(*result);
  return grpc::Status::OK;
}

grpc::Status RuntimeServiceImpl::RestartContainer(grpc::ServerContext*,
                                                  const RestartContainerRequest* request,
                                                  RestartContainerResponse*) {
  return ToGrpcStatus(manager_->Restart(
      request->id(), Timeout(request->has_timeout(), request->timeout()), request->signal()));
}

grpc::Status RuntimeServiceImpl::KillContainer(grpc::ServerContext*,
                                               const KillContainerRequest* request,
                                               KillContainerResponse*) {
  return ToGrpcStatus(manager_->Kill(request->id(), request->signal()));
}

grpc::Status RuntimeServiceImpl::RemoveContainer(grpc::ServerContext*,
                                                 const RemoveContainerRequest* request,
                                                 RemoveContainerResponse*) {
  return ToGrpcStatus(manager_->Remove(request->id(), request->force(), request->remove_volumes()));
}

grpc::Status RuntimeServiceImpl::GetContainer(grpc::ServerContext*,
                                              const GetContainerRequest* request,
                                              GetContainerResponse* response) {
  auto result = manager_->Get(request->id());
  if (!result.ok()) return ToGrpcStatus(result.status());
  *response->mutable_container() = *std::move(result);
  return grpc::Status::OK;
}

grpc::Status RuntimeServiceImpl::ListContainers(grpc::ServerContext*,
                                                const ListContainersRequest* request,
                                                ListContainersResponse* response) {
  for (Container& c : manager_->List(request->all())) {
    *response->add_containers() = std::move(c);
  }
  return grpc::Status::OK;
}

grpc::Status RuntimeServiceImpl::WaitContainer(grpc::ServerContext* context,
                                               const WaitContainerRequest* request,
                                               grpc::ServerWriter<WaitContainerResponse>* writer) {
  auto result = manager_->Wait(
      request->id(), request->condition(),
      [&] {
        WaitContainerResponse registered;
        registered.mutable_registered();
        writer->Write(registered);
      },
      [&] { return context->IsCancelled(); });
  if (!result.ok()) return ToGrpcStatus(result.status());
  WaitContainerResponse response;
  *response.mutable_result() = *std::move(result);
  writer->Write(response);
  return grpc::Status::OK;
}

grpc::Status RuntimeServiceImpl::Attach(
    grpc::ServerContext* context, grpc::ServerReaderWriter<AttachResponse, AttachRequest>* stream) {
  AttachRequest first;
  if (!stream->Read(&first) || !first.has_options()) {
    return grpc::Status(grpc::StatusCode::INVALID_ARGUMENT,
                        "the first attach message must carry the options");
  }
  const AttachOptions& options = first.options();
  std::shared_ptr<Attachment> attachment;
  if (options.stream()) {
    auto result =
        manager_->Attach(options.id(), {options.stdin(), options.stdout(), options.stderr()});
    if (!result.ok()) return ToGrpcStatus(result.status());
    attachment = *std::move(result);
  }
  LogFormat log_format = LogFormat::kJsonFile;
  auto log_path = manager_->LogPath(options.id(), &log_format);
  if (!log_path.ok()) return ToGrpcStatus(log_path.status());

  AttachResponse registered;
  registered.mutable_registered();
  stream->Write(registered);

  if (options.logs() && !log_path->empty()) {
    LogReadOptions log_options;
    log_options.format = log_format;
    log_options.stdout = options.stdout();
    log_options.stderr = options.stderr();
    absl::Status status = ReadLogs(*log_path, log_options, {[&](const LogRecord& record) {
      AttachResponse response;
      response.mutable_output()->set_stream(ToStdStream(record.stream));
      response.mutable_output()->set_data(record.data);
      return stream->Write(response);
    }});
    if (!status.ok()) return ToGrpcStatus(status);
  }
  if (!attachment) return grpc::Status::OK;

  DuplexTarget target;
  target.write_stdin = [&](const std::string& data) { (void)attachment->WriteStdin(data); };
  target.close_stdin = [&] { (void)attachment->CloseStdin(); };
  target.cancel = [&] { attachment->Cancel(); };
  target.read = [&]() -> std::optional<shim::v1::Output> {
    auto chunk = attachment->Read();
    if (!chunk.ok()) return std::nullopt;
    return *std::move(chunk);
  };
  target.forward_stdin = options.stdin();
  RelayDuplex(context, stream, target);
  return grpc::Status::OK;
}

grpc::Status RuntimeServiceImpl::Logs(grpc::ServerContext* context, const LogsRequest* request,
                                      grpc::ServerWriter<LogEntry>* writer) {
  LogReadOptions options;
  options.stdout = request->stdout();
  options.stderr = request->stderr();
  options.since = request->since();
  options.until = request->until();
  options.tail = request->tail();
  options.follow = request->follow();
  absl::Status status = manager_->Logs(
      request->id(), options,
      [&](const LogRecord& record) {
        LogEntry entry;
        entry.set_stream(ToStdStream(record.stream));
        entry.set_data(record.data);
        entry.set_time_nano(record.time_nano);
        return writer->Write(entry);
      },
      [&] { return context->IsCancelled(); });
  return ToGrpcStatus(status);
}

grpc::Status RuntimeServiceImpl::ResizeTty(grpc::ServerContext*, const ResizeTtyRequest* request,
                                           ResizeTtyResponse*) {
  return ToGrpcStatus(manager_->ResizeTty(request->id(), request->height(), request->width()));
}

grpc::Status RuntimeServiceImpl::ConnectNetwork(grpc::ServerContext*,
                                                const ConnectNetworkRequest* request,
                                                ConnectNetworkResponse*) {
  return ToGrpcStatus(
      manager_->ConnectNetwork(request->id(), request->network(), request->endpoint_config_json()));
}

grpc::Status RuntimeServiceImpl::DisconnectNetwork(grpc::ServerContext*,
                                                   const DisconnectNetworkRequest* request,
                                                   DisconnectNetworkResponse*) {
  return ToGrpcStatus(manager_->DisconnectNetwork(request->id(), request->network()));
}

grpc::Status RuntimeServiceImpl::UpdateContainer(grpc::ServerContext*,
                                                 const UpdateContainerRequest* request,
                                                 UpdateContainerResponse* response) {
  absl::StatusOr<std::vector<std::string>> warnings =
      manager_->Update(request->id(), request->update_json());
  if (!warnings.ok()) return ToGrpcStatus(warnings.status());
  for (const std::string& warning : *warnings) response->add_warnings(warning);
  return grpc::Status::OK;
}

grpc::Status RuntimeServiceImpl::PauseContainer(grpc::ServerContext*,
                                                const PauseContainerRequest* request,
                                                PauseContainerResponse*) {
  return ToGrpcStatus(manager_->Pause(request->id()));
}

grpc::Status RuntimeServiceImpl::UnpauseContainer(grpc::ServerContext*,
                                                  const UnpauseContainerRequest* request,
                                                  UnpauseContainerResponse*) {
  return ToGrpcStatus(manager_->Unpause(request->id()));
}

grpc::Status RuntimeServiceImpl::TopContainer(grpc::ServerContext*,
                                              const TopContainerRequest* request,
                                              TopContainerResponse* response) {
  auto result = manager_->Top(request->id(), request->ps_args());
  if (!result.ok()) return ToGrpcStatus(result.status());
  *response = *std::move(result);
  return grpc::Status::OK;
}

}  // namespace berth::runtimed
