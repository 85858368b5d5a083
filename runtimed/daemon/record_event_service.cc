// RecordContainerEvent and RenameContainer of RuntimeServiceImpl: messages
// and ToGrpcStatus only.
#include <map>
#include <string>

#include "common/grpc_status.h"
#include "runtimed/daemon/service.h"

namespace berth::runtimed {

grpc::Status RuntimeServiceImpl::RecordContainerEvent(
    grpc::ServerContext*, const runtime::v1::RecordContainerEventRequest* request,
    runtime::v1::RecordContainerEventResponse*) {
  std::map<std::string, std::string> attributes(request->attributes().begin(),
                                                request->attributes().end());
  return ToGrpcStatus(
      manager_->RecordReportedEvent(request->id(), request->action(), std::move(attributes)));
}

grpc::Status RuntimeServiceImpl::RenameContainer(grpc::ServerContext*,
                                                 const runtime::v1::RenameContainerRequest* request,
                                                 runtime::v1::RenameContainerResponse*) {
  return ToGrpcStatus(manager_->Rename(request->id(), request->name()));
}

}  // namespace berth::runtimed
