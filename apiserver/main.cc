// berth-apiserver: the Docker Engine API on a unix socket, translating
// requests into gRPC calls to imaged and runtimed. It keeps no state.
#include <unistd.h>

#include <csignal>

#include "absl/flags/flag.h"
#include "apiserver/api.h"
#include "apiserver/backends/grpc_backends.h"
#include "apiserver/backends/grpc_build.h"
#include "apiserver/backends/grpc_events.h"
#include "apiserver/backends/grpc_exec.h"
#include "apiserver/backends/grpc_files.h"
#include "apiserver/backends/grpc_network.h"
#include "apiserver/host_info.h"
#include "apiserver/http/server.h"
#include "common/cgroup_driver.h"
#include "common/daemon_options.h"
#include "common/grpc_server.h"
#include "common/log.h"

ABSL_FLAG(std::string, host, "",
          "Where to listen: unix:///path (default unix://<exec-root>/docker.sock)");

int main(int argc, char** argv) {
  berth::BlockTerminationSignals();
  berth::DaemonOptions options = berth::ParseDaemonFlags(argc, argv, "apiserver");
  using namespace berth::apiserver;

  // A listener from the supervisor wins: it already has the right owner and
  // mode, and clients queue in its backlog while we restart.
  int listen_fd = InheritedListener();
  if (listen_fd < 0) {
    std::string host = absl::GetFlag(FLAGS_host);
    if (host.empty()) host = "unix://" + options.DockerSocket();
    absl::StatusOr<std::string> path = UnixPathFromHost(host);
    if (!path.ok()) {
      SPDLOG_CRITICAL("{}", path.status().ToString());
      return 2;
    }
    absl::StatusOr<int> fd = ListenUnix(*path, options.socket_gid);
    if (!fd.ok()) {
      SPDLOG_CRITICAL("cannot listen on {}: {}", *path, fd.status().ToString());
      return 1;
    }
    listen_fd = *fd;
    SPDLOG_INFO("listening on {}", *path);
  } else {
    SPDLOG_INFO("serving the socket passed by the supervisor");
  }

  GrpcImageBackend images(berth::UnixChannel(options.GrpcSocketOf("imaged")));
  GrpcContainerBackend containers(berth::UnixChannel(options.GrpcSocketOf("runtimed")));
  GrpcVolumeBackend volumes(berth::UnixChannel(options.GrpcSocketOf("stored")));
  HostInfo host = ProbeHost(options.root);
  host.logging_driver = DefaultLoggingDriver(options.config_file);
  host.userns_remap = UsernsRemapEnabled(options.config_file);
  host.cgroup_driver =
      berth::CgroupDriverName(berth::CgroupDriverFromConfigFile(options.config_file)
                                  .value_or(berth::CgroupDriver::kCgroupfs));
  Api api(&containers, &images, host);
  api.EnableVolumes(&volumes, options.root + "/stored/volumes");
  GrpcContainerFilesBackend files(berth::UnixChannel(options.GrpcSocketOf("stored")));
  api.EnableFiles(&containers, &images, &volumes, &files);
  berth::apiserver::GrpcExecBackend execs(berth::UnixChannel(options.GrpcSocketOf("runtimed")));
  api.EnableExec(&execs);
  api.EnableStats(&execs);
  berth::apiserver::GrpcNetworkBackend networks(
      berth::UnixChannel(options.GrpcSocketOf("netd")),
      berth::UnixChannel(options.GrpcSocketOf("runtimed")));
  api.EnableNetworks(&networks);
  berth::apiserver::GrpcEventBackend events({
      {"imaged", berth::UnixChannel(options.GrpcSocketOf("imaged"))},
      {"netd", berth::UnixChannel(options.GrpcSocketOf("netd"))},
      {"runtimed", berth::UnixChannel(options.GrpcSocketOf("runtimed"))},
      {"stored", berth::UnixChannel(options.GrpcSocketOf("stored"))},
  });
  api.EnableEvents(&events);
  berth::apiserver::GrpcBuildBackend builds(berth::UnixChannel(options.GrpcSocketOf("imaged")));
  api.EnableBuild(&builds, &containers);
  HttpServer server(
      listen_fd, [&api](Exchange& exchange) { api.Handle(exchange); }, Api::DefaultHeaders());
  server.Start();
  // Like every daemon, the apiserver reports its health and version over gRPC
  // (berth status); it serves no other gRPC service.
  absl::StatusOr<std::unique_ptr<berth::GrpcServer>> health = berth::GrpcServer::Start(options, {});
  if (!health.ok()) {
    SPDLOG_CRITICAL("cannot serve health: {}", health.status().ToString());
    return 1;
  }

  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGTERM);
  sigaddset(&signals, SIGINT);
  int signal = 0;
  sigwait(&signals, &signal);
  SPDLOG_INFO("signal {}: shutting down", signal);
  (*health)->SetServing(false);
  if (!server.Stop(std::chrono::seconds(3))) {
    SPDLOG_WARN("connections still open after 3s; exiting anyway");
    _exit(0);
  }
  return 0;
}
