#include <cstdio>

#include "common/status.h"
#include "runtimed/runc/flags.h"
#include "runtimed/runc/runc.h"
#include "runtimed/runc/store.h"

namespace berth::runc {

absl::Status ListVerb(const GlobalOptions& global, const std::vector<std::string>& args,
                      int* exit_code) {
  ASSIGN_OR_RETURN(ParsedFlags flags,
                   ParseFlags(args, {{"format", "f", true}, {"quiet", "q", false}}));
  std::string format = flags.Get("format", "table");
  if (format != "table" && format != "json") {
    return absl::InvalidArgumentError("invalid format option");
  }
  ASSIGN_OR_RETURN(std::vector<std::string> ids, ListIds(global.root));
  Json all = Json::array();
  std::string table = "ID          PID         STATUS      BUNDLE      CREATED     OWNER\n";
  for (const std::string& id : ids) {
    absl::StatusOr<ContainerRecord> record = LoadRecord(global.root, id);
    if (!record.ok()) continue;  // deleted meanwhile
    Json state = StateJson(*record);
    all.push_back(state);
    if (flags.Has("quiet")) {
      table += id + "\n";
      continue;
    }
    char line[8192];
    snprintf(line, sizeof(line), "%-11s %-11d %-11s %-11s %-11s root\n", id.c_str(),
             state["pid"].get<int>(), state["status"].get<std::string>().c_str(),
             record->bundle.c_str(), record->created.c_str());
    table += line;
  }
  if (flags.Has("quiet") && format == "table") {
    table = table.substr(table.find('\n') + 1);
  }
  printf("%s", format == "json" ? (all.dump() + "\n").c_str() : table.c_str());
  *exit_code = 0;
  return absl::OkStatus();
}

}  // namespace berth::runc
