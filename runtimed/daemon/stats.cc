#include "runtimed/daemon/stats.h"

#include <time.h>

#include "common/fs.h"
#include "common/json.h"
#include "common/status.h"
#include "runtimed/runtime/cgroup_stats.h"

namespace berth::runtimed {

absl::StatusOr<runtime::v1::ContainerStatsResponse> ContainerStatsReader::Read(
    const std::string& ref) {
  ASSIGN_OR_RETURN(ExecTarget target, containers_->Find(ref));
  runtime::v1::ContainerStatsResponse out;
  out.set_id(target.id);
  out.set_name(target.name);
  timespec now;
  clock_gettime(CLOCK_REALTIME, &now);
  out.set_read_time(static_cast<int64_t>(now.tv_sec) * 1000000000 + now.tv_nsec);
  if (target.status != "running" && target.status != "paused") return out;
  ASSIGN_OR_RETURN(std::string text, ReadFile(target.bundle_dir + "/config.json"));
  ASSIGN_OR_RETURN(Json config, ParseJson(text));
  std::string cgroups_path;
  if (config.contains("linux") && config["linux"].is_object()) {
    cgroups_path = config["linux"].value("cgroupsPath", "");
  }
  if (cgroups_path.empty()) return absl::InternalError("container " + target.id + " has no cgroup");
  absl::StatusOr<runtime::CgroupStats> stats =
      runtime::ReadCgroupStats(cgroups_path, static_cast<pid_t>(target.pid), cgroup_root_);
  // It stopped between the lookup and the read.
  if (absl::IsNotFound(stats.status())) return out;
  if (!stats.ok()) return stats.status();
  out.set_running(true);
  out.set_cgroup2(stats->cgroup2);
  out.set_cpu_total(stats->cpu_total);
  out.set_cpu_user(stats->cpu_user);
  out.set_cpu_system(stats->cpu_system);
  for (uint64_t value : stats->cpu_percpu) out.add_cpu_percpu(value);
  out.set_system_cpu(stats->system_cpu);
  out.set_online_cpus(stats->online_cpus);
  out.set_memory_usage(stats->memory_usage);
  out.set_memory_limit(stats->memory_limit);
  for (const auto& [key, value] : stats->memory_stat) (*out.mutable_memory_stat())[key] = value;
  out.set_pids_current(stats->pids_current);
  out.set_pids_limit(stats->pids_limit);
  for (const runtime::BlkioEntry& entry : stats->blkio) {
    runtime::v1::BlkioStat* stat = out.add_blkio();
    stat->set_major(entry.major);
    stat->set_minor(entry.minor);
    stat->set_op(entry.op);
    stat->set_value(entry.value);
  }
  for (const runtime::NetworkCounters& net : stats->networks) {
    runtime::v1::NetworkStats* n = out.add_networks();
    n->set_interface(net.interface);
    n->set_rx_bytes(net.rx_bytes);
    n->set_rx_packets(net.rx_packets);
    n->set_rx_errors(net.rx_errors);
    n->set_rx_dropped(net.rx_dropped);
    n->set_tx_bytes(net.tx_bytes);
    n->set_tx_packets(net.tx_packets);
    n->set_tx_errors(net.tx_errors);
    n->set_tx_dropped(net.tx_dropped);
  }
  return out;
}

}  // namespace berth::runtimed
