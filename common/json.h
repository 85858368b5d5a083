// JSON for every component: nlohmann::json, with a helper that turns parse
// errors into absl::Status instead of exceptions.
#pragma once

#include <nlohmann/json.hpp>
#include <string_view>

#include "absl/status/statusor.h"

namespace berth {

using Json = nlohmann::json;

// Parses text as JSON; malformed input is InvalidArgument naming the problem.
inline absl::StatusOr<Json> ParseJson(std::string_view text) {
  Json value = Json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (value.is_discarded()) {
    return absl::InvalidArgumentError("invalid JSON: malformed input");
  }
  return value;
}

}  // namespace berth
