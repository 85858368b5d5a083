// Variable expansion in Dockerfile words with the rules of Docker's shell
// lexer (moby/buildkit frontend/dockerfile/shell): $VAR, ${VAR}, the
// ${VAR:-x} ${VAR-x} ${VAR:+x} ${VAR+x} ${VAR:?x} ${VAR?x} modifiers, single
// quotes (literal), double quotes (only $, " and the escape token are special),
// and the escape token (\ or `) outside quotes. Quotes are removed.
#pragma once

#include <string>
#include <vector>

#include "absl/status/statusor.h"

namespace berth::imaged::build {

class ShellLex {
 public:
  explicit ShellLex(char escape_token = '\\') : escape_(escape_token) {}

  // Expands word as one word: whitespace (also from variables) is kept.
  // env holds "KEY=VALUE" entries; the first entry for a key wins.
  absl::StatusOr<std::string> ProcessWord(const std::string& word,
                                          const std::vector<std::string>& env) const;
  // Expands and splits on unquoted whitespace, variables' values included
  // (only EXPOSE expands one word into several).
  absl::StatusOr<std::vector<std::string>> ProcessWords(const std::string& word,
                                                        const std::vector<std::string>& env) const;

 private:
  char escape_;
};

}  // namespace berth::imaged::build
