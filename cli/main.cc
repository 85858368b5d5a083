// berth: runs the engine (`berth daemon`), reports on it (`berth status`),
// restarts one component (`berth restart <component>`), and passes everyday
// container commands to the docker CLI pointed at this engine.
#include <unistd.h>

#include <cstddef>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include "cli/status.h"
#include "cli/supervisor.h"
#include "common/daemon_options.h"
#include "common/log.h"

namespace {

constexpr char kUsage[] = R"(Usage: berth [global options] COMMAND

Commands:
  daemon [--bin-dir DIR] [--user NAME] [--socket-group NAME] [--cgroup-parent NAME]
         [--config-file FILE] [--log-level LEVEL] [--bridge NAME] [--bip CIDR]
                       start the engine's daemons and supervise them
  status               show each component's health and version
  restart COMPONENT    restart one daemon; running containers are not touched
  version              print berth's version
  <docker command>     run the docker CLI against this engine (ps, run, images, ...)

Global options:
  --root DIR           persistent state (default /var/lib/berth)
  --exec-root DIR      runtime state and sockets (default /run/berth)
)";

// Accepts "--name value" and "--name=value".
bool TakeFlag(std::vector<std::string>& args, size_t& i, const std::string& name,
              std::string* value) {
  const std::string& arg = args[i];
  if (arg == name && i + 1 < args.size()) {
    *value = args[i + 1];
    args.erase(args.begin() + static_cast<std::ptrdiff_t>(i),
               args.begin() + static_cast<std::ptrdiff_t>(i) + 2);
    return true;
  }
  if (arg.rfind(name + "=", 0) == 0) {
    *value = arg.substr(name.size() + 1);
    args.erase(args.begin() + static_cast<std::ptrdiff_t>(i));
    return true;
  }
  return false;
}

int Fail(const std::string& message) {
  std::fprintf(stderr, "berth: %s\n", message.c_str());
  return 1;
}

}  // namespace

int main(int argc, char** argv) {
  std::vector<std::string> args(argv + 1, argv + argc);
  berth::cli::SupervisorOptions options;
  // Global options come before the command.
  for (size_t i = 0; i < args.size() && args[i].rfind("--", 0) == 0;) {
    if (TakeFlag(args, i, "--root", &options.root) ||
        TakeFlag(args, i, "--exec-root", &options.exec_root)) {
      continue;
    }
    if (args[i] == "--help" || args[i] == "-h") {
      std::fputs(kUsage, stdout);
      return 0;
    }
    return Fail("unknown option " + args[i] + "\n" + kUsage);
  }
  if (args.empty()) {
    std::fputs(kUsage, stderr);
    return 2;
  }
  const std::string command = args[0];
  args.erase(args.begin());

  if (command == "daemon") {
    for (size_t i = 0; i < args.size();) {
      if (TakeFlag(args, i, "--bin-dir", &options.bin_dir) ||
          TakeFlag(args, i, "--user", &options.user) ||
          TakeFlag(args, i, "--socket-group", &options.socket_group) ||
          TakeFlag(args, i, "--cgroup-parent", &options.cgroup_parent) ||
          TakeFlag(args, i, "--config-file", &options.config_file) ||
          TakeFlag(args, i, "--bridge", &options.bridge) ||
          TakeFlag(args, i, "--bip", &options.bip) ||
          TakeFlag(args, i, "--log-level", &options.log_level) ||
          TakeFlag(args, i, "--root", &options.root) ||
          TakeFlag(args, i, "--exec-root", &options.exec_root)) {
        continue;
      }
      return Fail("daemon: unknown option " + args[i]);
    }
    berth::InitLogging("berth", options.log_level);
    berth::cli::Supervisor supervisor(options);
    absl::Status status = supervisor.Prepare();
    if (status.ok()) status = supervisor.Run();
    if (!status.ok()) return Fail(std::string(status.message()));
    return 0;
  }
  if (command == "status") {
    return berth::cli::PrintStatus(berth::cli::CheckAll(options.exec_root)) ? 0 : 1;
  }
  if (command == "restart") {
    if (args.size() != 1) return Fail("usage: berth restart COMPONENT");
    absl::Status status = berth::cli::RestartComponent(options.exec_root, args[0]);
    if (!status.ok()) return Fail(std::string(status.message()));
    std::printf("%s restarted\n", args[0].c_str());
    return 0;
  }
  if (command == "version") {
    std::printf("berth %s\n", berth::kBerthVersion);
    return 0;
  }
  // Everything else is a docker command aimed at this engine.
  const std::string host = "unix://" + options.exec_root + "/docker.sock";
  setenv("DOCKER_HOST", host.c_str(), 1);
  std::vector<char*> docker_argv;
  std::string docker = "docker";
  docker_argv.push_back(docker.data());
  std::string command_copy = command;
  docker_argv.push_back(command_copy.data());
  for (std::string& arg : args) docker_argv.push_back(arg.data());
  docker_argv.push_back(nullptr);
  execvp("docker", docker_argv.data());
  return Fail("cannot run the docker CLI: " + std::string(std::strerror(errno)));
}
