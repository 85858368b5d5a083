#include "apiserver/handlers/events.h"

#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <deque>
#include <mutex>
#include <optional>
#include <thread>

#include "apiserver/timefmt.h"
#include "common/status.h"

namespace berth::apiserver {
namespace {

constexpr char kJsonType[] = "application/json";

std::string Attribute(const events::v1::Event& event, const std::string& key) {
  auto it = event.attributes().find(key);
  return it == event.attributes().end() ? std::string() : it->second;
}

// "exec_start: sh -c x" and "health_status: healthy" filter as their verb.
std::string Verb(const std::string& action) { return action.substr(0, action.find(':')); }

// Events of all the daemons as one queue, fed by a reader thread per stream.
class Merger {
 public:
  explicit Merger(std::vector<std::unique_ptr<ReadStream<events::v1::Event>>> streams)
      : streams_(std::move(streams)), open_(streams_.size()) {
    for (auto& stream : streams_) {
      readers_.emplace_back([this, s = stream.get()] {
        events::v1::Event event;
        while (s->Read(&event)) {
          std::lock_guard<std::mutex> lock(mu_);
          queue_.push_back(event);
          cv_.notify_all();
        }
        // A daemon that is down ends its stream at once; the others go on.
        (void)s->Finish();
        std::lock_guard<std::mutex> lock(mu_);
        --open_;
        cv_.notify_all();
      });
    }
  }
  ~Merger() {
    Cancel();
    for (std::thread& reader : readers_) reader.join();
  }
  void Cancel() {
    for (auto& stream : streams_) stream->Cancel();
  }
  // The next event; nullopt once every stream has ended.
  std::optional<events::v1::Event> Next() {
    std::unique_lock<std::mutex> lock(mu_);
    cv_.wait(lock, [&] { return !queue_.empty() || open_ == 0; });
    if (queue_.empty()) return std::nullopt;
    events::v1::Event event = std::move(queue_.front());
    queue_.pop_front();
    return event;
  }

 private:
  std::vector<std::unique_ptr<ReadStream<events::v1::Event>>> streams_;
  std::vector<std::thread> readers_;
  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<events::v1::Event> queue_;
  size_t open_;
};

}  // namespace

Json RenderEvent(const events::v1::Event& event) {
  Json attributes = Json::object();
  for (const auto& [key, value] : event.attributes()) attributes[key] = value;
  Json out = {
      {"Type", event.type()},
      {"Action", event.action()},
      {"Actor", {{"ID", event.id()}, {"Attributes", attributes}}},
      {"scope", "local"},
      {"time", event.time_nano() / 1000000000},
      {"timeNano", event.time_nano()},
  };
  if (event.type() == "container" || event.type() == "image") {
    out["status"] = event.action();
    out["id"] = event.id();
    if (event.type() == "container") out["from"] = Attribute(event, "image");
  }
  return out;
}

bool EventMatches(const Filters& filters, const events::v1::Event& event) {
  auto is = [&](const std::string& key, const std::string& type) {
    return event.type() == type && filters.Has(key);
  };
  if (!filters.AnyOrAbsent("type", [&](const std::string& t) { return t == event.type(); })) {
    return false;
  }
  if (!filters.AnyOrAbsent("event", [&](const std::string& e) {
        return e == event.action() || e == Verb(event.action());
      })) {
    return false;
  }
  if (!filters.AnyOrAbsent("scope", [](const std::string& s) { return s == "local"; })) {
    return false;
  }
  auto names_or_id = [&](const std::string& value) {
    return value == Attribute(event, "name") || value == event.id() ||
           (value.size() >= 12 && event.id().rfind(value, 0) == 0);
  };
  // A filter on one kind of object only selects events of that kind.
  if (filters.Has("container") &&
      !(event.type() == "container" && filters.AnyOrAbsent("container", names_or_id))) {
    return false;
  }
  if (filters.Has("image")) {
    std::string image = event.type() == "image" ? event.id() : Attribute(event, "image");
    if (!filters.AnyOrAbsent("image", [&](const std::string& value) {
          return value == image || value == Attribute(event, "name") ||
                 value == Attribute(event, "image");
        })) {
      return false;
    }
  }
  if (filters.Has("network") &&
      !(is("network", "network") && filters.AnyOrAbsent("network", names_or_id))) {
    return false;
  }
  if (filters.Has("volume") &&
      !(is("volume", "volume") && filters.AnyOrAbsent("volume", names_or_id))) {
    return false;
  }
  std::map<std::string, std::string> attributes(event.attributes().begin(),
                                                event.attributes().end());
  return filters.MatchLabels(attributes);
}

void EventHandlers::Register(Router& router) {
  router.Add("GET", "/events", [this](Exchange& e, const std::string&) { return Events(e); });
}

absl::Status EventHandlers::Events(Exchange& exchange) {
  const Query& query = exchange.request().query;
  ASSIGN_OR_RETURN(int64_t since, ParseUnixTimestamp(query.Get("since")));
  ASSIGN_OR_RETURN(int64_t until, ParseUnixTimestamp(query.Get("until")));
  ASSIGN_OR_RETURN(Filters filters, Filters::Parse(query.Get("filters")));
  RETURN_IF_ERROR(filters.Validate(
      {"container", "daemon", "event", "image", "label", "network", "scope", "type", "volume"}));
  if (since > 0 && until > 0 && until < since) {
    return absl::InvalidArgumentError("`since` time is after `until` time");
  }
  // The headers go out at once: the CLI waits for them before it prints.
  exchange.StartChunked(200, kJsonType);
  Merger merger(events_->Watch(since, until));
  auto watch = exchange.WatchDisconnect([&merger] { merger.Cancel(); });
  auto write = [&](const events::v1::Event& event) {
    if (!EventMatches(filters, event)) return true;
    return exchange.WriteChunk(RenderEvent(event).dump() + "\n");
  };
  if (until > 0) {
    // A bounded query: all of it, in time order across the daemons.
    std::vector<events::v1::Event> all;
    while (std::optional<events::v1::Event> event = merger.Next()) all.push_back(*event);
    std::stable_sort(all.begin(), all.end(),
                     [](const auto& a, const auto& b) { return a.time_nano() < b.time_nano(); });
    for (const auto& event : all) {
      if (!write(event)) break;
    }
  } else {
    while (std::optional<events::v1::Event> event = merger.Next()) {
      if (!write(*event)) break;
    }
  }
  exchange.EndChunked();
  return absl::OkStatus();
}

}  // namespace berth::apiserver
