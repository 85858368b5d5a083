#include "apiserver/handlers/util.h"

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"

namespace berth::apiserver {

void ReplyJson(Exchange& exchange, int status, const Json& body) {
  exchange.Reply(status, kJsonType, body.dump() + "\n");
}

absl::StatusOr<std::optional<int64_t>> IntParam(const Exchange& exchange, const std::string& key) {
  std::string text = exchange.request().query.Get(key);
  if (text.empty()) return std::optional<int64_t>();
  int64_t value = 0;
  if (!absl::SimpleAtoi(text, &value)) {
    return absl::InvalidArgumentError(
        absl::StrCat("invalid value for ", key, ": \"", text, "\" is not an integer"));
  }
  return std::optional<int64_t>(value);
}

absl::Status NotFoundAs(absl::Status status, const std::string& message) {
  if (status.code() == absl::StatusCode::kNotFound) return absl::NotFoundError(message);
  return status;
}

std::string WithDefaultTag(const std::string& reference) {
  if (reference.find('@') != std::string::npos) return reference;
  size_t slash = reference.rfind('/');
  size_t colon = reference.rfind(':');
  if (colon != std::string::npos && (slash == std::string::npos || colon > slash)) {
    return reference;
  }
  return reference + ":latest";
}

}  // namespace berth::apiserver
