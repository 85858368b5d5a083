// The client's side of a hijacked attach or exec stream: its bytes go to the
// process's stdin, watched for the detach keys, until the client detaches,
// leaves or half-closes. Attach and exec differ only in the options.
#pragma once

#include <atomic>
#include <functional>

#include "apiserver/backends/backends.h"
#include "apiserver/handlers/detach_keys.h"
#include "apiserver/http/exchange.h"

namespace berth::apiserver {

struct ClientInputOptions {
  // Whether the process takes stdin; without it the bytes are only watched
  // for the detach keys.
  bool forward_stdin = false;
  // On the client's EOF without a terminal: close the process's stdin.
  bool close_stdin_on_eof = false;
  // The client typed the detach keys (before the session is cancelled).
  std::function<void()> on_detach;
};

// Runs until the client's input ends; returns at once when `output_done` is
// set by the time a read returns. `detach_filter` is null without a terminal.
void PumpClientInput(Exchange& exchange, AttachSession& session, DetachKeyFilter* detach_filter,
                     const std::atomic<bool>& output_done, const ClientInputOptions& options);

}  // namespace berth::apiserver
