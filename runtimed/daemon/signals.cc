#include "runtimed/daemon/signals.h"

#include <signal.h>

#include <cctype>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"

namespace berth::runtimed {
namespace {

struct NamedSignal {
  const char* name;
  int number;
};

constexpr NamedSignal kSignals[] = {
    {"ABRT", SIGABRT}, {"ALRM", SIGALRM}, {"BUS", SIGBUS},       {"CHLD", SIGCHLD},
    {"CLD", SIGCHLD},  {"CONT", SIGCONT}, {"FPE", SIGFPE},       {"HUP", SIGHUP},
    {"ILL", SIGILL},   {"INT", SIGINT},   {"IO", SIGIO},         {"IOT", SIGIOT},
    {"KILL", SIGKILL}, {"PIPE", SIGPIPE}, {"POLL", SIGPOLL},     {"PROF", SIGPROF},
    {"PWR", SIGPWR},   {"QUIT", SIGQUIT}, {"SEGV", SIGSEGV},     {"STKFLT", SIGSTKFLT},
    {"STOP", SIGSTOP}, {"SYS", SIGSYS},   {"TERM", SIGTERM},     {"TRAP", SIGTRAP},
    {"TSTP", SIGTSTP}, {"TTIN", SIGTTIN}, {"TTOU", SIGTTOU},     {"URG", SIGURG},
    {"USR1", SIGUSR1}, {"USR2", SIGUSR2}, {"VTALRM", SIGVTALRM}, {"WINCH", SIGWINCH},
    {"XCPU", SIGXCPU}, {"XFSZ", SIGXFSZ},
};

}  // namespace

absl::StatusOr<int> ParseSignal(const std::string& signal) {
  auto invalid = [&] { return absl::InvalidArgumentError("Invalid signal: " + signal); };
  int number = 0;
  if (absl::SimpleAtoi(signal, &number)) {
    if (number <= 0 || number > SIGRTMAX) return invalid();
    return number;
  }
  std::string name;
  for (char c : signal) name += static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  if (name.rfind("SIG", 0) == 0) name = name.substr(3);
  for (const NamedSignal& s : kSignals) {
    if (name == s.name) return s.number;
  }
  // RTMIN, RTMIN+n, RTMAX, RTMAX-n.
  if (name.rfind("RTMIN", 0) == 0 || name.rfind("RTMAX", 0) == 0) {
    bool min = name[3] == 'I';
    int base = min ? SIGRTMIN : SIGRTMAX;
    std::string rest = name.substr(5);
    if (rest.empty()) return base;
    int offset = 0;
    if (rest.size() > 1 && rest[0] == (min ? '+' : '-') &&
        absl::SimpleAtoi(rest.substr(1), &offset) && offset >= 0 && offset <= SIGRTMAX - SIGRTMIN) {
      return min ? base + offset : base - offset;
    }
  }
  return invalid();
}

}  // namespace berth::runtimed
