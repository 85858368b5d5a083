// berth-runtimed: containers and their lifecycle (berth.runtime.v1).
#include <linux/magic.h>
#include <sys/statfs.h>
#include <unistd.h>

#include <climits>
#include <string>

#include "absl/flags/flag.h"
#include "common/daemon_options.h"
#include "common/event_journal.h"
#include "common/fs.h"
#include "common/grpc_server.h"
#include "common/json.h"
#include "common/log.h"
#include "common/userns_remap.h"
#include "runtimed/daemon/cgroup_driver.h"
#include "runtimed/daemon/container_events.h"
#include "runtimed/daemon/container_manager.h"
#include "runtimed/daemon/exec_targets.h"
#include "runtimed/daemon/grpc_clients.h"
#include "runtimed/daemon/health.h"
#include "runtimed/daemon/health_prober.h"
#include "runtimed/daemon/service.h"
#include "runtimed/daemon/shim_launcher.h"
#include "runtimed/runtime/systemd_bus.h"

ABSL_FLAG(std::string, shim_binary, "",
          "Path of berth-shim (default: berth-shim beside this binary)");
ABSL_FLAG(std::string, cgroup_parent, "berth", "Parent cgroup of containers");
ABSL_FLAG(std::string, init_path, "",
          "Static init for `docker run --init` (default: tini-static or docker-init from "
          "/usr/local/bin, /usr/bin or /usr/libexec/docker)");

namespace {

std::string SiblingBinary(const std::string& name) {
  char self[PATH_MAX];
  ssize_t n = readlink("/proc/self/exe", self, sizeof(self) - 1);
  if (n <= 0) return name;
  std::string path(self, static_cast<size_t>(n));
  return path.substr(0, path.rfind('/') + 1) + name;
}

std::string FindInit() {
  // Static builds only: the init runs inside images that may have no libc.
  for (const char* name : {"tini-static", "docker-init"}) {
    for (const char* dir : {"/usr/local/bin", "/usr/bin", "/usr/libexec/docker"}) {
      std::string path = std::string(dir) + "/" + name;
      if (access(path.c_str(), X_OK) == 0) return path;
    }
  }
  return "";
}

bool HostIsCgroupV2() {
  struct statfs fs;
  return statfs("/sys/fs/cgroup", &fs) == 0 && fs.f_type == CGROUP2_SUPER_MAGIC;
}

}  // namespace

int main(int argc, char** argv) {
  berth::BlockTerminationSignals();
  berth::DaemonOptions options = berth::ParseDaemonFlags(argc, argv, "runtimed");

  berth::runtimed::ManagerOptions manager_options;
  manager_options.state_dir = options.StateDir();
  manager_options.run_dir = options.RunDir();
  manager_options.shim_binary = absl::GetFlag(FLAGS_shim_binary);
  if (manager_options.shim_binary.empty()) {
    manager_options.shim_binary = SiblingBinary("berth-shim");
  }
  manager_options.cgroup_parent = absl::GetFlag(FLAGS_cgroup_parent);
  manager_options.cgroup_v2 = HostIsCgroupV2();
  manager_options.init_path = absl::GetFlag(FLAGS_init_path);
  berth::EventJournal events;
  manager_options.events = &events;
  if (manager_options.init_path.empty()) manager_options.init_path = FindInit();
  // A missing daemon.json is an empty one, as for dockerd.
  if (auto text = berth::ReadFile(options.config_file); !options.config_file.empty() && text.ok()) {
    auto config = berth::ParseJson(*text);
    // A remap that cannot be set up stops the daemon, as it stops dockerd:
    // running containers as the host's root instead would be a silent loss
    // of isolation.
    auto remap = berth::LoadUsernsRemap(options.config_file);
    if (!remap.ok()) {
      spdlog::critical("{}: userns-remap: {}", options.config_file, remap.status().ToString());
      return 1;
    }
    manager_options.userns_remap = *std::move(remap);
    if (manager_options.userns_remap) {
      spdlog::info("userns-remap: containers' root is {}:{} on the host ({}:{})",
                   manager_options.userns_remap->RootUid(), manager_options.userns_remap->RootGid(),
                   manager_options.userns_remap->user, manager_options.userns_remap->group);
    }
    auto defaults = config.ok() ? berth::runtimed::ParseLogDefaults(*config) : config.status();
    if (!defaults.ok()) {
      spdlog::critical("{}: {}", options.config_file, defaults.status().ToString());
      return 1;
    }
    manager_options.log_defaults = *std::move(defaults);
  }

  if (absl::Status status = berth::runtimed::ConfigureCgroupDriver(
          options.config_file, &manager_options.systemd_cgroup, &manager_options.cgroup_parent);
      !status.ok()) {
    spdlog::critical("{}", status.ToString());
    return 1;
  }
  if (manager_options.systemd_cgroup) {
    spdlog::info("cgroup driver: systemd, containers in {} (systemd at {})",
                 manager_options.cgroup_parent, berth::runtime::SystemdBusAddress());
  }
  berth::runtimed::GrpcStorage storage(berth::UnixChannel(options.GrpcSocketOf("stored")));
  berth::runtimed::GrpcNetwork network(berth::UnixChannel(options.GrpcSocketOf("netd")));
  berth::runtimed::RealShimLauncher launcher;
  auto manager =
      berth::runtimed::ContainerManager::Open(manager_options, &storage, &network, &launcher);
  if (!manager.ok()) {
    spdlog::critical("cannot open the container store: {}", manager.status().ToString());
    return 1;
  }
  berth::runtimed::ManagerExecContainers exec_targets(manager->get(), manager_options.run_dir);
  berth::runtimed::ShimExecShim exec_shim;
  // Before execs: it outlives the exec followers that publish through it.
  berth::runtimed::ManagerEventSink exec_events(manager->get());
  berth::runtimed::ExecManager execs(&exec_targets, &exec_shim);
  execs.SetEvents(&exec_events);
  berth::runtimed::ExecHealthProber health_prober(&execs);
  berth::runtimed::HealthMonitor health(&health_prober, manager->get());
  (*manager)->SetHealthMonitor(&health);
  berth::runtimed::ContainerStatsReader stats(&exec_targets);
  berth::runtimed::RuntimeServiceImpl service(manager->get(), &execs, &stats);
  berth::EventServiceImpl event_service(&events);
  auto server = berth::GrpcServer::Start(options, {&service, &event_service});
  if (!server.ok()) {
    spdlog::critical("{}", server.status().ToString());
    return 1;
  }
  (*server)->ServeUntilSignal();
  // Shims keep running; the next runtimed reconnects to them.
  server->reset();
  (*manager)->SetHealthMonitor(nullptr);
  return 0;
}
