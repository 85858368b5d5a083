// The verbs that manage a running container through its cgroup: ps, pause,
// resume, update; and features, what this runtime supports.
#include <stdio.h>
#include <sys/wait.h>
#include <unistd.h>

#include <iostream>
#include <iterator>
#include <set>
#include <sstream>

#include "absl/strings/numbers.h"
#include "absl/strings/str_split.h"
#include "common/fs.h"
#include "common/json.h"
#include "common/status.h"
#include "runtimed/runc/flags.h"
#include "runtimed/runc/runc.h"
#include "runtimed/runc/store.h"
#include "runtimed/runtime/cgroups.h"
#include "runtimed/runtime/spec.h"

namespace berth::runc {
namespace {

absl::StatusOr<ContainerRecord> RunningRecord(const GlobalOptions& global,
                                              const std::vector<std::string>& positionals,
                                              const std::string& verb) {
  if (positionals.empty()) {
    return absl::InvalidArgumentError("\"" + verb + "\" requires a container id");
  }
  ASSIGN_OR_RETURN(ContainerRecord record, LoadRecord(global.root, positionals[0]));
  std::string status = StatusOf(record);
  if (status == "stopped") {
    return absl::FailedPreconditionError("container " + record.id + " is not running");
  }
  return record;
}

absl::StatusOr<std::unique_ptr<runtime::CgroupManager>> CgroupOf(const ContainerRecord& record) {
  return runtime::NewCgroupManager(record.cgroups_path);
}

}  // namespace

absl::Status PsVerb(const GlobalOptions& global, const std::vector<std::string>& args,
                    int* exit_code) {
  ASSIGN_OR_RETURN(ParsedFlags flags, ParseFlags(args, {{"format", "f", true}}));
  ASSIGN_OR_RETURN(ContainerRecord record, RunningRecord(global, flags.positionals, "ps"));
  ASSIGN_OR_RETURN(auto cgroup, CgroupOf(record));
  ASSIGN_OR_RETURN(std::vector<pid_t> pids, cgroup->Pids());
  if (flags.Get("format", "table") == "json") {
    printf("%s\n", Json(pids).dump().c_str());
    *exit_code = 0;
    return absl::OkStatus();
  }
  // The table: ps's own output (options after the id) for the container's
  // processes, as runc prints it.
  std::vector<std::string> ps_args = {"ps"};
  if (flags.positionals.size() > 1) {
    ps_args.insert(ps_args.end(), flags.positionals.begin() + 1, flags.positionals.end());
  } else {
    ps_args.push_back("-ef");
  }
  int pipe_fds[2];
  if (pipe(pipe_fds) != 0) return LastErrnoStatus("pipe");
  pid_t child = fork();
  if (child == 0) {
    dup2(pipe_fds[1], 1);
    close(pipe_fds[0]);
    std::vector<char*> argv;
    for (std::string& arg : ps_args) argv.push_back(arg.data());
    argv.push_back(nullptr);
    execvp("ps", argv.data());
    _exit(127);
  }
  close(pipe_fds[1]);
  std::string output;
  char buffer[4096];
  ssize_t n;
  while ((n = read(pipe_fds[0], buffer, sizeof(buffer))) > 0) output.append(buffer, n);
  close(pipe_fds[0]);
  int status = 0;
  waitpid(child, &status, 0);
  std::vector<std::string> lines = absl::StrSplit(output, '\n', absl::SkipEmpty());
  if (lines.empty()) return absl::InternalError("ps printed nothing");
  // The PID column of the header.
  std::vector<std::string> header = absl::StrSplit(lines[0], ' ', absl::SkipEmpty());
  size_t column = 0;
  while (column < header.size() && header[column] != "PID") ++column;
  if (column == header.size()) return absl::InvalidArgumentError("ps output has no PID column");
  std::set<pid_t> wanted(pids.begin(), pids.end());
  printf("%s\n", lines[0].c_str());
  for (size_t i = 1; i < lines.size(); ++i) {
    std::vector<std::string> fields = absl::StrSplit(lines[i], ' ', absl::SkipEmpty());
    pid_t pid = 0;
    if (column < fields.size() && absl::SimpleAtoi(fields[column], &pid) && wanted.count(pid)) {
      printf("%s\n", lines[i].c_str());
    }
  }
  *exit_code = 0;
  return absl::OkStatus();
}

absl::Status PauseVerb(const GlobalOptions& global, const std::vector<std::string>& args,
                       int* exit_code) {
  ASSIGN_OR_RETURN(ParsedFlags flags, ParseFlags(args, {}));
  ASSIGN_OR_RETURN(ContainerRecord record, RunningRecord(global, flags.positionals, "pause"));
  ASSIGN_OR_RETURN(auto cgroup, CgroupOf(record));
  RETURN_IF_ERROR(cgroup->Freeze(true));
  *exit_code = 0;
  return absl::OkStatus();
}

absl::Status ResumeVerb(const GlobalOptions& global, const std::vector<std::string>& args,
                        int* exit_code) {
  ASSIGN_OR_RETURN(ParsedFlags flags, ParseFlags(args, {}));
  ASSIGN_OR_RETURN(ContainerRecord record, RunningRecord(global, flags.positionals, "resume"));
  ASSIGN_OR_RETURN(auto cgroup, CgroupOf(record));
  if (!cgroup->Frozen()) {
    return absl::FailedPreconditionError("container " + record.id + " is not paused");
  }
  RETURN_IF_ERROR(cgroup->Freeze(false));
  *exit_code = 0;
  return absl::OkStatus();
}

// runc update: --resources FILE ("-" for stdin) with a LinuxResources JSON,
// or the common limits as flags.
absl::Status UpdateVerb(const GlobalOptions& global, const std::vector<std::string>& args,
                        int* exit_code) {
  ASSIGN_OR_RETURN(ParsedFlags flags, ParseFlags(args, {{"resources", "r", true},
                                                        {"memory", "", true},
                                                        {"memory-swap", "", true},
                                                        {"memory-reservation", "", true},
                                                        {"cpu-shares", "", true},
                                                        {"cpu-quota", "", true},
                                                        {"cpu-period", "", true},
                                                        {"cpuset-cpus", "", true},
                                                        {"cpuset-mems", "", true},
                                                        {"pids-limit", "", true},
                                                        {"blkio-weight", "", true}}));
  ASSIGN_OR_RETURN(ContainerRecord record, RunningRecord(global, flags.positionals, "update"));
  Json resources = Json::object();
  if (flags.values.count("resources")) {
    std::string text;
    if (flags.Get("resources") == "-") {
      text.assign(std::istreambuf_iterator<char>(std::cin), std::istreambuf_iterator<char>());
    } else {
      ASSIGN_OR_RETURN(text, ReadFile(flags.Get("resources")));
    }
    ASSIGN_OR_RETURN(resources, ParseJson(text));
  }
  auto number = [&](const char* flag, const char* group, const char* key) -> absl::Status {
    if (!flags.values.count(flag)) return absl::OkStatus();
    int64_t value = 0;
    if (!absl::SimpleAtoi(flags.Get(flag), &value)) {
      return absl::InvalidArgumentError(std::string("invalid --") + flag);
    }
    resources[group][key] = value;
    return absl::OkStatus();
  };
  RETURN_IF_ERROR(number("memory", "memory", "limit"));
  RETURN_IF_ERROR(number("memory-swap", "memory", "swap"));
  RETURN_IF_ERROR(number("memory-reservation", "memory", "reservation"));
  RETURN_IF_ERROR(number("cpu-shares", "cpu", "shares"));
  RETURN_IF_ERROR(number("cpu-quota", "cpu", "quota"));
  RETURN_IF_ERROR(number("cpu-period", "cpu", "period"));
  RETURN_IF_ERROR(number("pids-limit", "pids", "limit"));
  RETURN_IF_ERROR(number("blkio-weight", "blockIO", "weight"));
  if (flags.values.count("cpuset-cpus")) resources["cpu"]["cpus"] = flags.Get("cpuset-cpus");
  if (flags.values.count("cpuset-mems")) resources["cpu"]["mems"] = flags.Get("cpuset-mems");
  ASSIGN_OR_RETURN(runtime::Resources parsed, runtime::ParseResourcesJson(resources));
  ASSIGN_OR_RETURN(auto cgroup, CgroupOf(record));
  RETURN_IF_ERROR(cgroup->Update(parsed));
  *exit_code = 0;
  return absl::OkStatus();
}

absl::Status FeaturesVerb(const GlobalOptions&, const std::vector<std::string>&, int* exit_code) {
  std::vector<std::string> namespaces = {"cgroup", "ipc", "mount", "network", "pid", "user", "uts"};
  // Time namespaces came with Linux 5.6; runc lists them only where the kernel has them.
  if (PathExists("/proc/self/ns/time")) namespaces.push_back("time");
  Json features = {
      {"ociVersionMin", "1.0.0"},
      {"ociVersionMax", "1.2.0"},
      {"hooks",
       {"prestart", "createRuntime", "createContainer", "startContainer", "poststart", "poststop"}},
      {"mountOptions",
       {"bind",     "rbind",       "ro",      "rw",       "nosuid", "suid",    "nodev", "dev",
        "noexec",   "exec",        "private", "rprivate", "shared", "rshared", "slave", "rslave",
        "relatime", "strictatime", "noatime", "remount",  "idmap",  "ridmap"}},
      {"linux",
       {{"namespaces", namespaces},
        {"mountExtensions", {{"idmap", {{"enabled", true}}}}},
        {"cgroup", {{"v1", true}, {"v2", true}, {"systemd", false}}},
        {"seccomp",
         {{"enabled", true},
          {"actions",
           {"SCMP_ACT_ALLOW", "SCMP_ACT_ERRNO", "SCMP_ACT_KILL", "SCMP_ACT_KILL_PROCESS",
            "SCMP_ACT_KILL_THREAD", "SCMP_ACT_LOG", "SCMP_ACT_TRACE", "SCMP_ACT_TRAP"}},
          {"operators",
           {"SCMP_CMP_EQ", "SCMP_CMP_GE", "SCMP_CMP_GT", "SCMP_CMP_LE", "SCMP_CMP_LT",
            "SCMP_CMP_MASKED_EQ", "SCMP_CMP_NE"}}}},
        {"apparmor", {{"enabled", false}}},
        {"selinux", {{"enabled", false}}}}},
  };
  printf("%s\n", features.dump(4).c_str());
  *exit_code = 0;
  return absl::OkStatus();
}

}  // namespace berth::runc
