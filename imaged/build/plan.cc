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

namespace {

std::string NormalizeOs(const std::string& os) {
  std::string lower = absl::AsciiStrToLower(os);
  return lower == "macos" ? "darwin" : lower;
}

// containerd's normalizeArch.
void NormalizeArch(const std::string& raw_arch, const std::string& raw_variant, std::string* arch,
                   std::string* variant) {
  *arch = absl::AsciiStrToLower(raw_arch);
  *variant = absl::AsciiStrToLower(raw_variant);
  if (*arch == "i386") {
    *arch = "386";
    variant->clear();
  } else if (*arch == "x86_64" || *arch == "x86-64" || *arch == "amd64") {
    *arch = "amd64";
    if (*variant == "v1") variant->clear();
  } else if (*arch == "aarch64" || *arch == "arm64") {
    *arch = "arm64";
    if (*variant == "8" || *variant == "v8" || *variant == "v8.0") variant->clear();
  } else if (*arch == "armhf") {
    *arch = "arm";
    *variant = "v7";
  } else if (*arch == "armel") {
    *arch = "arm";
    *variant = "v6";
  } else if (*arch == "arm") {
    if (variant->empty() || *variant == "7") *variant = "v7";
    if (*variant == "5" || *variant == "6" || *variant == "8") *variant = "v" + *variant;
  }
}

bool KnownOs(const std::string& os) {
  static const char* const kOs[] = {
      "aix",   "android", "darwin", "dragonfly", "freebsd", "hurd",    "illumos", "ios",     "js",
      "linux", "nacl",    "netbsd", "openbsd",   "plan9",   "solaris", "wasip1",  "windows", "zos"};
  for (const char* known : kOs) {
    if (os == known) return true;
  }
  return false;
}

bool KnownArch(const std::string& arch) {
  static const char* const kArch[] = {
      "386",     "amd64",  "amd64p32", "arm",      "armbe",     "arm64",       "arm64be", "loong64",
      "mips",    "mipsle", "mips64",   "mips64le", "mips64p32", "mips64p32le", "ppc",     "ppc64",
      "ppc64le", "riscv",  "riscv64",  "s390",     "s390x",     "sparc",       "sparc64", "wasm"};
  for (const char* known : kArch) {
    if (arch == known) return true;
  }
  return false;
}

bool ValidComponent(const std::string& part) {
  if (part.empty()) return false;
  for (char c : part) {
    if (!absl::ascii_isalnum(static_cast<unsigned char>(c)) && c != '_' && c != '-') return false;
  }
  return true;
}

absl::Status InvalidPlatform(const std::string& specifier, const std::string& why) {
  return absl::InvalidArgumentError(
      absl::StrCat("\"", specifier, "\": ", why, ": invalid argument"));
}

}  // namespace

absl::StatusOr<std::string> NormalizePlatform(const std::string& specifier) {
  if (specifier.empty()) return specifier;
  if (absl::StrContains(specifier, "*")) {
    return InvalidPlatform(specifier, "wildcards not yet supported");
  }
  std::vector<std::string> parts = absl::StrSplit(specifier, '/');
  for (const std::string& part : parts) {
    if (!ValidComponent(part)) {
      return absl::InvalidArgumentError(absl::StrCat(
          "\"", part, "\" is an invalid component of \"", specifier,
          "\": platform specifier component must match \"^[A-Za-z0-9_-]+$\": invalid argument"));
    }
  }
  std::string os, arch, variant;
  switch (parts.size()) {
    case 1:
      os = NormalizeOs(parts[0]);
      if (KnownOs(os)) {
        arch = HostArch();
        break;
      }
      NormalizeArch(parts[0], "", &arch, &variant);
      if (arch == "arm" && variant == "v7") variant.clear();
      if (!KnownArch(arch)) {
        return InvalidPlatform(specifier, "unknown operating system or architecture");
      }
      os = "linux";
      break;
    case 2:
      os = NormalizeOs(parts[0]);
      NormalizeArch(parts[1], "", &arch, &variant);
      break;
    case 3:
      os = NormalizeOs(parts[0]);
      NormalizeArch(parts[1], parts[2], &arch, &variant);
      break;
    default:
      return InvalidPlatform(specifier, "cannot parse platform specifier");
  }
  return variant.empty() ? absl::StrCat(os, "/", arch) : absl::StrCat(os, "/", arch, "/", variant);
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
