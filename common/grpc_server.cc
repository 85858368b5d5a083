#include "common/grpc_server.h"

#include <grpcpp/health_check_service_interface.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <chrono>

#include "common/fs.h"
#include "common/log.h"
#include "common/status.h"
#include "proto/component/v1/component.grpc.pb.h"

namespace berth {
namespace {

using component::v1::ComponentService;
using component::v1::GetInfoRequest;
using component::v1::GetInfoResponse;

class ComponentInfoService final : public ComponentService::Service {
 public:
  explicit ComponentInfoService(std::string name)
      : name_(std::move(name)), started_(std::chrono::steady_clock::now()) {}

  grpc::Status GetInfo(grpc::ServerContext*, const GetInfoRequest*,
                       GetInfoResponse* response) override {
    response->set_name(name_);
    response->set_version(kBerthVersion);
    response->set_api_version("v1");
    response->set_pid(getpid());
    response->set_uptime_seconds(std::chrono::duration_cast<std::chrono::seconds>(
                                     std::chrono::steady_clock::now() - started_)
                                     .count());
    return grpc::Status::OK;
  }

 private:
  std::string name_;
  std::chrono::steady_clock::time_point started_;
};

}  // namespace

void BlockTerminationSignals() {
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGTERM);
  sigaddset(&set, SIGINT);
  pthread_sigmask(SIG_BLOCK, &set, nullptr);
  signal(SIGPIPE, SIG_IGN);
}

absl::StatusOr<std::unique_ptr<GrpcServer>> GrpcServer::Start(
    const DaemonOptions& options, const std::vector<grpc::Service*>& services) {
  const std::string socket = options.GrpcSocket();
  if (socket.size() >= 108) {
    return absl::InvalidArgumentError("gRPC socket path too long: " + socket);
  }
  RETURN_IF_ERROR(MakeDirs(options.exec_root + "/grpc", 0755));
  if (unlink(socket.c_str()) != 0 && errno != ENOENT) {
    return LastErrnoStatus("remove stale socket " + socket);
  }

  std::unique_ptr<GrpcServer> server(new GrpcServer());
  server->info_service_ = std::make_unique<ComponentInfoService>(options.component);
  grpc::EnableDefaultHealthCheckService(true);
  grpc::ServerBuilder builder;
  builder.AddListeningPort("unix:" + socket, grpc::InsecureServerCredentials());
  // Streams of layers and archives carry 1 MiB chunks.
  builder.SetMaxReceiveMessageSize(64 << 20);
  builder.SetMaxSendMessageSize(64 << 20);
  builder.RegisterService(server->info_service_.get());
  for (grpc::Service* service : services) builder.RegisterService(service);
  server->server_ = builder.BuildAndStart();
  if (!server->server_) {
    return absl::UnavailableError("cannot serve gRPC on " + socket);
  }
  if (chmod(socket.c_str(), 0660) != 0) return LastErrnoStatus("chmod " + socket);
  // The supervisor makes the socket directory setgid to the shared group, so
  // the socket usually has the right group already; only then is no CAP_CHOWN
  // needed (netd has none).
  struct stat st;
  if (options.socket_gid >= 0 && stat(socket.c_str(), &st) == 0 &&
      st.st_gid != static_cast<gid_t>(options.socket_gid) &&
      chown(socket.c_str(), -1, options.socket_gid) != 0) {
    return LastErrnoStatus("chown " + socket);
  }
  server->SetServing(true);
  spdlog::info("serving gRPC on {}", socket);
  return server;
}

GrpcServer::~GrpcServer() {
  if (server_) server_->Shutdown(std::chrono::system_clock::now());
}

void GrpcServer::SetServing(bool serving) {
  if (auto* health = server_->GetHealthCheckService()) health->SetServingStatus(serving);
}

void GrpcServer::ServeUntilSignal(int grace_seconds) {
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGTERM);
  sigaddset(&set, SIGINT);
  pthread_sigmask(SIG_BLOCK, &set, nullptr);
  int signal_number = 0;
  sigwait(&set, &signal_number);
  spdlog::info("signal {} received, shutting down", signal_number);
  SetServing(false);
  server_->Shutdown(std::chrono::system_clock::now() + std::chrono::seconds(grace_seconds));
  server_->Wait();
}

std::shared_ptr<grpc::Channel> UnixChannel(const std::string& socket_path) {
  grpc::ChannelArguments args;
  args.SetMaxReceiveMessageSize(64 << 20);
  args.SetMaxSendMessageSize(64 << 20);
  // Reconnect quickly after a daemon restarts: the default back-off grows to
  // minutes, far too long for a sibling that the supervisor restarts at once.
  args.SetInt(GRPC_ARG_INITIAL_RECONNECT_BACKOFF_MS, 50);
  args.SetInt(GRPC_ARG_MIN_RECONNECT_BACKOFF_MS, 50);
  args.SetInt(GRPC_ARG_MAX_RECONNECT_BACKOFF_MS, 500);
  // A sibling that was restarted leaves this channel's old connection broken;
  // the first call on it fails UNAVAILABLE before reaching any server. Retry
  // such calls briefly instead of failing the user's request.
  args.SetServiceConfigJSON(R"({
    "methodConfig": [{
      "name": [{}],
      "retryPolicy": {
        "maxAttempts": 3,
        "initialBackoff": "0.05s",
        "maxBackoff": "0.3s",
        "backoffMultiplier": 2,
        "retryableStatusCodes": ["UNAVAILABLE"]
      }
    }]
  })");
  return grpc::CreateCustomChannel("unix:" + socket_path, grpc::InsecureChannelCredentials(), args);
}

}  // namespace berth
