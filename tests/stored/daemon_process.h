// Runs a real daemon binary for end-to-end tests: start it against a temp
// root, wait until its gRPC health check answers, kill it.
#pragma once

#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <string>
#include <thread>
#include <vector>

#include "common/grpc_server.h"
#include "proto/grpc/health/v1/health.grpc.pb.h"

namespace berth::testing {

// The binary from the test's runfiles, e.g. "stored/berth-stored".
inline std::string Runfile(const std::string& path) {
  const char* srcdir = getenv("TEST_SRCDIR");
  return srcdir != nullptr ? std::string(srcdir) + "/berth/" + path : path;
}

class DaemonProcess {
 public:
  DaemonProcess(std::string binary, std::string root, std::string exec_root)
      : binary_(std::move(binary)), root_(std::move(root)), exec_root_(std::move(exec_root)) {}
  ~DaemonProcess() { Kill(SIGKILL); }

  // Starts the daemon and waits (up to 5 s) until it serves.
  bool Start(const std::string& component) {
    // posix_spawn, not fork: gRPC's fork handlers would run in this (gRPC
    // client) process and leave its pollers unable to see the handshake.
    std::string root = "--root=" + root_;
    std::string exec_root = "--exec_root=" + exec_root_;
    std::vector<char*> argv = {binary_.data(), root.data(), exec_root.data(),
                               const_cast<char*>("--log_level=warn"), nullptr};
    if (posix_spawn(&pid_, binary_.c_str(), nullptr, nullptr, argv.data(), environ) != 0) {
      return false;
    }
    auto health =
        grpc::health::v1::Health::NewStub(UnixChannel(exec_root_ + "/grpc/" + component + ".sock"));
    for (int i = 0; i < 100; ++i) {
      grpc::ClientContext context;
      context.set_deadline(std::chrono::system_clock::now() + std::chrono::milliseconds(1000));
      grpc::health::v1::HealthCheckRequest request;
      grpc::health::v1::HealthCheckResponse response;
      grpc::Status status = health->Check(&context, request, &response);
      if (status.ok()) return true;
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    return false;
  }

  // Sends the signal and reaps the process; returns its wait status.
  int Kill(int signal) {
    if (pid_ <= 0) return -1;
    kill(pid_, signal);
    int status = 0;
    waitpid(pid_, &status, 0);
    pid_ = -1;
    return status;
  }

 private:
  std::string binary_;
  std::string root_;
  std::string exec_root_;
  pid_t pid_ = -1;
};

}  // namespace berth::testing
