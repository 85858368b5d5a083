// Moby's create-time checks of limits and signals, in its words.
#include "runtimed/daemon/host_checks.h"

#include <catch2/catch.hpp>

namespace berth::runtimed {
namespace {

const HostCpus kHost = {2, "0-1", "0"};

std::string Refusal(const std::string& host_config, const std::string& config = "{}",
                    bool update = false) {
  absl::Status status =
      VerifyContainerSettings(Json::parse(config), Json::parse(host_config), kHost, update);
  if (status.ok()) return "ok";
  CHECK(absl::IsInvalidArgument(status));
  return std::string(status.message());
}

TEST_CASE("limits Moby refuses at create, in its words") {
  CHECK(Refusal(R"({"Memory":4194304})") == "Minimum memory limit allowed is 6MB");
  CHECK(Refusal(R"({"Memory":20971520,"MemorySwap":10485760})") ==
        "Minimum memoryswap limit should be larger than memory limit, see usage");
  CHECK(Refusal(R"({"MemorySwap":20971520})") ==
        "You should always set the Memory limit when using Memoryswap limit, see usage");
  CHECK(Refusal(R"({"MemorySwap":20971520})", "{}", /*update=*/true) == "ok");
  CHECK(Refusal(R"({"Memory":20971520,"MemorySwap":-1})") == "ok");
  CHECK(Refusal(R"({"MemoryReservation":1048576})") == "Minimum memory reservation allowed is 6MB");
  CHECK(Refusal(R"({"Memory":10485760,"MemoryReservation":20971520})") ==
        "Minimum memory limit can not be less than memory reservation limit, see usage");
  CHECK(Refusal(R"({"MemorySwappiness":101})") ==
        "Invalid value: 101, valid memory swappiness range is 0-100");
  CHECK(Refusal(R"({"MemorySwappiness":-1})") == "ok");
  CHECK(Refusal(R"({"NanoCpus":1000000000,"CpuPeriod":100000})") ==
        "Conflicting options: Nano CPUs and CPU Period cannot both be set");
  CHECK(Refusal(R"({"NanoCpus":1000000000,"CpuQuota":50000})") ==
        "Conflicting options: Nano CPUs and CPU Quota cannot both be set");
  CHECK(Refusal(R"({"NanoCpus":3000000000})") ==
        "Range of CPUs is from 0.01 to 2.00, as there are only 2 CPUs available");
  CHECK(Refusal(R"({"NanoCpus":2000000000})") == "ok");
  CHECK(Refusal(R"({"CpuPeriod":500})") ==
        "CPU cfs period can not be less than 1ms (i.e. 1000) or larger than 1s (i.e. 1000000)");
  CHECK(Refusal(R"({"CpuPeriod":2000000})") ==
        "CPU cfs period can not be less than 1ms (i.e. 1000) or larger than 1s (i.e. 1000000)");
  CHECK(Refusal(R"({"CpuQuota":500})") == "CPU cfs quota can not be less than 1ms (i.e. 1000)");
  CHECK(Refusal(R"({"CpuQuota":-1})") == "ok");
  CHECK(Refusal(R"({"CpusetCpus":"1,0-1"})") == "ok");
  CHECK(Refusal(R"({"CpusetCpus":"2"})") ==
        "Requested CPUs are not available - requested 2, available: 0-1");
  CHECK(Refusal(R"({"CpusetCpus":"0-x"})") ==
        "Invalid value 0-x for cpuset cpus: invalid format: 0-x");
  CHECK(Refusal(R"({"CpusetCpus":"1-0"})") ==
        "Invalid value 1-0 for cpuset cpus: invalid format: 1-0");
  CHECK(Refusal(R"({"CpusetMems":"1"})") ==
        "Requested memory nodes are not available - requested 1, available: 0");
  CHECK(Refusal(R"({"BlkioWeight":5})") == "Range of blkio weight is from 10 to 1000");
  CHECK(Refusal(R"({"BlkioWeight":0})") == "ok");
  CHECK(Refusal(R"({"OomScoreAdj":-1001})") ==
        "Invalid value -1001, range for oom score adj is [-1000, 1000]");
  CHECK(Refusal("{}", R"({"StopSignal":"SIGNOPE"})") == "Invalid signal: SIGNOPE");
  CHECK(Refusal("{}", R"({"StopSignal":"SIGUSR1"})") == "ok");
  CHECK(Refusal("{}", R"({"StopSignal":"9"})") == "ok");
}

TEST_CASE("cpu lists parse as Moby's ParseUintList, the host's are read") {
  std::vector<int> cpus;
  REQUIRE(ParseCpuList("0-2,5", &cpus).ok());
  CHECK(cpus == std::vector<int>{0, 1, 2, 5});
  CHECK_FALSE(ParseCpuList("0-2000000000", &cpus).ok());
  CHECK_FALSE(ParseCpuList("-1", &cpus).ok());
  CHECK_FALSE(ParseCpuList("1,", &cpus).ok());
  HostCpus host = ReadHostCpus("/sys/fs/cgroup");
  CHECK(host.count >= 1);
  // A host without a readable cpuset checks nothing rather than refusing all.
  HostCpus none = ReadHostCpus("/nonexistent");
  CHECK(none.cpus.empty());
  CHECK(VerifyContainerSettings(Json::object(), Json::parse(R"({"CpusetCpus":"0"})"), none).ok());
}

}  // namespace
}  // namespace berth::runtimed
