#include "common/status.h"
#include "runtimed/runc/flags.h"
#include "runtimed/runc/launch.h"
#include "runtimed/runc/runc.h"
#include "runtimed/runc/store.h"

namespace berth::runc {

absl::Status DeleteVerb(const GlobalOptions& global, const std::vector<std::string>& args,
                        int* exit_code) {
  ASSIGN_OR_RETURN(ParsedFlags flags, ParseFlags(args, {{"force", "f", false}}));
  if (flags.positionals.size() != 1) {
    return absl::InvalidArgumentError("\"delete\" requires exactly 1 argument");
  }
  ASSIGN_OR_RETURN(ContainerRecord record, LoadRecord(global.root, flags.positionals[0]));
  // As runc: a created container (never started) goes without --force.
  if (StatusOf(record) == "running" && !flags.Has("force")) {
    return absl::FailedPreconditionError("cannot delete container " + record.id +
                                         " that is not stopped: running");
  }
  *exit_code = 0;
  return Destroy(global.root, record);
}

}  // namespace berth::runc
