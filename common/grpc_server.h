// A daemon's gRPC server on a unix socket, with the standard health service
// and berth.component.v1 info already registered.
#pragma once

#include <grpcpp/grpcpp.h>

#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "common/daemon_options.h"

namespace berth {

class GrpcServer {
 public:
  // Binds options.GrpcSocket() (replacing a stale socket file), makes it
  // 0660 and group socket_gid, and starts serving `services` (not owned).
  static absl::StatusOr<std::unique_ptr<GrpcServer>> Start(
      const DaemonOptions& options, const std::vector<grpc::Service*>& services);

  ~GrpcServer();

  // Blocks until SIGTERM or SIGINT, then shuts the server down, giving
  // in-flight calls `grace_seconds` to finish. Call from main after Start.
  void ServeUntilSignal(int grace_seconds = 2);

  // Marks the daemon NOT_SERVING in the health service (e.g. while draining).
  void SetServing(bool serving);

 private:
  GrpcServer() = default;
  std::unique_ptr<grpc::Service> info_service_;
  std::unique_ptr<grpc::Server> server_;
};

// A channel to another daemon's unix socket. Creating it does not connect.
std::shared_ptr<grpc::Channel> UnixChannel(const std::string& socket_path);

// Blocks SIGTERM, SIGINT and SIGPIPE in the calling thread (and threads it
// creates afterwards); call first thing in main so that ServeUntilSignal
// receives them.
void BlockTerminationSignals();

}  // namespace berth
