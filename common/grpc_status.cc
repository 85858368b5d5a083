#include "common/grpc_status.h"

#include <string>

namespace berth {

// absl::StatusCode and grpc::StatusCode share their numbering (both follow
// google.rpc.Code), so the mapping is a cast in both directions.
grpc::Status ToGrpcStatus(const absl::Status& status) {
  if (status.ok()) return grpc::Status::OK;
  return grpc::Status(static_cast<grpc::StatusCode>(status.code()), std::string(status.message()));
}

absl::Status FromGrpcStatus(const grpc::Status& status) {
  if (status.ok()) return absl::OkStatus();
  return absl::Status(static_cast<absl::StatusCode>(status.error_code()), status.error_message());
}

}  // namespace berth
