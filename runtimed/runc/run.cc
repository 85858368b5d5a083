#include "common/status.h"
#include "runtimed/runc/flags.h"
#include "runtimed/runc/launch.h"
#include "runtimed/runc/runc.h"

namespace berth::runc {

absl::Status RunVerb(const GlobalOptions& global, const std::vector<std::string>& args,
                     int* exit_code) {
  std::vector<FlagSpec> specs = LaunchFlags();
  specs.push_back({"detach", "d", false});
  ASSIGN_OR_RETURN(ParsedFlags flags, ParseFlags(args, specs));
  ASSIGN_OR_RETURN(LaunchOptions options, LaunchOptionsFromArgs("run", global, flags));
  if (flags.Has("detach")) {
    options.start_now = true;
    *exit_code = 0;
    return LaunchDetached(options);
  }
  ASSIGN_OR_RETURN(*exit_code, RunForeground(options));
  return absl::OkStatus();
}

}  // namespace berth::runc
