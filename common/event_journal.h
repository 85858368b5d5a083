// The events a daemon publishes (Docker's event model: container start, image
// tag, network connect, ...), kept in a bounded journal so that `docker
// events --since` can replay recent ones, and streamed live to watchers over
// berth.events.v1.EventService.
#pragma once

#include <grpcpp/grpcpp.h>

#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <mutex>
#include <string>

#include "proto/events/v1/events.grpc.pb.h"

namespace berth {

class EventJournal {
 public:
  // Docker keeps the last 256 events in memory for --since.
  explicit EventJournal(size_t capacity = 256) : capacity_(capacity) {}

  // Records an event now; never blocks on watchers.
  void Publish(const std::string& type, const std::string& action, const std::string& id,
               std::map<std::string, std::string> attributes = {});
  void Publish(events::v1::Event event);

  // Calls `emit` with the kept events at or after since_nano (when not 0),
  // then with each new event until `until_nano` has passed (when not 0),
  // `emit` returns false, or `cancelled` returns true (polled). Returns
  // whether it ended because the until time passed.
  bool Watch(int64_t since_nano, int64_t until_nano,
             const std::function<bool(const events::v1::Event&)>& emit,
             const std::function<bool()>& cancelled);

 private:
  const size_t capacity_;
  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<events::v1::Event> events_;
  // Sequence number of events_.front(); events are numbered as published.
  uint64_t first_sequence_ = 0;
};

// The gRPC face of a journal.
class EventServiceImpl final : public events::v1::EventService::Service {
 public:
  explicit EventServiceImpl(EventJournal* journal) : journal_(journal) {}
  grpc::Status Watch(grpc::ServerContext* context, const events::v1::WatchRequest* request,
                     grpc::ServerWriter<events::v1::Event>* writer) override;

 private:
  EventJournal* const journal_;
};

}  // namespace berth
