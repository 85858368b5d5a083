// `berth-runc exec [options] <id> [command...]`: runc's exec over the
// runtime library's ExecInContainer.
#include "runtimed/runtime/exec.h"

#include <signal.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "common/fs.h"
#include "common/status.h"
#include "runtimed/runc/flags.h"
#include "runtimed/runc/launch.h"
#include "runtimed/runc/runc.h"
#include "runtimed/runc/store.h"
#include "runtimed/runtime/cgroups.h"
#include "runtimed/runtime/spec.h"

namespace berth::runc {
namespace {

const std::vector<FlagSpec>& ExecFlags() {
  static const std::vector<FlagSpec> specs = {
      {"process", "p", true},      {"detach", "d", false},       {"pid-file", "", true},
      {"tty", "t", false},         {"console-socket", "", true}, {"cwd", "", true},
      {"env", "e", true},          {"user", "u", true},          {"additional-gids", "g", true},
      {"no-new-privs", "", false}, {"cap", "c", true},           {"apparmor", "", true},
      {"process-label", "", true}, {"preserve-fds", "", true},   {"ignore-paused", "", false},
      {"cgroup", "", true},        {"help", "h", false}};
  return specs;
}

const FlagSpec* FindFlag(const std::string& arg) {
  std::string name = arg.substr(arg.find_first_not_of('-'));
  name = name.substr(0, name.find('='));
  for (const FlagSpec& spec : ExecFlags()) {
    if (name == spec.name || (!spec.short_name.empty() && name == spec.short_name)) return &spec;
  }
  return nullptr;
}

struct ExecArgs {
  std::vector<std::string> flags;  // for ParseFlags, repeatable ones removed
  std::vector<std::string> env;
  std::vector<std::string> additional_gids;
  std::string id;
  std::vector<std::string> command;
};

// Options stop at the container id: what follows is the command, whose own
// options (`sh -c`) are not ours. --env and --additional-gids repeat.
absl::StatusOr<ExecArgs> SplitArgs(const std::vector<std::string>& args) {
  ExecArgs out;
  size_t i = 0;
  for (; i < args.size(); ++i) {
    const std::string& arg = args[i];
    if (arg == "--") {
      ++i;
      break;
    }
    if (arg.size() < 2 || arg[0] != '-') break;
    const FlagSpec* spec = FindFlag(arg);
    if (spec == nullptr) {
      return absl::InvalidArgumentError("flag provided but not defined: " + arg);
    }
    std::string value;
    bool inline_value = arg.find('=') != std::string::npos;
    if (spec->takes_value) {
      if (inline_value) {
        value = arg.substr(arg.find('=') + 1);
      } else if (i + 1 < args.size()) {
        value = args[++i];
      } else {
        return absl::InvalidArgumentError("flag needs an argument: " + arg);
      }
    }
    if (spec->name == "env") {
      out.env.push_back(value);
    } else if (spec->name == "additional-gids") {
      out.additional_gids.push_back(value);
    } else if (spec->takes_value) {
      out.flags.push_back("--" + spec->name + "=" + value);
    } else {
      out.flags.push_back("--" + spec->name);
    }
  }
  if (i < args.size()) out.id = args[i++];
  out.command.assign(args.begin() + static_cast<long>(i), args.end());
  return out;
}

absl::StatusOr<uint32_t> ParseId(const std::string& text, const char* what) {
  uint32_t value;
  if (!absl::SimpleAtoi(text, &value)) {
    return absl::InvalidArgumentError(absl::StrCat("invalid ", what, " \"", text, "\""));
  }
  return value;
}

absl::StatusOr<int> ConnectConsoleSocket(const std::string& path) {
  sockaddr_un addr = {};
  addr.sun_family = AF_UNIX;
  if (path.size() >= sizeof(addr.sun_path)) {
    return absl::InvalidArgumentError("console socket path too long: " + path);
  }
  memcpy(addr.sun_path, path.c_str(), path.size() + 1);
  int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return LastErrnoStatus("socket");
  if (connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0) {
    absl::Status status = LastErrnoStatus("connect to the console socket " + path);
    close(fd);
    return status;
  }
  return fd;
}

// The process to run: --process as given, or the container's own with the
// command line's overrides (runc's newProcess).
absl::StatusOr<runtime::Process> BuildProcess(const ContainerRecord& record,
                                              const ParsedFlags& flags, const ExecArgs& args) {
  if (flags.values.count("process") != 0) {
    ASSIGN_OR_RETURN(std::string text, ReadFile(flags.Get("process")));
    return runtime::ParseProcessJson(text);
  }
  if (args.command.empty()) {
    return absl::InvalidArgumentError("exec: a command or --process is required");
  }
  ASSIGN_OR_RETURN(runtime::Spec spec, runtime::LoadSpec(record.bundle));
  runtime::Process process = spec.process;
  process.args = args.command;
  process.terminal = flags.Has("tty");
  if (flags.values.count("cwd") != 0) process.cwd = flags.Get("cwd");
  process.env.insert(process.env.end(), args.env.begin(), args.env.end());
  if (flags.values.count("user") != 0) {
    std::vector<std::string> parts = absl::StrSplit(flags.Get("user"), ':');
    ASSIGN_OR_RETURN(process.user.uid, ParseId(parts[0], "uid"));
    process.user.gid = 0;
    if (parts.size() > 1) {
      ASSIGN_OR_RETURN(process.user.gid, ParseId(parts[1], "gid"));
    }
    process.user.additional_gids.clear();
  }
  for (const std::string& gid : args.additional_gids) {
    ASSIGN_OR_RETURN(uint32_t value, ParseId(gid, "additional gid"));
    process.user.additional_gids.push_back(value);
  }
  if (flags.Has("no-new-privs")) process.no_new_privileges = true;
  if (flags.values.count("cap") != 0 && process.capabilities) {
    // One extra capability (the flag repeats in runc; the last one wins here).
    int cap = runtime::CapabilityFromName(flags.Get("cap"));
    if (cap < 0) return absl::InvalidArgumentError("unknown capability " + flags.Get("cap"));
    for (auto* set : {&process.capabilities->bounding, &process.capabilities->effective,
                      &process.capabilities->permitted}) {
      set->push_back(cap);
    }
  }
  return process;
}

}  // namespace

absl::Status ExecVerb(const GlobalOptions& global, const std::vector<std::string>& args,
                      int* exit_code) {
  ASSIGN_OR_RETURN(ExecArgs split, SplitArgs(args));
  ASSIGN_OR_RETURN(ParsedFlags flags, ParseFlags(split.flags, ExecFlags()));
  if (split.id.empty()) {
    return absl::InvalidArgumentError("\"exec\" requires a minimum of 1 argument");
  }
  ASSIGN_OR_RETURN(ContainerRecord record, LoadRecord(global.root, split.id));
  if (StatusOf(record) == "stopped") {
    return absl::FailedPreconditionError("cannot exec in a stopped container");
  }
  ASSIGN_OR_RETURN(runtime::Process process, BuildProcess(record, flags, split));
  if (flags.Has("tty")) process.terminal = true;

  ASSIGN_OR_RETURN(runtime::Spec spec, runtime::LoadSpec(record.bundle));
  runtime::ExecOptions options;
  options.init_pid = record.pid;
  if (spec.seccomp) options.seccomp = &*spec.seccomp;
  options.io.terminal = process.terminal;
  int console = -1;
  if (process.terminal) {
    if (flags.values.count("console-socket") == 0) {
      return absl::InvalidArgumentError("a terminal (-t) needs --console-socket");
    }
    ASSIGN_OR_RETURN(console, ConnectConsoleSocket(flags.Get("console-socket")));
    options.io.console_socket = console;
  } else {
    // The caller's stdio, as runc passes it on.
    options.io.stdin_fd = 0;
    options.io.stdout_fd = 1;
    options.io.stderr_fd = 2;
  }
  std::unique_ptr<runtime::CgroupManager> cgroup;
  if (!record.cgroups_path.empty()) {
    ASSIGN_OR_RETURN(cgroup, runtime::NewCgroupManager(record.cgroups_path));
    options.cgroup = cgroup.get();
  }
  absl::StatusOr<pid_t> pid = runtime::ExecInContainer(process, options);
  if (console >= 0) close(console);
  if (!pid.ok()) return pid.status();
  if (flags.values.count("pid-file") != 0) {
    RETURN_IF_ERROR(WriteFileAtomic(flags.Get("pid-file"), std::to_string(*pid)));
  }
  if (flags.Has("detach")) {
    *exit_code = 0;
    return absl::OkStatus();
  }
  ForwardSignalsTo(*pid);
  int status = 0;
  while (waitpid(*pid, &status, 0) < 0) {
    if (errno != EINTR) return LastErrnoStatus("wait for the exec'd process");
  }
  ForwardSignalsTo(0);
  *exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  return absl::OkStatus();
}

}  // namespace berth::runc
