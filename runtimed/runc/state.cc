#include <cstdio>

#include "common/status.h"
#include "runtimed/runc/flags.h"
#include "runtimed/runc/runc.h"
#include "runtimed/runc/store.h"

namespace berth::runc {

absl::Status StateVerb(const GlobalOptions& global, const std::vector<std::string>& args,
                       int* exit_code) {
  ASSIGN_OR_RETURN(ParsedFlags flags, ParseFlags(args, {}));
  if (flags.positionals.size() != 1) {
    return absl::InvalidArgumentError("\"state\" requires exactly 1 argument");
  }
  ASSIGN_OR_RETURN(ContainerRecord record, LoadRecord(global.root, flags.positionals[0]));
  printf("%s\n", StateJson(record).dump(2).c_str());
  *exit_code = 0;
  return absl::OkStatus();
}

}  // namespace berth::runc
