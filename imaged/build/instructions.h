// Typed Dockerfile instructions: the parser's nodes checked the way Docker's
// instructions package checks them (argument counts, flags, HEALTHCHECK
// options, stage names), grouped into the ARGs before the first FROM and the
// build stages. Nothing is expanded here: variables are substituted when a
// step is dispatched, against the environment of that moment.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "imaged/build/parser.h"

namespace berth::imaged::build {

enum class CommandKind {
  kAdd,
  kArg,
  kCmd,
  kCopy,
  kEntrypoint,
  kEnv,
  kExpose,
  kHealthcheck,
  kLabel,
  kMaintainer,
  kOnbuild,
  kRun,
  kShell,
  kStopSignal,
  kUser,
  kVolume,
  kWorkdir,
};

struct KeyValue {
  std::string key;
  // Unset for "ARG NAME" without a default.
  std::optional<std::string> value;
};

struct HealthConfig {
  // ["NONE"], ["CMD", args...] or ["CMD-SHELL", command].
  std::vector<std::string> test;
  int64_t interval_ns = 0;
  int64_t timeout_ns = 0;
  int64_t start_period_ns = 0;
  int64_t start_interval_ns = 0;
  int retries = 0;
};

struct Command {
  CommandKind kind = CommandKind::kRun;
  // Upper case ("RUN").
  std::string name;
  // The instruction as written, trimmed: what "Step n/m : ..." prints.
  std::string original;
  int line = 0;

  // RUN, CMD, ENTRYPOINT, SHELL: the command (one string in shell form).
  std::vector<std::string> command;
  bool json = false;
  // ENV, LABEL, ARG.
  std::vector<KeyValue> pairs;
  // EXPOSE ports, VOLUME paths (unexpanded words).
  std::vector<std::string> words;
  // WORKDIR path, USER, STOPSIGNAL signal, MAINTAINER name, ONBUILD trigger.
  std::string value;
  // COPY, ADD.
  std::vector<std::string> sources;
  std::string dest;
  std::string from;
  std::string chown;
  std::string chmod;
  // HEALTHCHECK.
  HealthConfig health;
  // LABEL made from a --label build option: never expanded.
  bool no_expand = false;
};

struct Stage {
  // Lowercased "AS" name; empty when unnamed.
  std::string name;
  // Unexpanded base ("busybox", "${IMAGE}", "scratch", a stage name).
  std::string base;
  std::string platform;
  std::string original;
  int line = 0;
  std::vector<Command> commands;
};

struct Instructions {
  // ARGs before the first FROM (global scope).
  std::vector<Command> meta_args;
  std::vector<Stage> stages;
  char escape_token = '\\';
};

// Checks one node (not FROM). Errors carry no line; ParseInstructions adds it.
absl::StatusOr<Command> ParseCommand(const Node& node);

// Checks every node and groups them into stages. Errors read
// "Dockerfile parse error line <n>: <what>", e.g. "unknown instruction: FOOBAR".
absl::StatusOr<Instructions> ParseInstructions(const ParsedDockerfile& dockerfile);

// A LABEL step for a --label build option, as Docker appends them.
Command MakeLabelCommand(const std::string& key, const std::string& value);

// True for a source that ADD downloads ("http://", "https://").
bool IsUrl(const std::string& source);

}  // namespace berth::imaged::build
