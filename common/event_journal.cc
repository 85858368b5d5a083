#include "common/event_journal.h"

#include <chrono>

#include "absl/time/clock.h"
#include "absl/time/time.h"

namespace berth {

void EventJournal::Publish(const std::string& type, const std::string& action,
                           const std::string& id, std::map<std::string, std::string> attributes) {
  events::v1::Event event;
  event.set_type(type);
  event.set_action(action);
  event.set_id(id);
  for (auto& [key, value] : attributes) (*event.mutable_attributes())[key] = std::move(value);
  Publish(std::move(event));
}

void EventJournal::Publish(events::v1::Event event) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    // Stamped under the lock: the journal's order is its time order.
    int64_t now = absl::ToUnixNanos(absl::Now());
    if (!events_.empty() && now <= events_.back().time_nano()) now = events_.back().time_nano() + 1;
    if (event.time_nano() == 0) event.set_time_nano(now);
    events_.push_back(std::move(event));
    while (events_.size() > capacity_) {
      events_.pop_front();
      ++first_sequence_;
    }
  }
  cv_.notify_all();
}

bool EventJournal::Watch(int64_t since_nano, int64_t until_nano,
                         const std::function<bool(const events::v1::Event&)>& emit,
                         const std::function<bool()>& cancelled) {
  std::unique_lock<std::mutex> lock(mu_);
  // The next event to deliver, as a sequence number.
  uint64_t next = first_sequence_ + events_.size();
  if (since_nano > 0) {
    next = first_sequence_;
    while (next < first_sequence_ + events_.size() &&
           events_[next - first_sequence_].time_nano() < since_nano) {
      ++next;
    }
  }
  while (true) {
    next = std::max(next, first_sequence_);  // what fell out of the journal is gone
    while (next < first_sequence_ + events_.size()) {
      events::v1::Event event = events_[next - first_sequence_];
      ++next;
      if (until_nano > 0 && event.time_nano() > until_nano) return true;
      lock.unlock();
      bool more = emit(event);
      lock.lock();
      if (!more) return false;
    }
    if (until_nano > 0 && absl::ToUnixNanos(absl::Now()) > until_nano) return true;
    if (cancelled()) return false;
    cv_.wait_for(lock, std::chrono::milliseconds(200));
  }
}

grpc::Status EventServiceImpl::Watch(grpc::ServerContext* context,
                                     const events::v1::WatchRequest* request,
                                     grpc::ServerWriter<events::v1::Event>* writer) {
  journal_->Watch(
      request->since_nano(), request->until_nano(),
      [writer](const events::v1::Event& event) { return writer->Write(event); },
      [context] { return context->IsCancelled(); });
  return grpc::Status::OK;
}

}  // namespace berth
