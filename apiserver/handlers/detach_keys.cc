#include "apiserver/handlers/detach_keys.h"

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"

namespace berth::apiserver {

absl::StatusOr<std::string> ParseDetachKeys(absl::string_view keys) {
  // moby/term names the control characters by the key typed with ctrl.
  static constexpr char kControlKeys[] = "@abcdefghijklmnopqrstuvwxyz[\\]^_";
  auto invalid = [&] {
    return absl::InvalidArgumentError(
        absl::StrCat("Invalid detach keys (", std::string(keys), ") provided"));
  };
  std::string bytes;
  for (absl::string_view key : absl::StrSplit(keys, ',')) {
    if (key.size() == 1) {
      bytes.push_back(key[0]);
      continue;
    }
    std::string lower = absl::AsciiStrToLower(key);
    if (lower.empty()) return invalid();
    if (lower == "del") {
      bytes.push_back(127);
    } else if (size_t code = absl::string_view(kControlKeys).find(lower.back());
               lower.size() == 6 && absl::StartsWith(lower, "ctrl-") &&
               code != absl::string_view::npos) {
      bytes.push_back(static_cast<char>(code));
    } else {
      return invalid();
    }
  }
  return bytes;
}

std::string DetachKeyFilter::Feed(absl::string_view data, bool* detached) {
  *detached = false;
  std::string out;
  if (keys_.empty()) return std::string(data);
  for (char c : data) {
    if (c == keys_[matched_]) {
      if (++matched_ == keys_.size()) {
        matched_ = 0;
        *detached = true;
        return out;
      }
      continue;
    }
    // The held-back prefix was not the sequence after all: it is input.
    out.append(keys_, 0, matched_);
    matched_ = 0;
    // Sequences longer than one key: c may start a new match.
    if (c == keys_[0]) {
      matched_ = 1;
      continue;
    }
    out.push_back(c);
  }
  return out;
}

}  // namespace berth::apiserver
