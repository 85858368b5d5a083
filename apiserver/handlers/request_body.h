// An upload's request body (docker load, import, cp into a container) read in
// 1 MiB pieces. The HTTP parser hands the body over in pieces of its buffer
// (64 KiB or less); forwarded one by one, each would cost a gRPC message and
// a round of flow control, which made an upload take 5x the time its
// extraction does.
#pragma once

#include <cstddef>
#include <string>

#include "apiserver/http/exchange.h"
#include "common/status.h"

namespace berth::apiserver {

constexpr size_t kBodyChunkSize = 1 << 20;

// Fills `chunk` with up to kBodyChunkSize bytes of the body; empty at its end.
inline absl::Status NextBodyChunk(Exchange& exchange, std::string* chunk) {
  chunk->resize(kBodyChunkSize);
  size_t filled = 0;
  while (filled < kBodyChunkSize) {
    ASSIGN_OR_RETURN(size_t n, exchange.ReadBodySome(&(*chunk)[filled], kBodyChunkSize - filled));
    if (n == 0) break;
    filled += n;
  }
  chunk->resize(filled);
  return absl::OkStatus();
}

}  // namespace berth::apiserver
