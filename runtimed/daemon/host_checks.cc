#include "runtimed/daemon/host_checks.h"

#include <sched.h>

#include <algorithm>
#include <set>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "common/fs.h"
#include "common/status.h"
#include "runtimed/daemon/signals.h"

namespace berth::runtimed {
namespace {

constexpr int64_t kMinMemory = 6 * 1024 * 1024;  // Moby's linuxMinMemory

int64_t Int(const Json& object, const char* key) {
  if (!object.is_object()) return 0;
  auto it = object.find(key);
  return it != object.end() && it->is_number_integer() ? it->get<int64_t>() : 0;
}

std::string String(const Json& object, const char* key) {
  if (!object.is_object()) return "";
  auto it = object.find(key);
  return it != object.end() && it->is_string() ? it->get<std::string>() : "";
}

std::string FirstLine(const std::string& path) {
  std::string text = ReadFile(path).value_or("");
  return std::string(absl::StripAsciiWhitespace(text.substr(0, text.find('\n'))));
}

// Moby's isCpusetListAvailable: an unparsable list is an error, one naming
// what the host lacks is false.
absl::StatusOr<bool> ListAvailable(const std::string& requested, const std::string& available) {
  std::vector<int> wanted, have;
  RETURN_IF_ERROR(ParseCpuList(requested, &wanted));
  // A host list that cannot be read checks nothing (the kernel still will).
  if (available.empty() || !ParseCpuList(available, &have).ok()) return true;
  const std::set<int> offered(have.begin(), have.end());
  return std::all_of(wanted.begin(), wanted.end(), [&](int n) { return offered.count(n) != 0; });
}

absl::Status Invalid(const std::string& message) { return absl::InvalidArgumentError(message); }

}  // namespace

absl::Status ParseCpuList(const std::string& list, std::vector<int>* out) {
  out->clear();
  if (list.empty()) return absl::OkStatus();
  const absl::Status invalid = Invalid("invalid format: " + list);
  for (absl::string_view range : absl::StrSplit(list, ',')) {
    std::vector<absl::string_view> ends = absl::StrSplit(range, absl::MaxSplits('-', 1));
    int low = 0, high = 0;
    if (!absl::SimpleAtoi(ends[0], &low) || low < 0) return invalid;
    high = low;
    if (ends.size() == 2 && (!absl::SimpleAtoi(ends[1], &high) || high < low)) return invalid;
    // Moby caps a list's size too: "0-2000000000" must not allocate it.
    if (high - low > 8192) return invalid;
    for (int n = low; n <= high; ++n) out->push_back(n);
  }
  return absl::OkStatus();
}

HostCpus ReadHostCpus(const std::string& cgroup_root) {
  HostCpus host;
  cpu_set_t set;
  if (sched_getaffinity(0, sizeof(set), &set) == 0) host.count = CPU_COUNT(&set);
  for (const std::string& dir : {cgroup_root + "/cpuset/", cgroup_root + "/"}) {
    host.cpus = FirstLine(dir + "cpuset.effective_cpus");
    if (host.cpus.empty()) host.cpus = FirstLine(dir + "cpuset.cpus.effective");
    host.mems = FirstLine(dir + "cpuset.effective_mems");
    if (host.mems.empty()) host.mems = FirstLine(dir + "cpuset.mems.effective");
    if (!host.cpus.empty()) break;
  }
  return host;
}

absl::Status VerifyContainerSettings(const Json& config, const Json& host_config,
                                     const HostCpus& host, bool update) {
  if (std::string signal = String(config, "StopSignal"); !signal.empty()) {
    RETURN_IF_ERROR(ParseSignal(signal).status());
  }
  const Json& h = host_config;
  if (const int64_t adj = Int(h, "OomScoreAdj"); adj < -1000 || adj > 1000) {
    return Invalid(
        absl::StrCat("Invalid value ", adj, ", range for oom score adj is [-1000, 1000]"));
  }

  const int64_t memory = Int(h, "Memory");
  const int64_t swap = Int(h, "MemorySwap");
  const int64_t reservation = Int(h, "MemoryReservation");
  if (memory != 0 && memory < kMinMemory) return Invalid("Minimum memory limit allowed is 6MB");
  if (memory > 0 && swap > 0 && swap < memory) {
    return Invalid("Minimum memoryswap limit should be larger than memory limit, see usage");
  }
  if (memory == 0 && swap > 0 && !update) {
    return Invalid("You should always set the Memory limit when using Memoryswap limit, see usage");
  }
  if (auto it = h.find("MemorySwappiness"); it != h.end() && it->is_number_integer()) {
    const int64_t swappiness = it->get<int64_t>();
    // -1 is the API's "unset".
    if (swappiness != -1 && (swappiness < 0 || swappiness > 100)) {
      return Invalid(
          absl::StrCat("Invalid value: ", swappiness, ", valid memory swappiness range is 0-100"));
    }
  }
  if (reservation > 0 && reservation < kMinMemory) {
    return Invalid("Minimum memory reservation allowed is 6MB");
  }
  if (memory > 0 && reservation > 0 && memory < reservation) {
    return Invalid("Minimum memory limit can not be less than memory reservation limit, see usage");
  }

  const int64_t nano_cpus = Int(h, "NanoCpus");
  const int64_t period = Int(h, "CpuPeriod");
  const int64_t quota = Int(h, "CpuQuota");
  if (nano_cpus > 0 && period > 0) {
    return Invalid("Conflicting options: Nano CPUs and CPU Period cannot both be set");
  }
  if (nano_cpus > 0 && quota > 0) {
    return Invalid("Conflicting options: Nano CPUs and CPU Quota cannot both be set");
  }
  if (nano_cpus < 0 || nano_cpus > int64_t{host.count} * 1000000000) {
    return Invalid(absl::StrCat("Range of CPUs is from 0.01 to ", host.count,
                                ".00, as there are only ", host.count, " CPUs available"));
  }
  if (period != 0 && (period < 1000 || period > 1000000)) {
    return Invalid(
        "CPU cfs period can not be less than 1ms (i.e. 1000) or larger than 1s (i.e. 1000000)");
  }
  if (quota > 0 && quota < 1000)
    return Invalid("CPU cfs quota can not be less than 1ms (i.e. 1000)");

  // Moby's words for a cpuset list that does not parse or asks for what the
  // host lacks; `what` is "cpus" or "mems", `unit` how Moby calls them then.
  auto check_cpuset = [&](const char* field, const char* what, const char* unit,
                          const std::string& available) -> absl::Status {
    const std::string list = String(h, field);
    absl::StatusOr<bool> ok = ListAvailable(list, available);
    if (!ok.ok()) {
      return Invalid(
          absl::StrCat("Invalid value ", list, " for cpuset ", what, ": ", ok.status().message()));
    }
    if (!*ok) {
      return Invalid(absl::StrCat("Requested ", unit, " are not available - requested ", list,
                                  ", available: ", available));
    }
    return absl::OkStatus();
  };
  RETURN_IF_ERROR(check_cpuset("CpusetCpus", "cpus", "CPUs", host.cpus));
  RETURN_IF_ERROR(check_cpuset("CpusetMems", "mems", "memory nodes", host.mems));

  if (const int64_t weight = Int(h, "BlkioWeight"); weight > 0 && (weight < 10 || weight > 1000)) {
    return Invalid("Range of blkio weight is from 10 to 1000");
  }
  return absl::OkStatus();
}

}  // namespace berth::runtimed
