// The one table from absl::Status to HTTP, and Docker's error body.
#pragma once

#include <string>

#include "absl/status/status.h"

namespace berth::apiserver {

// NotFound 404, AlreadyExists/FailedPrecondition 409, InvalidArgument/OutOfRange
// 400, PermissionDenied 403, Unimplemented 501, Unavailable 503, else 500.
int HttpStatusFor(absl::StatusCode code);

// {"message":"..."}: what the docker CLI prints after "Error response from daemon: ".
std::string ErrorBody(absl::string_view message);

}  // namespace berth::apiserver
