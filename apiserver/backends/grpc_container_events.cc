// GrpcContainerBackend::RecordContainerEvent: Docker's container events for
// what only the apiserver sees happen, published by runtimed.
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

}  // namespace berth::apiserver
