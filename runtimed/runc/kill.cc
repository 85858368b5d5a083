#include <signal.h>

#include <cctype>
#include <cerrno>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "common/status.h"
#include "runtimed/runc/flags.h"
#include "runtimed/runc/runc.h"
#include "runtimed/runc/store.h"
#include "runtimed/runtime/cgroups.h"

namespace berth::runc {
namespace {

absl::StatusOr<int> ParseSignal(std::string text) {
  int number = 0;
  if (absl::SimpleAtoi(text, &number)) {
    if (number <= 0 || number >= NSIG) return absl::InvalidArgumentError("unknown signal " + text);
    return number;
  }
  const std::string given = text;
  text = absl::AsciiStrToUpper(text);
  if (absl::StartsWith(text, "SIG")) text = text.substr(3);
  static const std::pair<const char*, int> kSignals[] = {
      {"HUP", SIGHUP},       {"INT", SIGINT},   {"QUIT", SIGQUIT},     {"ILL", SIGILL},
      {"TRAP", SIGTRAP},     {"ABRT", SIGABRT}, {"IOT", SIGIOT},       {"BUS", SIGBUS},
      {"FPE", SIGFPE},       {"KILL", SIGKILL}, {"USR1", SIGUSR1},     {"SEGV", SIGSEGV},
      {"USR2", SIGUSR2},     {"PIPE", SIGPIPE}, {"ALRM", SIGALRM},     {"TERM", SIGTERM},
      {"STKFLT", SIGSTKFLT}, {"CHLD", SIGCHLD}, {"CONT", SIGCONT},     {"STOP", SIGSTOP},
      {"TSTP", SIGTSTP},     {"TTIN", SIGTTIN}, {"TTOU", SIGTTOU},     {"URG", SIGURG},
      {"XCPU", SIGXCPU},     {"XFSZ", SIGXFSZ}, {"VTALRM", SIGVTALRM}, {"PROF", SIGPROF},
      {"WINCH", SIGWINCH},   {"IO", SIGIO},     {"PWR", SIGPWR},       {"SYS", SIGSYS}};
  for (const auto& [name, signal] : kSignals) {
    if (text == name) return signal;
  }
  return absl::InvalidArgumentError("unknown signal \"" + given + "\"");
}

}  // namespace

absl::Status KillVerb(const GlobalOptions& global, const std::vector<std::string>& args,
                      int* exit_code) {
  ASSIGN_OR_RETURN(ParsedFlags flags, ParseFlags(args, {{"all", "a", false}}));
  if (flags.positionals.empty() || flags.positionals.size() > 2) {
    return absl::InvalidArgumentError(
        "\"kill\" requires a minimum of 1 and a maximum of 2 arguments");
  }
  ASSIGN_OR_RETURN(int signal,
                   ParseSignal(flags.positionals.size() == 2 ? flags.positionals[1] : "TERM"));
  ASSIGN_OR_RETURN(ContainerRecord record, LoadRecord(global.root, flags.positionals[0]));
  if (StatusOf(record) == "stopped") return absl::FailedPreconditionError("container not running");
  if (flags.Has("all")) {
    ASSIGN_OR_RETURN(std::unique_ptr<runtime::CgroupManager> cgroup,
                     runtime::NewCgroupManager(record.cgroups_path));
    ASSIGN_OR_RETURN(std::vector<pid_t> pids, cgroup->Pids());
    for (pid_t pid : pids) kill(pid, signal);
  } else if (kill(record.pid, signal) != 0) {
    return LastErrnoStatus("kill container " + record.id);
  }
  *exit_code = 0;
  return absl::OkStatus();
}

}  // namespace berth::runc
