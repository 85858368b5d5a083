#include "runtimed/runtime/cgroup_stats.h"

#include <unistd.h>

#include "absl/strings/numbers.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "common/fs.h"
#include "common/status.h"
#include "runtimed/runtime/cgroups.h"

namespace berth::runtime {
namespace {

std::string Trimmed(const std::string& text) {
  return std::string(absl::StripAsciiWhitespace(text));
}

// A number from a single-value file; 0 when missing or "max".
uint64_t ReadNumber(const std::string& path) {
  absl::StatusOr<std::string> text = ReadFile(path);
  uint64_t value = 0;
  if (!text.ok() || !absl::SimpleAtoi(Trimmed(*text), &value)) return 0;
  return value;
}

std::map<std::string, uint64_t> ReadFlatKeyed(const std::string& path) {
  absl::StatusOr<std::string> text = ReadFile(path);
  if (!text.ok()) return {};
  return ParseFlatKeyed(*text);
}

uint64_t HostMemory() {
  long pages = sysconf(_SC_PHYS_PAGES), size = sysconf(_SC_PAGESIZE);
  return pages > 0 && size > 0 ? static_cast<uint64_t>(pages) * static_cast<uint64_t>(size) : 0;
}

// /proc/stat's "cpu" line: user nice system idle iowait irq softirq steal,
// in clock ticks; Docker's system_cpu_usage is their sum in nanoseconds.
uint64_t SystemCpuNanos(const std::string& proc) {
  absl::StatusOr<std::string> text = ReadFile(proc + "/stat");
  if (!text.ok()) return 0;
  std::vector<std::string> lines = absl::StrSplit(*text, '\n');
  if (lines.empty()) return 0;
  std::vector<std::string> fields = absl::StrSplit(lines[0], ' ', absl::SkipEmpty());
  if (fields.empty() || fields[0] != "cpu") return 0;
  uint64_t ticks = 0;
  for (size_t i = 1; i < fields.size() && i <= 8; ++i) {
    uint64_t value = 0;
    if (absl::SimpleAtoi(fields[i], &value)) ticks += value;
  }
  long hz = sysconf(_SC_CLK_TCK);
  return hz > 0 ? ticks * (1000000000ULL / static_cast<uint64_t>(hz)) : 0;
}

void ReadV1(const std::string& root, const std::string& relative, CgroupStats* stats) {
  auto dir = [&](const char* controller) { return root + "/" + controller + "/" + relative; };
  stats->cpu_total = ReadNumber(dir("cpuacct") + "/cpuacct.usage");
  if (absl::StatusOr<std::string> percpu = ReadFile(dir("cpuacct") + "/cpuacct.usage_percpu");
      percpu.ok()) {
    for (absl::string_view field : absl::StrSplit(*percpu, ' ', absl::SkipWhitespace())) {
      uint64_t value = 0;
      if (absl::SimpleAtoi(field, &value)) stats->cpu_percpu.push_back(value);
    }
  }
  std::map<std::string, uint64_t> cpu = ReadFlatKeyed(dir("cpuacct") + "/cpuacct.stat");
  long hz = sysconf(_SC_CLK_TCK);
  uint64_t tick = hz > 0 ? 1000000000ULL / static_cast<uint64_t>(hz) : 0;
  stats->cpu_user = cpu["user"] * tick;
  stats->cpu_system = cpu["system"] * tick;
  stats->memory_usage = ReadNumber(dir("memory") + "/memory.usage_in_bytes");
  stats->memory_limit = ReadNumber(dir("memory") + "/memory.limit_in_bytes");
  stats->memory_stat = ReadFlatKeyed(dir("memory") + "/memory.stat");
  stats->pids_current = ReadNumber(dir("pids") + "/pids.current");
  stats->pids_limit = ReadNumber(dir("pids") + "/pids.max");
  // "8:0 Read 4096" lines, then "Total N".
  if (absl::StatusOr<std::string> io =
          ReadFile(dir("blkio") + "/blkio.throttle.io_service_bytes_recursive");
      io.ok()) {
    for (absl::string_view line : absl::StrSplit(*io, '\n', absl::SkipEmpty())) {
      std::vector<std::string> fields = absl::StrSplit(line, ' ', absl::SkipEmpty());
      if (fields.size() != 3) continue;
      std::vector<std::string> device = absl::StrSplit(fields[0], ':');
      BlkioEntry entry;
      if (device.size() != 2 || !absl::SimpleAtoi(device[0], &entry.major) ||
          !absl::SimpleAtoi(device[1], &entry.minor) ||
          !absl::SimpleAtoi(fields[2], &entry.value)) {
        continue;
      }
      entry.op = fields[1];
      stats->blkio.push_back(std::move(entry));
    }
  }
}

void ReadV2(const std::string& dir, CgroupStats* stats) {
  std::map<std::string, uint64_t> cpu = ReadFlatKeyed(dir + "/cpu.stat");
  stats->cpu_total = cpu["usage_usec"] * 1000;
  stats->cpu_user = cpu["user_usec"] * 1000;
  stats->cpu_system = cpu["system_usec"] * 1000;
  stats->memory_usage = ReadNumber(dir + "/memory.current");
  stats->memory_limit = ReadNumber(dir + "/memory.max");
  stats->memory_stat = ReadFlatKeyed(dir + "/memory.stat");
  stats->pids_current = ReadNumber(dir + "/pids.current");
  stats->pids_limit = ReadNumber(dir + "/pids.max");
  // "8:0 rbytes=4096 wbytes=0 rios=1 wios=0 ..."
  if (absl::StatusOr<std::string> io = ReadFile(dir + "/io.stat"); io.ok()) {
    for (absl::string_view line : absl::StrSplit(*io, '\n', absl::SkipEmpty())) {
      std::vector<std::string> fields = absl::StrSplit(line, ' ', absl::SkipEmpty());
      if (fields.empty()) continue;
      std::vector<std::string> device = absl::StrSplit(fields[0], ':');
      uint64_t major = 0, minor = 0;
      if (device.size() != 2 || !absl::SimpleAtoi(device[0], &major) ||
          !absl::SimpleAtoi(device[1], &minor)) {
        continue;
      }
      for (size_t i = 1; i < fields.size(); ++i) {
        std::pair<std::string, std::string> kv = absl::StrSplit(fields[i], '=');
        uint64_t value = 0;
        if (!absl::SimpleAtoi(kv.second, &value)) continue;
        if (kv.first == "rbytes") stats->blkio.push_back({major, minor, "read", value});
        if (kv.first == "wbytes") stats->blkio.push_back({major, minor, "write", value});
      }
    }
  }
}

}  // namespace

std::map<std::string, uint64_t> ParseFlatKeyed(const std::string& text) {
  std::map<std::string, uint64_t> result;
  for (absl::string_view line : absl::StrSplit(text, '\n', absl::SkipEmpty())) {
    std::vector<std::string> fields = absl::StrSplit(line, ' ', absl::SkipEmpty());
    uint64_t value = 0;
    if (fields.size() == 2 && absl::SimpleAtoi(fields[1], &value)) result[fields[0]] = value;
  }
  return result;
}

std::vector<NetworkCounters> ParseNetDev(const std::string& text) {
  std::vector<NetworkCounters> result;
  for (absl::string_view line : absl::StrSplit(text, '\n', absl::SkipEmpty())) {
    size_t colon = line.find(':');
    if (colon == absl::string_view::npos) continue;  // the two header lines
    NetworkCounters counters;
    counters.interface = std::string(absl::StripAsciiWhitespace(line.substr(0, colon)));
    if (counters.interface == "lo") continue;  // Docker leaves it out
    std::vector<std::string> fields =
        absl::StrSplit(line.substr(colon + 1), ' ', absl::SkipEmpty());
    if (fields.size() < 16) continue;
    uint64_t v[16] = {};
    for (size_t i = 0; i < 16; ++i) absl::SimpleAtoi(fields[i], &v[i]);
    counters.rx_bytes = v[0];
    counters.rx_packets = v[1];
    counters.rx_errors = v[2];
    counters.rx_dropped = v[3];
    counters.tx_bytes = v[8];
    counters.tx_packets = v[9];
    counters.tx_errors = v[10];
    counters.tx_dropped = v[11];
    result.push_back(std::move(counters));
  }
  return result;
}

absl::StatusOr<CgroupStats> ReadCgroupStats(const std::string& cgroups_path, pid_t pid,
                                            const std::string& root, const std::string& proc) {
  // Either driver's form ("slice:prefix:name" is systemd's scope).
  absl::StatusOr<std::string> resolved = CgroupRelativePath(cgroups_path, root, proc);
  if (!resolved.ok()) return resolved.status();
  std::string relative = *resolved;
  CgroupStats stats;
  stats.cgroup2 = IsCgroup2(root);
  std::string probe = stats.cgroup2 ? root + "/" + relative : root + "/memory/" + relative;
  if (!PathExists(probe)) return absl::NotFoundError("no cgroup " + probe);
  if (stats.cgroup2) {
    ReadV2(root + "/" + relative, &stats);
  } else {
    ReadV1(root, relative, &stats);
  }
  // Unlimited is a huge number on v1 and 0 ("max") here: Docker shows the
  // host's memory.
  uint64_t host = HostMemory();
  if (stats.memory_limit == 0 || (host > 0 && stats.memory_limit > host)) stats.memory_limit = host;
  stats.system_cpu = SystemCpuNanos(proc);
  long cpus = sysconf(_SC_NPROCESSORS_ONLN);
  stats.online_cpus = cpus > 0 ? static_cast<uint32_t>(cpus) : 1;
  if (pid > 0) {
    absl::StatusOr<std::string> dev = ReadFile(proc + "/" + std::to_string(pid) + "/net/dev");
    if (dev.ok()) stats.networks = ParseNetDev(*dev);
  }
  return stats;
}

}  // namespace berth::runtime
