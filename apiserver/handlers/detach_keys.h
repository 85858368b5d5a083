// Docker's detach keys: the sequence a client with a terminal types to leave
// an attach without touching the container (ctrl-p,ctrl-q by default).
#pragma once

#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace berth::apiserver {

inline constexpr char kDefaultDetachKeys[] = "ctrl-p,ctrl-q";

// "ctrl-p,ctrl-q", "a,ctrl-@,DEL" as the bytes they stand for (moby/term's
// ToBytes): single characters as themselves, ctrl-@ .. ctrl-_ as 0 .. 31.
absl::StatusOr<std::string> ParseDetachKeys(absl::string_view keys);

// Filters a client's stdin: the bytes of a started match are held back until
// the match fails (then they are passed on) or completes (then they are
// dropped and the client has detached), as moby's escape proxy does, so that
// a partial sequence still reaches the container.
class DetachKeyFilter {
 public:
  explicit DetachKeyFilter(std::string keys) : keys_(std::move(keys)) {}

  // Returns what to pass on; sets *detached when the sequence completed (the
  // bytes after it are dropped, as the client has left).
  std::string Feed(absl::string_view data, bool* detached);

 private:
  const std::string keys_;
  size_t matched_ = 0;
};

}  // namespace berth::apiserver
