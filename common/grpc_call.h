// A unary gRPC call from one daemon to a sibling, the shape every client
// adapter shares: a deadline, the call, the sibling's status mapped once.
#pragma once

#include <grpcpp/grpcpp.h>

#include <chrono>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "common/grpc_status.h"

namespace berth {

// One unary call, bounded by `timeout`, its status mapped for `component`
// (FromSiblingStatus).
template <typename Stub, typename Request, typename Response, typename Duration>
absl::StatusOr<Response> UnaryCall(
    Stub* stub, grpc::Status (Stub::*method)(grpc::ClientContext*, const Request&, Response*),
    const Request& request, Duration timeout, absl::string_view component) {
  grpc::ClientContext context;
  context.set_deadline(std::chrono::system_clock::now() + timeout);
  Response response;
  absl::Status status = FromSiblingStatus((stub->*method)(&context, request, &response), component);
  if (!status.ok()) return status;
  return response;
}

}  // namespace berth
