#include "imaged/build/plan.h"

#include <sys/utsname.h>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "common/status.h"
#include "imaged/build/parser.h"

namespace berth::imaged::build {
namespace {

std::string HostArch() {
  struct utsname name;
  if (uname(&name) != 0) return "amd64";
  std::string machine = name.machine;
  if (machine == "x86_64") return "amd64";
  if (machine == "aarch64") return "arm64";
  if (absl::StartsWith(machine, "armv7")) return "arm/v7";
  if (machine == "i686" || machine == "i386") return "386";
  return machine;
}

void AddPlatform(const std::string& prefix, const std::string& platform,
                 std::map<std::string, std::string>* args) {
  std::vector<std::string> parts = absl::StrSplit(platform, '/');
  (*args)[prefix + "PLATFORM"] = platform;
  (*args)[prefix + "OS"] = parts[0];
  (*args)[prefix + "ARCH"] = parts.size() > 1 ? parts[1] : "";
  (*args)[prefix + "VARIANT"] = parts.size() > 2 ? parts[2] : "";
}

bool HasVariables(const std::string& text) { return text.find('$') != std::string::npos; }

}  // namespace

std::map<std::string, std::string> PlatformArgs(const std::string& platform) {
  std::map<std::string, std::string> args;
  std::string host = "linux/" + HostArch();
  AddPlatform("BUILD", host, &args);
  AddPlatform("TARGET", platform.empty() ? host : platform, &args);
  return args;
}

absl::StatusOr<int> ResolveStageReference(const Instructions& instructions, int current,
                                          const std::string& reference) {
  std::string lower = absl::AsciiStrToLower(reference);
  const std::vector<Stage>& stages = instructions.stages;
  for (int i = 0; i < static_cast<int>(stages.size()); ++i) {
    if (stages[i].name.empty() || stages[i].name != lower) continue;
    if (i < current) return i;
    if (i == current) {
      return absl::InvalidArgumentError(
          absl::StrCat("circular dependency detected on stage: ", reference));
    }
    return absl::InvalidArgumentError(
        absl::StrCat("stage ", reference,
                     " is defined after the stage that uses it: stages are built in "
                     "order, so a stage can only use an earlier one"));
  }
  int index = 0;
  if (absl::SimpleAtoi(reference, &index)) {
    if (index < 0 || index >= static_cast<int>(stages.size())) {
      return absl::InvalidArgumentError(absl::StrCat("invalid stage index ", reference));
    }
    if (index == current) {
      return absl::InvalidArgumentError(
          absl::StrCat("circular dependency detected on stage: ", reference));
    }
    if (index > current) {
      return absl::InvalidArgumentError(
          absl::StrCat("stage ", reference,
                       " is defined after the stage that uses it: stages are built in "
                       "order, so a stage can only use an earlier one"));
    }
    return index;
  }
  return -1;
}

absl::StatusOr<BuildPlan> MakePlan(const std::string& dockerfile, const PlanOptions& options) {
  if (dockerfile.empty()) {
    return absl::InvalidArgumentError("the Dockerfile (Dockerfile) cannot be empty");
  }
  ASSIGN_OR_RETURN(ParsedDockerfile parsed, ParseDockerfile(dockerfile));
  ASSIGN_OR_RETURN(Instructions instructions, ParseInstructions(parsed));
  BuildPlan plan;
  plan.warnings = parsed.warnings;

  std::vector<Stage>& stages = instructions.stages;
  for (size_t i = 0; i < stages.size(); ++i) {
    if (stages[i].name.empty()) continue;
    for (size_t j = 0; j < i; ++j) {
      if (stages[j].name == stages[i].name) {
        return ParseErrorAt(stages[i].line, absl::InvalidArgumentError(absl::StrCat(
                                                stages[i].name, " stage name already used")));
      }
    }
  }
  for (int i = 0; i < static_cast<int>(stages.size()); ++i) {
    for (const Command& command : stages[i].commands) {
      if (command.from.empty() || HasVariables(command.from)) continue;
      absl::StatusOr<int> resolved = ResolveStageReference(instructions, i, command.from);
      if (!resolved.ok()) return ParseErrorAt(command.line, resolved.status());
    }
  }
  if (!options.target.empty()) {
    std::string target = absl::AsciiStrToLower(options.target);
    size_t found = stages.size();
    for (size_t i = 0; i < stages.size(); ++i) {
      if (stages[i].name == target) found = i;
    }
    if (found == stages.size()) {
      return absl::InvalidArgumentError(
          absl::StrCat("failed to reach build target ", options.target, " in Dockerfile"));
    }
    stages.resize(found + 1);
  }
  for (const auto& [key, value] : options.labels) {
    stages.back().commands.push_back(MakeLabelCommand(key, value));
  }
  plan.total_steps = static_cast<int>(instructions.meta_args.size());
  for (const Stage& stage : stages) {
    plan.total_steps += 1 + static_cast<int>(stage.commands.size());
  }
  plan.instructions = std::move(instructions);
  return plan;
}

}  // namespace berth::imaged::build
