#include "apiserver/handlers/stats.h"

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <mutex>

#include "apiserver/handlers/util.h"
#include "apiserver/timefmt.h"
#include "common/status.h"

namespace berth::apiserver {

namespace rt = ::berth::runtime::v1;

namespace {

constexpr auto kInterval = std::chrono::seconds(1);
constexpr char kZeroTime[] = "0001-01-01T00:00:00Z";

Json CpuStats(const rt::ContainerStatsResponse* sample) {
  Json usage = {{"total_usage", 0}, {"usage_in_kernelmode", 0}, {"usage_in_usermode", 0}};
  Json cpu = {
      {"cpu_usage", usage},
      {"throttling_data", {{"periods", 0}, {"throttled_periods", 0}, {"throttled_time", 0}}}};
  if (sample == nullptr || !sample->running()) return cpu;
  cpu["cpu_usage"]["total_usage"] = sample->cpu_total();
  cpu["cpu_usage"]["usage_in_kernelmode"] = sample->cpu_system();
  cpu["cpu_usage"]["usage_in_usermode"] = sample->cpu_user();
  if (sample->cpu_percpu_size() > 0) {
    cpu["cpu_usage"]["percpu_usage"] =
        std::vector<uint64_t>(sample->cpu_percpu().begin(), sample->cpu_percpu().end());
  }
  cpu["system_cpu_usage"] = sample->system_cpu();
  cpu["online_cpus"] = sample->online_cpus();
  return cpu;
}

std::string ReadTime(const rt::ContainerStatsResponse* sample) {
  if (sample == nullptr || !sample->running()) return kZeroTime;
  return FormatRfc3339Nano(sample->read_time());
}

}  // namespace

void StatsHandlers::Register(Router& router) {
  router.Add("GET", "/containers/{name}/stats",
             [this](Exchange& exchange, const std::string& name) { return Stats(exchange, name); });
}

Json RenderStats(const rt::ContainerStatsResponse& sample,
                 const rt::ContainerStatsResponse* previous) {
  Json out = {{"read", ReadTime(&sample)},
              {"preread", ReadTime(previous)},
              {"name", "/" + sample.name()},
              {"id", sample.id()},
              {"num_procs", 0},
              {"storage_stats", Json::object()},
              {"cpu_stats", CpuStats(&sample)},
              {"precpu_stats", CpuStats(previous)},
              {"pids_stats", Json::object()},
              {"memory_stats", Json::object()},
              {"blkio_stats",
               {{"io_service_bytes_recursive", nullptr},
                {"io_serviced_recursive", nullptr},
                {"io_queue_recursive", nullptr},
                {"io_service_time_recursive", nullptr},
                {"io_wait_time_recursive", nullptr},
                {"io_merged_recursive", nullptr},
                {"io_time_recursive", nullptr},
                {"sectors_recursive", nullptr}}}};
  if (!sample.running()) return out;
  out["pids_stats"]["current"] = sample.pids_current();
  if (sample.pids_limit() > 0) out["pids_stats"]["limit"] = sample.pids_limit();
  Json memory_stat = Json::object();
  for (const auto& [key, value] : sample.memory_stat()) memory_stat[key] = value;
  out["memory_stats"] = {
      {"usage", sample.memory_usage()}, {"limit", sample.memory_limit()}, {"stats", memory_stat}};
  if (sample.blkio_size() > 0) {
    Json bytes = Json::array();
    for (const rt::BlkioStat& entry : sample.blkio()) {
      bytes.push_back({{"major", entry.major()},
                       {"minor", entry.minor()},
                       {"op", entry.op()},
                       {"value", entry.value()}});
    }
    out["blkio_stats"]["io_service_bytes_recursive"] = bytes;
  }
  if (sample.networks_size() > 0) {
    Json networks = Json::object();
    for (const rt::NetworkStats& net : sample.networks()) {
      networks[net.interface()] = {
          {"rx_bytes", net.rx_bytes()},   {"rx_packets", net.rx_packets()},
          {"rx_errors", net.rx_errors()}, {"rx_dropped", net.rx_dropped()},
          {"tx_bytes", net.tx_bytes()},   {"tx_packets", net.tx_packets()},
          {"tx_errors", net.tx_errors()}, {"tx_dropped", net.tx_dropped()}};
    }
    out["networks"] = networks;
  }
  return out;
}

absl::Status StatsHandlers::Stats(Exchange& exchange, const std::string& name) {
  const Query& query = exchange.request().query;
  bool stream = !query.Has("stream") || query.GetBool("stream");
  bool one_shot = query.GetBool("one-shot");
  ASSIGN_OR_RETURN(rt::ContainerStatsResponse first, stats_->ContainerStats(name));

  std::mutex mu;
  std::condition_variable cv;
  bool gone = false;
  auto watch = exchange.WatchDisconnect([&] {
    std::lock_guard<std::mutex> lock(mu);
    gone = true;
    cv.notify_all();
  });
  // Sleeps one interval; false when the client went away meanwhile.
  auto wait = [&] {
    std::unique_lock<std::mutex> lock(mu);
    return !cv.wait_for(lock, kInterval, [&] { return gone; });
  };

  if (!stream) {
    // Docker samples twice so that the CPU percentage can be computed.
    if (one_shot || !first.running()) {
      ReplyJson(exchange, 200, RenderStats(first, nullptr));
      return absl::OkStatus();
    }
    if (!wait()) return absl::OkStatus();
    ASSIGN_OR_RETURN(rt::ContainerStatsResponse second, stats_->ContainerStats(first.id()));
    ReplyJson(exchange, 200, RenderStats(second, &first));
    return absl::OkStatus();
  }

  if (!exchange.StartChunked(200, kJsonType)) return absl::OkStatus();
  rt::ContainerStatsResponse previous;
  bool have_previous = false;
  rt::ContainerStatsResponse current = std::move(first);
  while (true) {
    std::string line = RenderStats(current, have_previous ? &previous : nullptr).dump() + "\n";
    if (!exchange.WriteChunk(line)) return absl::OkStatus();
    if (!current.running() || !wait()) break;
    absl::StatusOr<rt::ContainerStatsResponse> next = stats_->ContainerStats(current.id());
    if (!next.ok()) break;  // removed meanwhile
    previous = std::move(current);
    have_previous = true;
    current = *std::move(next);
  }
  exchange.EndChunked();
  return absl::OkStatus();
}

}  // namespace berth::apiserver
