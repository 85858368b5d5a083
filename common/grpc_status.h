// The one place where absl::Status meets grpc::Status (both directions).
#pragma once

#include <grpcpp/support/status.h>

#include "absl/status/status.h"

namespace berth {

grpc::Status ToGrpcStatus(const absl::Status& status);
absl::Status FromGrpcStatus(const grpc::Status& status);

}  // namespace berth
