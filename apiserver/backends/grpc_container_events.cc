// GrpcContainerBackend::RecordContainerEvent (Docker's container events for
// what only the apiserver sees happen, published by runtimed) and
// RenameContainer, which publishes its own.
#include <chrono>

#include "apiserver/backends/grpc_backends.h"
#include "apiserver/backends/grpc_streams.h"

namespace berth::apiserver {

absl::Status GrpcContainerBackend::RecordContainerEvent(
    const runtime::v1::RecordContainerEventRequest& request) {
  return UnaryCall(stub_.get(), &runtime::v1::RuntimeService::Stub::RecordContainerEvent, request,
                   std::chrono::seconds(10), "runtimed")
      .status();
}

absl::Status GrpcContainerBackend::RenameContainer(
    const runtime::v1::RenameContainerRequest& request) {
  return UnaryCall(stub_.get(), &runtime::v1::RuntimeService::Stub::RenameContainer, request,
                   std::chrono::seconds(60), "runtimed")
      .status();
}

}  // namespace berth::apiserver
