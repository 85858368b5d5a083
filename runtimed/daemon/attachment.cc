#include "runtimed/daemon/attachment.h"

namespace berth::runtimed {

Attachment::~Attachment() {
  if (stream_) stream_->Interrupt();
}

absl::StatusOr<std::optional<shim::v1::Output>> Attachment::Read() {
  ShimStream* stream = nullptr;
  {
    std::unique_lock<std::mutex> lock(mu_);
    cv_.wait(lock, [&] { return stream_ != nullptr || ended_ || cancelled_; });
    if (cancelled_ || !stream_) return std::optional<shim::v1::Output>();
    // stream_ is never replaced once set, and Interrupt is safe concurrently.
    stream = stream_.get();
  }
  auto chunk = stream->Read();
  if (!chunk.ok()) {
    // A broken shim connection ends the attachment like a closed one.
    return std::optional<shim::v1::Output>();
  }
  return chunk;
}

absl::Status Attachment::WriteStdin(const std::string& data) {
  std::unique_lock<std::mutex> lock(mu_);
  if (!streams_.stdin) return absl::OkStatus();
  if (!stream_) {
    pending_stdin_ += data;
    return absl::OkStatus();
  }
  ShimStream* stream = stream_.get();
  lock.unlock();
  return stream->WriteStdin(data);
}

absl::Status Attachment::CloseStdin() {
  std::unique_lock<std::mutex> lock(mu_);
  if (!streams_.stdin) return absl::OkStatus();
  if (!stream_) {
    pending_close_ = true;
    return absl::OkStatus();
  }
  ShimStream* stream = stream_.get();
  lock.unlock();
  return stream->CloseStdin();
}

void Attachment::Cancel() {
  std::lock_guard<std::mutex> lock(mu_);
  cancelled_ = true;
  if (stream_) stream_->Interrupt();
  cv_.notify_all();
}

void Attachment::Connect(std::unique_ptr<ShimStream> stream) {
  std::lock_guard<std::mutex> lock(mu_);
  if (cancelled_ || ended_ || stream_) {
    stream->Interrupt();
    return;
  }
  if (!pending_stdin_.empty()) (void)stream->WriteStdin(pending_stdin_);
  if (pending_close_) (void)stream->CloseStdin();
  pending_stdin_.clear();
  stream_ = std::move(stream);
  cv_.notify_all();
}

void Attachment::End() {
  std::lock_guard<std::mutex> lock(mu_);
  ended_ = true;
  cv_.notify_all();
}

bool Attachment::cancelled() const {
  std::lock_guard<std::mutex> lock(mu_);
  return cancelled_;
}

}  // namespace berth::runtimed
