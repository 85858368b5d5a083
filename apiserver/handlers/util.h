// Small pieces shared by the handlers.
#pragma once

#include <optional>
#include <string>

#include "absl/status/statusor.h"
#include "apiserver/http/exchange.h"
#include "common/json.h"

namespace berth::apiserver {

inline constexpr char kJsonType[] = "application/json";

void ReplyJson(Exchange& exchange, int status, const Json& body);

// An integer query parameter; nullopt when absent or empty, InvalidArgument
// naming the parameter when it is not a number.
absl::StatusOr<std::optional<int64_t>> IntParam(const Exchange& exchange, const std::string& key);

// Replaces the message of a NotFound status with Docker's wording.
absl::Status NotFoundAs(absl::Status status, const std::string& message);

// "busybox" -> "busybox:latest"; references with a tag, a digest or an
// sha256: ID are returned as they are.
std::string WithDefaultTag(const std::string& reference);

}  // namespace berth::apiserver
