// Go's formatting of values that end up in image history: Docker writes the
// `created_by` of metadata steps with fmt's %q and %v verbs and durations with
// time.Duration's String, and `docker history` shows them byte for byte.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/statusor.h"

namespace berth::imaged::build {

// strconv.Quote: "a\"b\n".
std::string GoQuote(const std::string& s);
// %q of a []string: ["sh" "-c" "echo hi"]; [] for an empty or nil slice.
std::string GoQuoteSlice(const std::vector<std::string>& items);
// %v of a []string: [a b c].
std::string GoSlice(const std::vector<std::string>& items);
// %q of an int: a quoted character literal, '\x00' for 0, 'A' for 65.
std::string GoQuoteRune(int64_t value);
// time.Duration.String in nanoseconds: "0s", "1.5s", "5m0s", "1h0m0s", "500ms".
std::string GoDuration(int64_t nanoseconds);
// time.ParseDuration: "30s", "1m30s", "1.5h", "-2ms", "0"; errors as Go words them.
absl::StatusOr<int64_t> ParseGoDuration(const std::string& text);

}  // namespace berth::imaged::build
