#include "cli/status.h"

#include <signal.h>

#include <chrono>
#include <cstdio>
#include <thread>

#include "cli/components.h"
#include "common/grpc_server.h"
#include "proto/component/v1/component.grpc.pb.h"
#include "proto/grpc/health/v1/health.grpc.pb.h"

namespace berth::cli {

ComponentHealth CheckComponent(const std::string& exec_root, const std::string& name) {
  ComponentHealth health;
  health.name = name;
  auto channel = UnixChannel(exec_root + "/grpc/" + name + ".sock");
  auto deadline = std::chrono::system_clock::now() + std::chrono::seconds(2);

  grpc::ClientContext health_context;
  health_context.set_deadline(deadline);
  grpc::health::v1::HealthCheckResponse response;
  grpc::Status status = grpc::health::v1::Health::NewStub(channel)->Check(
      &health_context, grpc::health::v1::HealthCheckRequest(), &response);
  if (!status.ok()) {
    health.problem = "unreachable: " + status.error_message();
    return health;
  }
  health.serving = response.status() == grpc::health::v1::HealthCheckResponse::SERVING;
  if (!health.serving) health.problem = "not serving";

  grpc::ClientContext info_context;
  info_context.set_deadline(deadline);
  component::v1::GetInfoResponse info;
  if (component::v1::ComponentService::NewStub(channel)
          ->GetInfo(&info_context, component::v1::GetInfoRequest(), &info)
          .ok()) {
    health.version = info.version();
    health.pid = info.pid();
    health.uptime_seconds = info.uptime_seconds();
  }
  return health;
}

std::vector<ComponentHealth> CheckAll(const std::string& exec_root) {
  std::vector<ComponentHealth> all;
  for (const ComponentSpec& spec : BuiltinComponents()) {
    all.push_back(CheckComponent(exec_root, spec.name));
  }
  return all;
}

bool PrintStatus(const std::vector<ComponentHealth>& components) {
  bool healthy = true;
  std::printf("%-10s %-9s %-8s %-8s %s\n", "COMPONENT", "HEALTH", "VERSION", "PID", "UPTIME");
  for (const ComponentHealth& c : components) {
    healthy = healthy && c.serving;
    std::string uptime = c.pid > 0 ? std::to_string(c.uptime_seconds) + "s" : "-";
    std::printf("%-10s %-9s %-8s %-8s %s%s\n", c.name.c_str(), c.serving ? "serving" : "DOWN",
                c.version.empty() ? "-" : c.version.c_str(),
                c.pid > 0 ? std::to_string(c.pid).c_str() : "-", uptime.c_str(),
                c.problem.empty() ? "" : ("  (" + c.problem + ")").c_str());
  }
  return healthy;
}

absl::Status RestartComponent(const std::string& exec_root, const std::string& name) {
  if (FindComponent(name) == nullptr) {
    return absl::InvalidArgumentError("unknown component: " + name);
  }
  ComponentHealth before = CheckComponent(exec_root, name);
  if (before.pid <= 0) {
    return absl::UnavailableError(name + " is not running: " + before.problem);
  }
  if (kill(static_cast<pid_t>(before.pid), SIGTERM) != 0) {
    return absl::InternalError("cannot signal " + name);
  }
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(20);
  while (std::chrono::steady_clock::now() < deadline) {
    ComponentHealth now = CheckComponent(exec_root, name);
    if (now.serving && now.pid != before.pid) return absl::OkStatus();
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  return absl::DeadlineExceededError(name + " did not come back within 20s");
}

}  // namespace berth::cli
