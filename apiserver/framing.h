// Byte framing of Docker's streams.
#pragma once

#include <string>

#include "absl/strings/string_view.h"
#include "common/json.h"

namespace berth::apiserver {

enum class StreamId : unsigned char { kStdin = 0, kStdout = 1, kStderr = 2 };

// stdcopy's multiplexed frame: [stream, 0, 0, 0, len as big-endian uint32] + payload.
std::string MuxFrame(StreamId stream, absl::string_view payload);

// One message of a JSON progress stream (load, import, pull): compact JSON + "\r\n".
std::string JsonMessageLine(const Json& message);

// {"errorDetail":{"message":M},"error":M}, how errors travel after a 200.
Json JsonErrorMessage(absl::string_view message);

// Docker's content types for attach/logs streams. API >= 1.42 announces the
// multiplexed type when there is no TTY; older clients expect raw-stream.
std::string StreamContentType(bool tty, absl::string_view api_version);

}  // namespace berth::apiserver
