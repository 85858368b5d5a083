#include "common/status.h"
#include "runtimed/runc/flags.h"
#include "runtimed/runc/launch.h"
#include "runtimed/runc/runc.h"

namespace berth::runc {

absl::Status CreateVerb(const GlobalOptions& global, const std::vector<std::string>& args,
                        int* exit_code) {
  ASSIGN_OR_RETURN(ParsedFlags flags, ParseFlags(args, LaunchFlags()));
  ASSIGN_OR_RETURN(LaunchOptions options, LaunchOptionsFromArgs("create", global, flags));
  *exit_code = 0;
  return LaunchDetached(options);
}

}  // namespace berth::runc
