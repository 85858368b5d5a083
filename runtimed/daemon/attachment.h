// One client's attach to a container. It can exist before the container runs:
// Start connects pending attachments to the shim before the process execs, so
// the client sees the output from its first byte (`docker run`, `start -a`).
#pragma once

#include <condition_variable>
#include <memory>
#include <mutex>
#include <optional>
#include <string>

#include "absl/status/statusor.h"
#include "runtimed/daemon/interfaces.h"

namespace berth::runtimed {

struct AttachStreams {
  bool stdin = false;
  bool stdout = false;
  bool stderr = false;
};

class Attachment {
 public:
  explicit Attachment(AttachStreams streams) : streams_(streams) {}
  ~Attachment();

  const AttachStreams& streams() const { return streams_; }

  // Blocks for the next output chunk; nullopt once the container's output has
  // ended, the attachment was never connected (the container was removed or
  // failed to start), or Cancel was called.
  absl::StatusOr<std::optional<shim::v1::Output>> Read();
  // Stdin written before the container starts is held and delivered at start.
  absl::Status WriteStdin(const std::string& data);
  absl::Status CloseStdin();
  // The client went away: wakes Read and closes the shim connection.
  void Cancel();

  // Used by the manager.
  void Connect(std::unique_ptr<ShimStream> stream);
  void End();
  bool cancelled() const;

 private:
  const AttachStreams streams_;
  mutable std::mutex mu_;
  std::condition_variable cv_;
  std::unique_ptr<ShimStream> stream_;
  bool ended_ = false;
  bool cancelled_ = false;
  std::string pending_stdin_;
  bool pending_close_ = false;
};

}  // namespace berth::runtimed
