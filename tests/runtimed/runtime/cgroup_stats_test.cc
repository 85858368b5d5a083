// docker stats' counters from a cgroup v1 tree laid out in a temp dir, the
// parsers, and a real cgroup2 mount when the host has one.
#include "runtimed/runtime/cgroup_stats.h"

#include <sys/stat.h>
#include <unistd.h>

#include <catch2/catch.hpp>

#include "common/fs.h"
#include "runtimed/runtime/cgroups.h"

namespace berth::runtime {
namespace {

void Write(const std::string& path, const std::string& content) {
  REQUIRE(MakeDirs(path.substr(0, path.rfind('/'))).ok());
  REQUIRE(WriteFileAtomic(path, content).ok());
}

TEST_CASE("ParseNetDev skips the headers and lo") {
  std::vector<NetworkCounters> counters = ParseNetDev(
      "Inter-|   Receive                                                |  Transmit\n"
      " face |bytes    packets errs drop fifo frame compressed multicast|bytes    packets errs "
      "drop fifo colls carrier compressed\n"
      "    lo:     100       2    0    0    0     0          0         0      100       2    0 "
      "   0    0     0       0          0\n"
      "  eth0:    1500      10    1    2    0     0          0         0      700       5    3 "
      "   4    0     0       0          0\n");
  REQUIRE(counters.size() == 1);
  CHECK(counters[0].interface == "eth0");
  CHECK(counters[0].rx_bytes == 1500);
  CHECK(counters[0].rx_packets == 10);
  CHECK(counters[0].rx_errors == 1);
  CHECK(counters[0].rx_dropped == 2);
  CHECK(counters[0].tx_bytes == 700);
  CHECK(counters[0].tx_packets == 5);
  CHECK(counters[0].tx_errors == 3);
  CHECK(counters[0].tx_dropped == 4);
}

TEST_CASE("ParseFlatKeyed reads key value lines") {
  auto map = ParseFlatKeyed("cache 4096\nrss 8192\nbogus\nx y\n");
  CHECK(map.size() == 2);
  CHECK(map["cache"] == 4096);
  CHECK(map["rss"] == 8192);
}

TEST_CASE("ReadCgroupStats reads a v1 layout") {
  char tmpl[] = "/tmp/bcsXXXXXX";
  REQUIRE(mkdtemp(tmpl) != nullptr);
  std::string root = tmpl;
  std::string rel = "berth/abc";
  Write(root + "/cpuacct/" + rel + "/cpuacct.usage", "123456789\n");
  Write(root + "/cpuacct/" + rel + "/cpuacct.usage_percpu", "100 200 \n");
  Write(root + "/cpuacct/" + rel + "/cpuacct.stat", "user 10\nsystem 5\n");
  Write(root + "/memory/" + rel + "/memory.usage_in_bytes", "1048576\n");
  Write(root + "/memory/" + rel + "/memory.limit_in_bytes", "67108864\n");
  Write(root + "/memory/" + rel + "/memory.stat", "cache 4096\ntotal_inactive_file 1024\n");
  Write(root + "/pids/" + rel + "/pids.current", "3\n");
  Write(root + "/pids/" + rel + "/pids.max", "max\n");
  Write(root + "/blkio/" + rel + "/blkio.throttle.io_service_bytes_recursive",
        "8:0 Read 4096\n8:0 Write 512\nTotal 4608\n");
  Write(root + "/proc/stat", "cpu  100 0 50 1000 0 0 0 0 0 0\ncpu0 100 0 50 1000 0 0 0 0 0 0\n");
  Write(root + "/proc/42/net/dev", "h1\nh2\n  eth0: 10 1 0 0 0 0 0 0 20 2 0 0 0 0 0 0\n");

  absl::StatusOr<CgroupStats> stats = ReadCgroupStats("/" + rel, 42, root, root + "/proc");
  REQUIRE(stats.ok());
  CHECK_FALSE(stats->cgroup2);
  CHECK(stats->cpu_total == 123456789);
  CHECK(stats->cpu_percpu == std::vector<uint64_t>{100, 200});
  long hz = sysconf(_SC_CLK_TCK);
  CHECK(stats->cpu_user == 10 * (1000000000ULL / hz));
  CHECK(stats->cpu_system == 5 * (1000000000ULL / hz));
  CHECK(stats->system_cpu == 1150 * (1000000000ULL / hz));
  CHECK(stats->memory_usage == 1048576);
  CHECK(stats->memory_limit == 67108864);
  CHECK(stats->memory_stat["cache"] == 4096);
  CHECK(stats->pids_current == 3);
  CHECK(stats->pids_limit == 0);
  REQUIRE(stats->blkio.size() == 2);
  CHECK(stats->blkio[0].op == "Read");
  CHECK(stats->blkio[0].value == 4096);
  REQUIRE(stats->networks.size() == 1);
  CHECK(stats->networks[0].tx_bytes == 20);
  CHECK(stats->online_cpus >= 1);

  CHECK(absl::IsNotFound(ReadCgroupStats("berth/nope", 0, root, root + "/proc").status()));
  RemoveAll(root).IgnoreError();
}

TEST_CASE("ReadCgroupStats reads a real cgroup2 hierarchy") {
  std::string root = IsCgroup2("/sys/fs/cgroup") ? "/sys/fs/cgroup" : "/sys/fs/cgroup/unified";
  if (!IsCgroup2(root)) return;  // no cgroup2 on this host
  std::string rel = "berth-stats-test-" + std::to_string(getpid());
  REQUIRE(mkdir((root + "/" + rel).c_str(), 0755) == 0);
  absl::StatusOr<CgroupStats> stats = ReadCgroupStats(rel, 0, root);
  rmdir((root + "/" + rel).c_str());
  REQUIRE(stats.ok());
  CHECK(stats->cgroup2);
  CHECK(stats->cpu_total == 0);  // nothing ever ran in it
  CHECK(stats->memory_limit > 0);
  CHECK(stats->system_cpu > 0);
}

}  // namespace
}  // namespace berth::runtime
