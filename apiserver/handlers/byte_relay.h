// A daemon's byte stream (an archive: docker export, save, cp) relayed to the
// client as a chunked HTTP body. The client hanging up cancels the daemon's
// work; a daemon failure before the first byte is still an HTTP error, and
// one after it cuts the connection, since the status line has gone out and
// only a truncated body tells the client the archive is incomplete.
#pragma once

#include <atomic>
#include <memory>
#include <string>
#include <utility>

#include "apiserver/backends/backends.h"
#include "apiserver/http/exchange.h"
#include "common/log.h"
#include "common/status.h"
#include "proto/storage/v1/storage.pb.h"
#include "proto/types/v1/types.pb.h"

namespace berth::apiserver {

inline const std::string& BytesOf(const types::v1::Chunk& chunk) { return chunk.data(); }
inline const std::string& BytesOf(const storage::v1::ArchiveContainerPathResponse& message) {
  return message.chunk().data();
}

template <typename Message>
class ByteRelay {
 public:
  // From here on a client that hangs up cancels `stream`.
  ByteRelay(Exchange& exchange, std::unique_ptr<ReadStream<Message>> stream)
      : exchange_(exchange), stream_(std::move(stream)), watch_(exchange.WatchDisconnect([this] {
          client_gone_ = true;
          stream_->Cancel();
        })) {}

  // For a caller that reads a head (docker cp's stat) before the bytes.
  ReadStream<Message>& stream() { return *stream_; }

  // The whole stream as the body of a 200 response of `content_type`; the
  // first message is read before the response starts. `what` names the
  // transfer in the log when it fails midway.
  absl::Status RelayAll(const std::string& content_type, const std::string& what) {
    Message first;
    if (!stream_->Read(&first)) {
      RETURN_IF_ERROR(stream_->Finish());
      exchange_.StartChunked(200, content_type);
      exchange_.EndChunked();
      return absl::OkStatus();
    }
    return Relay(content_type, &first, what);
  }

  // The rest of the stream as the body of a 200 response.
  absl::Status RelayRest(const std::string& content_type, const std::string& what) {
    return Relay(content_type, nullptr, what);
  }

 private:
  absl::Status Relay(const std::string& content_type, const Message* first,
                     const std::string& what) {
    exchange_.StartChunked(200, content_type);
    bool sending = first == nullptr || Send(*first);
    Message message;
    while (sending && stream_->Read(&message)) sending = Send(message);
    absl::Status status = stream_->Finish();
    if (client_gone_) return absl::OkStatus();
    if (!status.ok()) {
      SPDLOG_WARN("{} failed mid-stream: {}", what, status.ToString());
      exchange_.CloseRaw();
      return absl::OkStatus();
    }
    exchange_.EndChunked();
    return absl::OkStatus();
  }

  bool Send(const Message& message) {
    if (exchange_.WriteChunk(BytesOf(message))) return true;
    client_gone_ = true;
    stream_->Cancel();
    return false;
  }

  Exchange& exchange_;
  std::atomic<bool> client_gone_{false};
  // Declared before the watch, whose callback uses it, so it outlives it.
  std::unique_ptr<ReadStream<Message>> stream_;
  std::unique_ptr<DisconnectWatch> watch_;
};

}  // namespace berth::apiserver
