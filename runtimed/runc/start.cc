#include "common/status.h"
#include "runtimed/runc/flags.h"
#include "runtimed/runc/launch.h"
#include "runtimed/runc/runc.h"
#include "runtimed/runc/store.h"

namespace berth::runc {

absl::Status StartVerb(const GlobalOptions& global, const std::vector<std::string>& args,
                       int* exit_code) {
  ASSIGN_OR_RETURN(ParsedFlags flags, ParseFlags(args, {}));
  if (flags.positionals.size() != 1) {
    return absl::InvalidArgumentError("\"start\" requires exactly 1 argument");
  }
  ASSIGN_OR_RETURN(ContainerRecord record, LoadRecord(global.root, flags.positionals[0]));
  std::string status = StatusOf(record);
  if (status == "stopped") {
    return absl::FailedPreconditionError("cannot start a container that has stopped");
  }
  if (status == "running") {
    return absl::FailedPreconditionError("cannot start an already running container");
  }
  RETURN_IF_ERROR(StartCreated(global.root, record));
  record.started = true;
  *exit_code = 0;
  return SaveRecord(global.root, record);
}

}  // namespace berth::runc
