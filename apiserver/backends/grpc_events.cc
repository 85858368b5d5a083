#include "apiserver/backends/grpc_events.h"

#include "apiserver/backends/grpc_streams.h"

namespace berth::apiserver {
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
    events::v1::EventService::Stub* events = stub.get();
    streams.push_back(std::make_unique<GrpcReadStream<events::v1::Event>>(
        name, [&](grpc::ClientContext* context) { return events->Watch(context, request); }));
  }
  return streams;
}

}  // namespace berth::apiserver
