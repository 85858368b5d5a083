// The Dockerfile parser: text to a list of instruction nodes, as Docker's
// parser (moby/buildkit frontend/dockerfile/parser) does it. Parser directives
// (`# syntax=`, `# escape=`) are read only at the very top; comments and empty
// lines vanish, also inside line continuations; each instruction keeps its
// flags, its arguments split the way its instruction wants, and its lines.
// Unknown instruction names are kept here and rejected by ParseInstructions
// (instructions.h), as Docker does, so the error names the line.
#pragma once

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace berth::imaged::build {

struct Node {
  // Lowercased instruction name ("from", "run", ...).
  std::string name;
  // The logical line after joining continuations, as written.
  std::string original;
  // Leading "--name[=value]" words, quotes removed.
  std::vector<std::string> flags;
  // Arguments as the instruction splits them: one string for shell-form
  // RUN/CMD/ENTRYPOINT/SHELL, the array elements in JSON form, alternating
  // keys and values for ENV and LABEL, whitespace-separated words for FROM
  // and EXPOSE, words for ARG; HEALTHCHECK: type first, then the command.
  std::vector<std::string> args;
  // JSON (exec) form.
  bool json = false;
  // 1-based lines the instruction spans.
  int start_line = 0;
  int end_line = 0;
  // ONBUILD: the trigger instruction (exactly one element).
  std::vector<Node> children;
};

struct ParsedDockerfile {
  std::vector<Node> nodes;
  char escape_token = '\\';
  // The `# syntax=` directive, informational (there is only one front end).
  std::string syntax;
  // Printed before the build steps, as Docker prints them.
  std::vector<std::string> warnings;
};

// Parses a Dockerfile. Errors read "Dockerfile parse error line <n>: <what>".
absl::StatusOr<ParsedDockerfile> ParseDockerfile(absl::string_view text);

// Parses one instruction line (no continuations) with the given escape token;
// used for ONBUILD triggers stored in a base image's config.
absl::StatusOr<Node> ParseLine(const std::string& line, char escape_token);

// "Dockerfile parse error line <line>: <message>", keeping the code.
absl::Status ParseErrorAt(int line, const absl::Status& status);

// Splits on whitespace keeping quotes and escapes in the words (Docker's
// parseWords, used for ENV, LABEL and ARG before expansion).
std::vector<std::string> ParseWords(const std::string& text, char escape_token);

}  // namespace berth::imaged::build
