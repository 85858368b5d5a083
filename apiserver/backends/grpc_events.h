// EventBackend over the daemons' EventService.
#pragma once

#include <grpcpp/grpcpp.h>

#include <map>
#include <memory>
#include <string>

#include "apiserver/backends/events_backend.h"
#include "proto/events/v1/events.grpc.pb.h"

namespace berth::apiserver {

class GrpcEventBackend : public EventBackend {
 public:
  // channels: daemon name ("runtimed", ...) to its socket's channel.
  explicit GrpcEventBackend(const std::map<std::string, std::shared_ptr<grpc::Channel>>& channels);
  std::vector<std::unique_ptr<ReadStream<events::v1::Event>>> Watch(int64_t since_nano,
                                                                    int64_t until_nano) override;

 private:
  std::map<std::string, std::unique_ptr<events::v1::EventService::Stub>> stubs_;
};

}  // namespace berth::apiserver
