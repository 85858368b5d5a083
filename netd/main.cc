// berth-netd: network namespaces for containers. Runs as uid 0 with only
// CAP_SYS_ADMIN (unshare, mounts) and CAP_NET_ADMIN (interfaces).
#include <cstdlib>

#include "common/daemon_options.h"
#include "common/grpc_server.h"
#include "common/log.h"
#include "netd/sandbox/sandbox_manager.h"
#include "netd/service/network_service.h"

int main(int argc, char** argv) {
  berth::BlockTerminationSignals();
  berth::DaemonOptions options = berth::ParseDaemonFlags(argc, argv, "netd");

  auto sandboxes = berth::netd::SandboxManager::Open(options.StateDir(), options.RunDir());
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
