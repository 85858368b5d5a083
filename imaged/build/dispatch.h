// What each instruction does to the image being built, as Docker's legacy
// builder dispatches it (moby builder/dockerfile/dispatchers.go): variables
// expanded against the stage's environment of that moment, the container
// config updated, and the history entry (`created_by`) written exactly as
// Docker writes it. Steps that need a container or the build context (RUN,
// COPY, ADD, WORKDIR's mkdir) are described, not performed: the Builder hands
// them to the executor interfaces.
#pragma once

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "common/json.h"
#include "imaged/build/build_args.h"
#include "imaged/build/instructions.h"
#include "imaged/build/shell_lex.h"

namespace berth::imaged::build {

// Linux's default PATH, added to a stage whose base sets none.
extern const char kDefaultPathEnv[];

enum class StepAction {
  // Only the config changes: an empty layer.
  kMetadata,
  // Run a command in a container from the parent image, commit its diff.
  kRun,
  // Copy files from the context, a stage or an image; commit the diff.
  kCopy,
  // Make sure the working directory exists; commit the (maybe empty) diff.
  kWorkdir,
};

struct CopyRequest {
  // "COPY" or "ADD".
  std::string instruction;
  // Expanded sources and destination, as written (dest relative to WorkingDir).
  std::vector<std::string> sources;
  std::string dest;
  // Expanded --from: a stage name or index, or an image reference; "" for
  // the build context.
  std::string from;
  std::string chown;
  std::string chmod;
  // ADD: extract local tar archives, download URLs.
  bool allow_remote_and_extract = false;
  // The container's WorkingDir, to resolve a relative dest.
  std::string workdir;
};

struct Step {
  StepAction action = StepAction::kMetadata;
  // History entry. For COPY/ADD it needs the sources' checksum: use
  // CopyCreatedBy once it is known.
  std::string created_by;
  // The instruction after expansion (plus the build args in scope for RUN);
  // with the parent image ID and, for COPY/ADD, the files' checksum it makes
  // the cache key (see CacheKey in output.h).
  std::string cache_text;
  // RUN: the command line and the environment to run it with (config Env
  // plus build args).
  std::vector<std::string> run_command;
  std::vector<std::string> run_env;
  CopyRequest copy;
  // WORKDIR: the absolute directory to create.
  std::string workdir;
  // Lines printed before the step runs (e.g. Docker's HEALTHCHECK override note).
  std::vector<std::string> notes;
};

// The state of one stage while its instructions are dispatched.
class StageState {
 public:
  StageState(const BuildArgs& args, char escape_token);

  // FROM: starts from a base image's config ("config" object of the image
  // config; null or {} for scratch). Adds the default PATH when missing.
  void Begin(const std::string& stage_name, const Json& base_config);

  // Applies one instruction. FROM is not a Command (see Builder).
  absl::StatusOr<Step> Dispatch(const Command& command);

  // Expands a word against the stage's environment (config Env + build args).
  absl::StatusOr<std::string> Expand(const std::string& word) const;
  // The environment used for expansion and RUN.
  std::vector<std::string> Environment() const;

  // The container config being built, in Docker's field names.
  const Json& config() const { return config_; }
  Json& mutable_config() { return config_; }
  // MAINTAINER's value, the image's "author".
  const std::string& author() const { return author_; }
  const std::string& stage_name() const { return stage_name_; }
  BuildArgs& args() { return args_; }
  const BuildArgs& args() const { return args_; }
  // The shell metadata steps and shell-form commands use ("SHELL" or sh -c).
  std::vector<std::string> Shell() const;

 private:
  absl::StatusOr<Step> DispatchUnexpanded(Command command);
  absl::Status ExpandCommand(Command* command) const;
  // "<shell> #(nop)  <comment>", as Docker's commit() writes it.
  std::string Nop(const std::string& comment) const;
  std::vector<std::string> ResolveCommand(const Command& command) const;

  BuildArgs args_;
  ShellLex lex_;
  Json config_;
  std::string author_;
  std::string stage_name_;
  // A CMD in this stage: a later ENTRYPOINT keeps it.
  bool cmd_set_ = false;
};

// "<shell> #(nop) COPY file:<hex> in <dest> ", Docker's history for COPY/ADD.
std::string CopyCreatedBy(const std::vector<std::string>& shell, const std::string& instruction,
                          const std::string& source_hash, const std::string& dest);

// WORKDIR's resolution: relative to the current one, cleaned.
std::string NormalizeWorkdir(const std::string& current, const std::string& requested);

// --chmod's value: octal, at most 07777.
absl::StatusOr<uint32_t> ParseOctalMode(const std::string& text);

// Go's path.Clean.
std::string CleanPath(const std::string& path);

// Docker's signal names and numbers (SIGTERM, TERM, 15, RTMIN+3);
// InvalidArgument "Invalid signal: <s>".
absl::Status ValidateSignal(const std::string& signal);

// The HealthConfig JSON of an image config, zero fields omitted.
Json HealthConfigJson(const HealthConfig& health);

}  // namespace berth::imaged::build
