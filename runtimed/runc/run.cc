#include "common/status.h"
#include "runtimed/runc/flags.h"
#include "runtimed/runc/launch.h"
#include "runtimed/runc/runc.h"

namespace berth::runc {

absl::Status RunVerb(const GlobalOptions& global, const std::vector<std::string>& args,
                     int* exit_code) {
  ASSIGN_OR_RETURN(ParsedFlags flags, ParseFlags(args, {{"bundle", "b", true},
                                                        {"pid-file", "", true},
                                                        {"console-socket", "", true},
                                                        {"detach", "d", false},
                                                        {"no-pivot", "", false},
                                                        {"no-new-keyring", "", false}}));
  if (flags.positionals.size() != 1) {
    return absl::InvalidArgumentError("\"run\" requires exactly 1 argument");
  }
  LaunchOptions options;
  options.root = global.root;
  options.id = flags.positionals[0];
  options.bundle = flags.Get("bundle", ".");
  options.pid_file = flags.Get("pid-file");
  options.console_socket = flags.Get("console-socket");
  if (flags.Has("detach")) {
    options.start_now = true;
    *exit_code = 0;
    return LaunchDetached(options);
  }
  ASSIGN_OR_RETURN(*exit_code, RunForeground(options));
  return absl::OkStatus();
}

}  // namespace berth::runc
