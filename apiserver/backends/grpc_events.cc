#include "apiserver/backends/grpc_events.h"

#include "common/grpc_status.h"

namespace berth::apiserver {
namespace {

class EventStream : public ReadStream<events::v1::Event> {
 public:
  EventStream(events::v1::EventService::Stub* stub, const events::v1::WatchRequest& request,
              std::string component)
      : component_(std::move(component)) {
    reader_ = stub->Watch(&context_, request);
  }
  bool Read(events::v1::Event* event) override { return reader_->Read(event); }
  absl::Status Finish() override { return FromSiblingStatus(reader_->Finish(), component_); }
  void Cancel() override { context_.TryCancel(); }

 private:
  grpc::ClientContext context_;
  std::string component_;
  std::unique_ptr<grpc::ClientReader<events::v1::Event>> reader_;
};

}  // namespace

GrpcEventBackend::GrpcEventBackend(
    const std::map<std::string, std::shared_ptr<grpc::Channel>>& channels) {
  for (const auto& [name, channel] : channels) {
    stubs_[name] = events::v1::EventService::NewStub(channel);
  }
}

std::vector<std::unique_ptr<ReadStream<events::v1::Event>>> GrpcEventBackend::Watch(
    int64_t since_nano, int64_t until_nano) {
  events::v1::WatchRequest request;
  request.set_since_nano(since_nano);
  request.set_until_nano(until_nano);
  std::vector<std::unique_ptr<ReadStream<events::v1::Event>>> streams;
  for (const auto& [name, stub] : stubs_) {
    streams.push_back(std::make_unique<EventStream>(stub.get(), request, name));
  }
  return streams;
}

}  // namespace berth::apiserver
