// berth-netd: network namespaces, bridge networks and container endpoints.
// Runs as uid 0 with only CAP_SYS_ADMIN (unshare, mounts) and CAP_NET_ADMIN
// (links, addresses, routes).
#include <cstdlib>

#include "absl/flags/flag.h"
#include "common/daemon_options.h"
#include "common/fs.h"
#include "common/grpc_server.h"
#include "common/log.h"
#include "netd/config.h"
#include "netd/netlink/netlink.h"
#include "netd/network/driver.h"
#include "netd/sandbox/sandbox_manager.h"
#include "netd/service/network_service.h"

ABSL_FLAG(std::string, bridge, "",
          "Host bridge of the default network (daemon.json \"bridge\"; default berth0)");
ABSL_FLAG(std::string, bip, "",
          "Address and subnet of the default bridge, e.g. 10.1.0.1/24 (daemon.json \"bip\")");

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

  berth::netd::LinuxBridgeDriver driver;
  auto sandboxes = berth::netd::SandboxManager::Open(options.StateDir(), options.RunDir(),
                                                     std::move(*config), &driver);
  if (!sandboxes.ok()) {
    spdlog::critical("cannot open network state: {}", sandboxes.status().ToString());
    return EXIT_FAILURE;
  }
  berth::netd::NetworkService service(sandboxes->get());
  auto server = berth::GrpcServer::Start(options, {&service});
  if (!server.ok()) {
    spdlog::critical("cannot serve: {}", server.status().ToString());
    return EXIT_FAILURE;
  }
  (*server)->ServeUntilSignal();
  absl::Status closed = (*sandboxes)->Close();
  if (!closed.ok()) spdlog::warn("shutdown: {}", closed.ToString());
  return EXIT_SUCCESS;
}
