// The gRPC call shapes the backends share beyond a unary call
// (common/grpc_call.h): a server stream read as a ReadStream, and an
// attach-like call (the daemon's output events in, stdin and its end out).
// Each stream owns its ClientContext, so Cancel works from any thread for as
// long as it lives.
#pragma once

#include <grpcpp/grpcpp.h>

#include <chrono>
#include <memory>
#include <mutex>
#include <string>
#include <utility>

#include "apiserver/backends/backends.h"
#include "common/grpc_call.h"
#include "common/grpc_status.h"

namespace berth::apiserver {

template <typename T>
class GrpcReadStream : public ReadStream<T> {
 public:
  // `open` starts the call on this stream's context (a stub method with its
  // request bound) and returns the reader.
  template <typename Open>
  GrpcReadStream(std::string component, Open open) : component_(std::move(component)) {
    reader_ = open(&context_);
  }
  bool Read(T* message) override { return reader_->Read(message); }
  absl::Status Finish() override { return FromSiblingStatus(reader_->Finish(), component_); }
  void Cancel() override { context_.TryCancel(); }

 private:
  grpc::ClientContext context_;
  std::string component_;
  std::unique_ptr<grpc::ClientReader<T>> reader_;
};

// Request has set_stdin and set_close_stdin (AttachRequest, StartExecRequest).
// The client's input thread and the output loop (on its end) both write:
// gRPC allows one writer at a time, and nothing after WritesDone.
template <typename Request, typename Response>
class GrpcStdinSession : public AttachSession {
 public:
  template <typename Open>
  GrpcStdinSession(std::string component, Open open, const Request& first)
      : component_(std::move(component)) {
    stream_ = open(&context_);
    // A failed first write shows up as the end of the stream in Read.
    stream_->Write(first);
  }
  bool Read(Response* event) override { return stream_->Read(event); }
  bool WriteStdin(const std::string& data) override {
    std::lock_guard<std::mutex> lock(write_mutex_);
    if (writes_done_) return false;
    Request request;
    request.set_stdin(data);
    return stream_->Write(request);
  }
  bool CloseStdin() override {
    std::lock_guard<std::mutex> lock(write_mutex_);
    if (writes_done_) return true;
    writes_done_ = true;
    Request request;
    request.set_close_stdin(true);
    bool ok = stream_->Write(request);
    stream_->WritesDone();
    return ok;
  }
  absl::Status Finish() override { return FromSiblingStatus(stream_->Finish(), component_); }
  void Cancel() override { context_.TryCancel(); }

 private:
  grpc::ClientContext context_;
  std::string component_;
  std::unique_ptr<grpc::ClientReaderWriter<Request, Response>> stream_;
  std::mutex write_mutex_;
  bool writes_done_ = false;
};

}  // namespace berth::apiserver
