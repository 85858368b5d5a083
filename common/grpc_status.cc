#include "common/grpc_status.h"

#include <string>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"

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

absl::Status FromSiblingStatus(const grpc::Status& status, absl::string_view component) {
  absl::Status converted = FromGrpcStatus(status);
  if (absl::IsUnavailable(converted) &&
      !absl::StrContains(converted.message(), " is unavailable")) {
    return absl::UnavailableError(
        absl::StrCat(component, " is unavailable: ", converted.message()));
  }
  if (absl::IsDeadlineExceeded(converted)) {
    return absl::DeadlineExceededError(
        absl::StrCat(component, " did not answer in time: ", converted.message()));
  }
  return converted;
}

}  // namespace berth
