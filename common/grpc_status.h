// The one place where absl::Status meets grpc::Status (both directions).
#pragma once

#include <grpcpp/support/status.h>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"

namespace berth {

grpc::Status ToGrpcStatus(const absl::Status& status);
absl::Status FromGrpcStatus(const grpc::Status& status);

// FromGrpcStatus for a call to another berth daemon, naming it when it could
// not answer: UNAVAILABLE becomes "<component> is unavailable: ..." (unless the
// sibling already named the daemon behind it that is down) and
// DEADLINE_EXCEEDED "<component> did not answer in time: ...". The apiserver
// answers the first with 503 naming the component.
absl::Status FromSiblingStatus(const grpc::Status& status, absl::string_view component);

}  // namespace berth
