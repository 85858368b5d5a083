#include <fcntl.h>
#include <unistd.h>

#include <cstdio>

#include "common/json.h"
#include "runtimed/runc/flags.h"
#include "runtimed/runc/runc.h"
#include "runtimed/runc/store.h"

namespace berth::runc {
namespace {

// runc writes its errors to --log (text or JSON lines, which containerd
// parses) and to stderr.
void ReportError(const GlobalOptions& global, const std::string& message) {
  fprintf(stderr, "berth-runc: %s\n", message.c_str());
  if (global.log.empty()) return;
  std::string line;
  if (global.log_format == "json") {
    line = Json{{"level", "error"}, {"msg", message}, {"time", NowRfc3339()}}.dump() + "\n";
  } else {
    line = "time=\"" + NowRfc3339() + "\" level=error msg=\"" + message + "\"\n";
  }
  int fd = open(global.log.c_str(), O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0644);
  if (fd < 0) return;
  ssize_t ignored = write(fd, line.data(), line.size());
  (void)ignored;
  close(fd);
}

void Usage() {
  fprintf(stderr, "usage: berth-runc [global options] <command> [options] [arguments]\n\n");
  for (const Verb& verb : Verbs()) fprintf(stderr, "  %-8s %s\n", verb.name, verb.summary);
}

}  // namespace

const std::vector<Verb>& Verbs() {
  static const std::vector<Verb> verbs = {
      {"create", CreateVerb, "create a container"},
      {"delete", DeleteVerb, "delete any resources held by the container"},
      {"exec", ExecVerb, "execute new process inside the container"},
      {"features", FeaturesVerb, "show the enabled features"},
      {"kill", KillVerb, "send a signal to the container's init process"},
      {"list", ListVerb, "list containers"},
      {"pause", PauseVerb, "pause all processes inside the container"},
      {"ps", PsVerb, "ps displays the processes running inside a container"},
      {"resume", ResumeVerb, "resumes all processes that have been previously paused"},
      {"run", RunVerb, "create and run a container"},
      {"spec", SpecVerb, "create a new specification file"},
      {"start", StartVerb, "start a created container"},
      {"state", StateVerb, "output the state of a container"},
      {"update", UpdateVerb, "update container resource constraints"},
  };
  return verbs;
}

int Main(int argc, char** argv) {
  GlobalOptions global;
  std::vector<std::string> args(argv + 1, argv + argc);
  // Global options come before the verb.
  size_t i = 0;
  std::vector<std::string> globals;
  while (i < args.size() && args[i].size() > 1 && args[i][0] == '-') {
    globals.push_back(args[i]);
    bool takes_value = args[i].find('=') == std::string::npos &&
                       (args[i] == "--root" || args[i] == "--log" || args[i] == "--log-format" ||
                        args[i] == "--criu");
    if (takes_value && i + 1 < args.size()) globals.push_back(args[++i]);
    ++i;
  }
  absl::StatusOr<ParsedFlags> flags = ParseFlags(globals, {{"root", "", true},
                                                           {"log", "", true},
                                                           {"log-format", "", true},
                                                           {"criu", "", true},
                                                           {"debug", "", false},
                                                           {"systemd-cgroup", "", false},
                                                           {"rootless", "", true},
                                                           {"help", "h", false},
                                                           {"version", "v", false}});
  if (!flags.ok()) {
    ReportError(global, std::string(flags.status().message()));
    return 1;
  }
  global.root = flags->Get("root", global.root);
  global.log = flags->Get("log");
  global.log_format = flags->Get("log-format", "text");
  global.systemd_cgroup = flags->Has("systemd-cgroup");
  if (flags->Has("version")) {
    printf("berth-runc version 0.1\nspec: 1.0.2-dev\n");
    return 0;
  }
  if (i >= args.size() || flags->Has("help")) {
    Usage();
    return flags->Has("help") ? 0 : 1;
  }
  const std::string& name = args[i];
  std::vector<std::string> rest(args.begin() + i + 1, args.end());
  for (const Verb& verb : Verbs()) {
    if (name != verb.name) continue;
    int exit_code = 0;
    absl::Status status = verb.run(global, rest, &exit_code);
    if (!status.ok()) {
      ReportError(global, std::string(status.message()));
      return 1;
    }
    return exit_code;
  }
  ReportError(global, "No help topic for '" + name + "'");
  return 1;
}

}  // namespace berth::runc
