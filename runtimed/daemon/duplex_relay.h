// The duplex middle of Attach and StartExec: the client's stdin messages go
// to the process on a thread of their own, a watcher cancels the process's
// side when the client goes away while the output loop waits on the shim,
// and output goes out until it ends. Then `ended` asks the client to close
// its side, which ends the reader; a client that has not within 2 s is
// cancelled.
#pragma once

#include <grpcpp/grpcpp.h>

#include <chrono>
#include <condition_variable>
#include <functional>
#include <mutex>
#include <optional>
#include <string>
#include <thread>

#include "proto/runtime/v1/runtime.grpc.pb.h"
#include "proto/shim/v1/shim.pb.h"

namespace berth::runtimed {

struct DuplexTarget {
  std::function<void(const std::string&)> write_stdin;
  std::function<void()> close_stdin;
  std::function<void()> cancel;
  // The next output chunk; nullopt once the process's output is over.
  std::function<std::optional<shim::v1::Output>()> read;
  // Read the client's stdin messages (attach without stdin does not).
  bool forward_stdin = true;
  // Close the process's stdin when the client's stream ends (exec's stdin
  // belongs to this one client; a container's outlives an attach).
  bool close_stdin_when_client_ends = false;
};

template <typename Request>
void RelayDuplex(grpc::ServerContext* context,
                 grpc::ServerReaderWriter<runtime::v1::AttachResponse, Request>* stream,
                 const DuplexTarget& target) {
  std::mutex mu;
  std::condition_variable cv;
  bool output_done = false;
  bool reader_done = !target.forward_stdin;
  std::thread reader;
  if (target.forward_stdin) {
    reader = std::thread([&] {
      Request request;
      while (stream->Read(&request)) {
        if (request.has_stdin()) {
          target.write_stdin(request.stdin());
        } else if (request.has_close_stdin()) {
          target.close_stdin();
        }
      }
      if (target.close_stdin_when_client_ends) target.close_stdin();
      std::lock_guard<std::mutex> lock(mu);
      reader_done = true;
      cv.notify_all();
    });
  }
  std::thread watcher([&] {
    std::unique_lock<std::mutex> lock(mu);
    while (!output_done) {
      if (context->IsCancelled()) {
        target.cancel();
        return;
      }
      cv.wait_for(lock, std::chrono::milliseconds(100));
    }
  });
  while (std::optional<shim::v1::Output> chunk = target.read()) {
    runtime::v1::AttachResponse response;
    response.mutable_output()->set_stream(chunk->stream() == 2 ? runtime::v1::STDERR
                                                               : runtime::v1::STDOUT);
    response.mutable_output()->set_data(chunk->data());
    if (!stream->Write(response)) {
      target.cancel();
      break;
    }
  }
  {
    std::lock_guard<std::mutex> lock(mu);
    output_done = true;
    cv.notify_all();
  }
  watcher.join();
  if (!reader.joinable()) return;
  runtime::v1::AttachResponse ended;
  ended.mutable_ended();
  stream->Write(ended);
  {
    std::unique_lock<std::mutex> lock(mu);
    if (!cv.wait_for(lock, std::chrono::seconds(2), [&] { return reader_done; })) {
      context->TryCancel();
      cv.wait(lock, [&] { return reader_done; });
    }
  }
  reader.join();
}

}  // namespace berth::runtimed
