#include "apiserver/handlers/client_input.h"

#include <string>

namespace berth::apiserver {

void PumpClientInput(Exchange& exchange, AttachSession& session, DetachKeyFilter* detach_filter,
                     const std::atomic<bool>& output_done, const ClientInputOptions& options) {
  char buf[32 * 1024];
  while (true) {
    long n = exchange.ReadRaw(buf, sizeof(buf));
    if (output_done) return;
    if (n > 0) {
      std::string data(buf, static_cast<size_t>(n));
      bool detached = false;
      if (detach_filter != nullptr) data = detach_filter->Feed(data, &detached);
      if (options.forward_stdin && !data.empty() && !session.WriteStdin(data)) return;
      if (detached) {
        // The process keeps running with its stdin open; only this client
        // leaves.
        if (options.on_detach) options.on_detach();
        session.Cancel();
        return;
      }
      continue;
    }
    // A client with a terminal that closes its side has left (the docker CLI
    // detaches so when it sees the keys itself); as in Moby, that never
    // closes a terminal's input.
    if (detach_filter != nullptr) {
      session.Cancel();
      return;
    }
    // Without a terminal EOF is a half-close: the docker CLI closes its write
    // side as soon as it has no more stdin to send (at once when it attaches
    // without stdin), and output keeps flowing. A client that is really gone
    // shows up as a failed write of output.
    if (options.close_stdin_on_eof) session.CloseStdin();
    return;
  }
}

}  // namespace berth::apiserver
