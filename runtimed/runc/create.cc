#include "common/status.h"
#include "runtimed/runc/flags.h"
#include "runtimed/runc/launch.h"
#include "runtimed/runc/runc.h"

namespace berth::runc {

absl::Status CreateVerb(const GlobalOptions& global, const std::vector<std::string>& args,
                        int* exit_code) {
  ASSIGN_OR_RETURN(ParsedFlags flags, ParseFlags(args, {{"bundle", "b", true},
                                                        {"pid-file", "", true},
                                                        {"console-socket", "", true},
                                                        {"no-pivot", "", false},
                                                        {"no-new-keyring", "", false}}));
  if (flags.positionals.size() != 1) {
    return absl::InvalidArgumentError("\"create\" requires exactly 1 argument");
  }
  LaunchOptions options;
  options.root = global.root;
  options.id = flags.positionals[0];
  options.bundle = flags.Get("bundle", ".");
  options.pid_file = flags.Get("pid-file");
  options.console_socket = flags.Get("console-socket");
  *exit_code = 0;
  return LaunchDetached(options);
}

}  // namespace berth::runc
