// One sample of a container's resource counters (docker stats), read from
// its cgroup (v1: one hierarchy per controller; v2: the unified one) and, for
// the network, from its init's /proc/<pid>/net/dev, which shows the
// container's own network namespace.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "absl/status/statusor.h"

namespace berth::runtime {

struct NetworkCounters {
  std::string interface;
  uint64_t rx_bytes = 0, rx_packets = 0, rx_errors = 0, rx_dropped = 0;
  uint64_t tx_bytes = 0, tx_packets = 0, tx_errors = 0, tx_dropped = 0;
};

struct BlkioEntry {
  uint64_t major = 0;
  uint64_t minor = 0;
  std::string op;  // "read", "write" (Docker's lowercase on v2, "Read" on v1)
  uint64_t value = 0;
};

struct CgroupStats {
  bool cgroup2 = false;
  // CPU time in nanoseconds.
  uint64_t cpu_total = 0;
  uint64_t cpu_user = 0;
  uint64_t cpu_system = 0;
  std::vector<uint64_t> cpu_percpu;  // v1 only
  // The host's CPU time (all CPUs, /proc/stat) in nanoseconds.
  uint64_t system_cpu = 0;
  uint32_t online_cpus = 0;
  uint64_t memory_usage = 0;
  uint64_t memory_limit = 0;  // the host's memory when unlimited
  std::map<std::string, uint64_t> memory_stat;
  uint64_t pids_current = 0;
  uint64_t pids_limit = 0;  // 0: unlimited
  std::vector<BlkioEntry> blkio;
  std::vector<NetworkCounters> networks;
};

// cgroups_path as in config.json ("berth/<id>"); pid: the container's init,
// 0 to skip the network counters. Counters a kernel does not offer stay 0;
// a cgroup that does not exist is NotFound.
absl::StatusOr<CgroupStats> ReadCgroupStats(const std::string& cgroups_path, pid_t pid,
                                            const std::string& root = "/sys/fs/cgroup",
                                            const std::string& proc = "/proc");

// Parsers, public for tests.
std::map<std::string, uint64_t> ParseFlatKeyed(const std::string& text);
std::vector<NetworkCounters> ParseNetDev(const std::string& text);

}  // namespace berth::runtime
