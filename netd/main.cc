// berth-netd: network namespaces, bridge networks and container endpoints.
// Runs as uid 0 with only CAP_SYS_ADMIN (unshare, mounts) and CAP_NET_ADMIN
// (links, addresses, routes).
#include <cstdlib>
#include <set>

#include "absl/flags/flag.h"
#include "common/daemon_options.h"
#include "common/digest.h"
#include "common/event_journal.h"
#include "common/event_loop.h"
#include "common/fs.h"
#include "common/grpc_server.h"
#include "common/log.h"
#include "common/status.h"
#include "netd/config.h"
#include "netd/dns/dns_observer.h"
#include "netd/firewall/firewall.h"
#include "netd/firewall/libnft_runner.h"
#include "netd/netlink/netlink.h"
#include "netd/network/deferred_detach_driver.h"
#include "netd/network/driver.h"
#include "netd/network/network_rules.h"
#include "netd/portmap/port_mapper.h"
#include "netd/sandbox/sandbox_manager.h"
#include "netd/service/network_service.h"

ABSL_FLAG(std::string, bridge, "",
          "Host bridge of the default network (daemon.json \"bridge\"; default berth0)");
ABSL_FLAG(std::string, bip, "",
          "Address and subnet of the default bridge, e.g. 10.1.0.1/24 (daemon.json \"bip\")");
ABSL_FLAG(std::string, firewall_instance, "",
          "Names netd's nftables table berth_<instance> ([A-Za-z0-9_]; default: the first 12 hex "
          "digits of sha256(--exec-root), so that engines on one host never share a table)");

namespace {

absl::StatusOr<std::vector<berth::netd::Subnet>> HostSubnets() {
  auto routes = berth::netd::ListRoutes();
  if (!routes.ok()) return routes.status();
  std::vector<berth::netd::Subnet> subnets;
  for (const berth::netd::Route4& route : *routes) {
    subnets.push_back({route.destination, route.prefix_length});
  }
  return subnets;
}

}  // namespace

int main(int argc, char** argv) {
  berth::BlockTerminationSignals();
  berth::DaemonOptions options = berth::ParseDaemonFlags(argc, argv, "netd");

  std::string daemon_json;
  if (!options.config_file.empty()) {
    auto text = berth::ReadFile(options.config_file);
    // A missing daemon.json is the same as an empty one, as for dockerd.
    if (!text.ok() && !absl::IsNotFound(text.status())) {
      spdlog::critical("cannot read {}: {}", options.config_file, text.status().ToString());
      return EXIT_FAILURE;
    }
    if (text.ok()) daemon_json = *text;
  }
  auto config = berth::netd::LoadNetworkConfig(daemon_json, absl::GetFlag(FLAGS_bridge),
                                               absl::GetFlag(FLAGS_bip));
  if (!config.ok()) {
    spdlog::critical("bad network configuration: {}", config.status().ToString());
    return EXIT_FAILURE;
  }
  config->host_subnets = HostSubnets;

  // Published ports and the embedded DNS: one loop thread for their sockets,
  // the firewall table, the port mapper and the DNS observer. Declared before
  // the sandbox manager, which calls them, so that they outlive it.
  auto loop = berth::EventLoop::Start();
  if (!loop.ok()) {
    spdlog::critical("cannot start the event loop: {}", loop.status().ToString());
    return EXIT_FAILURE;
  }
  std::string instance = absl::GetFlag(FLAGS_firewall_instance);
  if (instance.empty()) instance = berth::Sha256Digest(options.exec_root).substr(7, 12);
  auto runner = berth::netd::NewLibNftRunner();
  auto firewall = runner.ok() ? berth::netd::NftFirewall::Create(instance, std::move(*runner))
                              : runner.status();
  if (!firewall.ok()) {
    spdlog::critical("cannot set up the firewall: {}", firewall.status().ToString());
    return EXIT_FAILURE;
  }
  auto ports = berth::netd::PortMapper::Open(options.StateDir(), firewall->get(), loop->get());
  if (!ports.ok()) {
    spdlog::critical("cannot open port state: {}", ports.status().ToString());
    return EXIT_FAILURE;
  }
  berth::netd::dns::DnsObserver dns(loop->get(), options.StateDir(), "/etc/resolv.conf");
  berth::netd::NetworkRules network_rules(firewall->get());

  berth::netd::LinuxBridgeDriver bridges;
  berth::netd::DeferredDetachDriver driver(&bridges);
  auto sandboxes = berth::netd::SandboxManager::Open(options.StateDir(), options.RunDir(),
                                                     std::move(*config), &driver);
  if (!sandboxes.ok()) {
    spdlog::critical("cannot open network state: {}", sandboxes.status().ToString());
    return EXIT_FAILURE;
  }
  // Ports and DNS servers of the containers that kept running while netd was
  // down come back before the table is written, so its first write holds
  // exactly what netd's state says and no stale rule survives.
  (*sandboxes)->SetEdge(ports->get(), &dns);
  absl::Status restored = [&]() -> absl::Status {
    ASSIGN_OR_RETURN(std::vector<berth::netd::Sandbox> list, (*sandboxes)->ListSandboxes());
    std::set<std::string> live;
    for (const berth::netd::Sandbox& sandbox : list) live.insert(sandbox.container_id);
    RETURN_IF_ERROR((*ports)->Restore(live));
    RETURN_IF_ERROR(dns.Reconcile(live));
    dns.set_replaying(true);
    absl::Status added = (*sandboxes)->networks()->AddObserver(&dns);
    dns.set_replaying(false);
    RETURN_IF_ERROR(added);
    // Masquerade and isolation of every network, before the first write.
    RETURN_IF_ERROR((*sandboxes)->networks()->AddObserver(&network_rules));
    return (*firewall)->Sync();
  }();
  if (!restored.ok()) {
    spdlog::critical("cannot restore ports and DNS: {}", restored.ToString());
    return EXIT_FAILURE;
  }
  spdlog::info("firewall table ip {} in place", (*firewall)->table());

  berth::netd::NetworkService service(sandboxes->get());
  berth::EventJournal events;
  service.set_events(&events);
  berth::EventServiceImpl event_service(&events);
  auto server = berth::GrpcServer::Start(options, {&service, &event_service});
  if (!server.ok()) {
    spdlog::critical("cannot serve: {}", server.status().ToString());
    return EXIT_FAILURE;
  }
  (*server)->ServeUntilSignal();
  absl::Status closed = (*sandboxes)->Close();
  if (!closed.ok()) spdlog::warn("shutdown: {}", closed.ToString());
  // A stopped netd forwards nothing (its proxies are gone with it); the next
  // start writes the table again from its state.
  absl::Status destroyed = (*firewall)->Destroy();
  if (!destroyed.ok()) spdlog::warn("shutdown: {}", destroyed.ToString());
  return EXIT_SUCCESS;
}
