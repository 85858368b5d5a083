// The error model: absl::Status / StatusOr everywhere inside berth, with
// helpers for errno and the usual early-return macros.
#pragma once

#include <cerrno>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace berth {

// Maps an errno value to the closest absl code and appends strerror, e.g.
// ErrnoStatus(ENOENT, "open /x") -> NotFound("open /x: No such file or directory").
absl::Status ErrnoStatus(int err, absl::string_view context);

// ErrnoStatus(errno, context), for use right after a failed syscall.
inline absl::Status LastErrnoStatus(absl::string_view context) {
  return ErrnoStatus(errno, context);
}

// Prefixes the message of a non-OK status with context, keeping the code.
absl::Status Annotate(const absl::Status& status, absl::string_view context);

}  // namespace berth

#define BERTH_CONCAT_INNER(a, b) a##b
#define BERTH_CONCAT(a, b) BERTH_CONCAT_INNER(a, b)

#define RETURN_IF_ERROR(expr)                      \
  do {                                             \
    ::absl::Status berth_status_ = (expr);         \
    if (!berth_status_.ok()) return berth_status_; \
  } while (0)

#define ASSIGN_OR_RETURN_IMPL(tmp, lhs, expr) \
  auto tmp = (expr);                          \
  if (!tmp.ok()) return tmp.status();         \
  lhs = std::move(tmp).value()

#define ASSIGN_OR_RETURN(lhs, expr) \
  ASSIGN_OR_RETURN_IMPL(BERTH_CONCAT(berth_statusor_, __LINE__), lhs, expr)
