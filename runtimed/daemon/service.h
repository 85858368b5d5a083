// berth.runtime.v1.RuntimeService over ContainerManager: converts messages
// and maps errors with ToGrpcStatus, nothing else.
#pragma once

#include "proto/runtime/v1/runtime.grpc.pb.h"
#include "runtimed/daemon/container_manager.h"
#include "runtimed/daemon/exec_manager.h"
#include "runtimed/daemon/stats.h"

namespace berth::runtimed {

class RuntimeServiceImpl final : public runtime::v1::RuntimeService::Service {
 public:
  explicit RuntimeServiceImpl(ContainerManager* manager, ExecManager* execs = nullptr,
                              ContainerStatsReader* stats = nullptr)
      : manager_(manager), execs_(execs), stats_(stats) {}

  grpc::Status CreateContainer(grpc::ServerContext*, const runtime::v1::CreateContainerRequest*,
                               runtime::v1::CreateContainerResponse*) override;
  grpc::Status StartContainer(grpc::ServerContext*, const runtime::v1::StartContainerRequest*,
                              runtime::v1::StartContainerResponse*) override;
  grpc::Status StopContainer(grpc::ServerContext*, const runtime::v1::StopContainerRequest*,
                             runtime::v1::StopContainerResponse*) override;
  grpc::Status RestartContainer(grpc::ServerContext*, const runtime::v1::RestartContainerRequest*,
                                runtime::v1::RestartContainerResponse*) override;
  grpc::Status KillContainer(grpc::ServerContext*, const runtime::v1::KillContainerRequest*,
                             runtime::v1::KillContainerResponse*) override;
  grpc::Status RemoveContainer(grpc::ServerContext*, const runtime::v1::RemoveContainerRequest*,
                               runtime::v1::RemoveContainerResponse*) override;
  grpc::Status GetContainer(grpc::ServerContext*, const runtime::v1::GetContainerRequest*,
                            runtime::v1::GetContainerResponse*) override;
  grpc::Status ListContainers(grpc::ServerContext*, const runtime::v1::ListContainersRequest*,
                              runtime::v1::ListContainersResponse*) override;
  grpc::Status WaitContainer(grpc::ServerContext*, const runtime::v1::WaitContainerRequest*,
                             grpc::ServerWriter<runtime::v1::WaitContainerResponse>*) override;
  grpc::Status Attach(
      grpc::ServerContext*,
      grpc::ServerReaderWriter<runtime::v1::AttachResponse, runtime::v1::AttachRequest>*) override;
  grpc::Status Logs(grpc::ServerContext*, const runtime::v1::LogsRequest*,
                    grpc::ServerWriter<runtime::v1::LogEntry>*) override;
  grpc::Status ResizeTty(grpc::ServerContext*, const runtime::v1::ResizeTtyRequest*,
                         runtime::v1::ResizeTtyResponse*) override;
  grpc::Status UpdateContainer(grpc::ServerContext*, const runtime::v1::UpdateContainerRequest*,
                               runtime::v1::UpdateContainerResponse*) override;
  // In record_event_service.cc, with RenameContainer.
  grpc::Status RenameContainer(grpc::ServerContext*, const runtime::v1::RenameContainerRequest*,
                               runtime::v1::RenameContainerResponse*) override;
  grpc::Status RecordContainerEvent(grpc::ServerContext*,
                                    const runtime::v1::RecordContainerEventRequest*,
                                    runtime::v1::RecordContainerEventResponse*) override;
  grpc::Status PauseContainer(grpc::ServerContext*, const runtime::v1::PauseContainerRequest*,
                              runtime::v1::PauseContainerResponse*) override;
  grpc::Status UnpauseContainer(grpc::ServerContext*, const runtime::v1::UnpauseContainerRequest*,
                                runtime::v1::UnpauseContainerResponse*) override;
  grpc::Status TopContainer(grpc::ServerContext*, const runtime::v1::TopContainerRequest*,
                            runtime::v1::TopContainerResponse*) override;
  grpc::Status ConnectNetwork(grpc::ServerContext*, const runtime::v1::ConnectNetworkRequest*,
                              runtime::v1::ConnectNetworkResponse*) override;
  grpc::Status DisconnectNetwork(grpc::ServerContext*, const runtime::v1::DisconnectNetworkRequest*,
                                 runtime::v1::DisconnectNetworkResponse*) override;

  // docker exec (exec_service.cc).
  grpc::Status CreateExec(grpc::ServerContext*, const runtime::v1::CreateExecRequest*,
                          runtime::v1::CreateExecResponse*) override;
  grpc::Status StartExec(grpc::ServerContext*,
                         grpc::ServerReaderWriter<runtime::v1::AttachResponse,
                                                  runtime::v1::StartExecRequest>*) override;
  grpc::Status InspectExec(grpc::ServerContext*, const runtime::v1::InspectExecRequest*,
                           runtime::v1::InspectExecResponse*) override;
  grpc::Status ResizeExec(grpc::ServerContext*, const runtime::v1::ResizeExecRequest*,
                          runtime::v1::ResizeExecResponse*) override;
  grpc::Status ListExecs(grpc::ServerContext*, const runtime::v1::ListExecsRequest*,
                         runtime::v1::ListExecsResponse*) override;
  grpc::Status ContainerStats(grpc::ServerContext*, const runtime::v1::ContainerStatsRequest*,
                              runtime::v1::ContainerStatsResponse*) override;

 private:
  ContainerManager* const manager_;
  ExecManager* const execs_;
  ContainerStatsReader* const stats_;
};

}  // namespace berth::runtimed
