#include "runtimed/daemon/top.h"

#include <vector>

#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"

namespace berth::runtimed {

absl::StatusOr<runtime::v1::TopContainerResponse> ParsePsOutput(const std::string& output,
                                                                const std::set<std::string>& pids) {
  std::vector<std::string> lines = absl::StrSplit(output, '\n', absl::SkipWhitespace());
  runtime::v1::TopContainerResponse response;
  if (lines.empty()) return absl::InvalidArgumentError("ps printed nothing");
  std::vector<std::string> titles = absl::StrSplit(lines[0], ' ', absl::SkipWhitespace());
  int pid_index = -1;
  for (size_t i = 0; i < titles.size(); ++i) {
    if (titles[i] == "PID") pid_index = static_cast<int>(i);
    response.add_titles(titles[i]);
  }
  if (pid_index < 0) return absl::InvalidArgumentError("Couldn't find PID field in ps output");
  for (size_t l = 1; l < lines.size(); ++l) {
    std::vector<std::string> fields = absl::StrSplit(lines[l], ' ', absl::SkipWhitespace());
    if (fields.size() <= static_cast<size_t>(pid_index) || !pids.count(fields[pid_index])) {
      continue;
    }
    auto* process = response.add_processes();
    for (size_t i = 0; i < fields.size(); ++i) {
      if (i + 1 == titles.size()) {
        std::vector<std::string> rest(fields.begin() + i, fields.end());
        process->add_fields(absl::StrJoin(rest, " "));
        break;
      }
      process->add_fields(fields[i]);
    }
  }
  return response;
}

}  // namespace berth::runtimed
