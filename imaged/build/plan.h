// The build plan: a Dockerfile checked and cut down to what a build with
// given options runs. Stages up to --target (all of them otherwise, as the
// legacy builder builds every stage in order), the --label options appended
// as LABEL steps to the last stage, the number of steps Docker prints
// ("Step 3/7"), and stage references (FROM <stage>, COPY --from=<name|index>)
// resolved against the stages before the one that refers to them.
#pragma once

#include <map>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "imaged/build/build_args.h"
#include "imaged/build/instructions.h"

namespace berth::imaged::build {

struct PlanOptions {
  // --target: a stage name (case-insensitive); empty for the last stage.
  std::string target;
  // --label, applied in key order.
  std::map<std::string, std::string> labels;
};

struct BuildPlan {
  Instructions instructions;
  // Meta ARGs, FROMs, every command and every --label step.
  int total_steps = 0;
  // The parser's warnings (empty continuation lines), printed first.
  std::vector<std::string> warnings;
};

// Parses and plans. Errors name the line ("Dockerfile parse error line 3:
// unknown instruction: FOOBAR"); an unknown --target is "failed to reach
// build target <t> in Dockerfile"; a COPY --from naming its own stage or a
// later one is refused here when it has no variables, else at dispatch.
absl::StatusOr<BuildPlan> MakePlan(const std::string& dockerfile, const PlanOptions& options);

// What a stage reference names, seen from stage `current`: the index of an
// earlier stage, or -1 when it is not a stage (then it is an image
// reference). A reference to the current stage or a later one is
// InvalidArgument ("circular dependency detected on stage: <ref>").
absl::StatusOr<int> ResolveStageReference(const Instructions& instructions, int current,
                                          const std::string& reference);

// The ARGs that exist without an ARG line, as BuildKit defines them:
// TARGETPLATFORM/OS/ARCH/VARIANT for platform (os/arch[/variant], the host's
// when empty) and BUILDPLATFORM/OS/ARCH/VARIANT for the host.
std::map<std::string, std::string> PlatformArgs(const std::string& platform);

// A --platform / FROM --platform value as containerd's platforms.Parse and
// Normalize read it: "os/arch[/variant]" with aliases resolved ("x86_64" is
// amd64, "aarch64" arm64, arm64's "v8" dropped), a lone OS or architecture
// completed with the host's. "" stays "". InvalidArgument in containerd's
// words, e.g. "\"foo\": unknown operating system or architecture: invalid argument".
absl::StatusOr<std::string> NormalizePlatform(const std::string& specifier);

}  // namespace berth::imaged::build
