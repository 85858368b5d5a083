#include "imaged/changes.h"

#include <algorithm>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "common/status.h"

namespace berth::imaged {
namespace {

// Splits on unquoted whitespace, removing quotes and backslash escapes as the
// Dockerfile shell lexer does for ENV and LABEL.
absl::StatusOr<std::vector<std::string>> SplitWords(absl::string_view text) {
  std::vector<std::string> words;
  std::string word;
  bool in_word = false;
  char quote = 0;
  for (size_t i = 0; i < text.size(); ++i) {
    char c = text[i];
    if (quote == '\'') {
      if (c == '\'') {
        quote = 0;
      } else {
        word.push_back(c);
      }
      continue;
    }
    if (c == '\\' && i + 1 < text.size()) {
      word.push_back(text[++i]);
      in_word = true;
      continue;
    }
    if (quote == '"') {
      if (c == '"') {
        quote = 0;
      } else {
        word.push_back(c);
      }
      continue;
    }
    if (c == '"' || c == '\'') {
      quote = c;
      in_word = true;
      continue;
    }
    if (absl::ascii_isspace(static_cast<unsigned char>(c))) {
      if (in_word) words.push_back(std::move(word));
      word.clear();
      in_word = false;
      continue;
    }
    word.push_back(c);
    in_word = true;
  }
  if (quote != 0)
    return absl::InvalidArgumentError(
        "unexpected end of statement while looking for matching quote");
  if (in_word) words.push_back(std::move(word));
  return words;
}

// JSON (exec) form when the argument is a JSON array of strings.
bool ParseExecForm(absl::string_view args, std::vector<std::string>* out) {
  if (!absl::StartsWith(args, "[")) return false;
  auto parsed = ParseJson(std::string(args));
  if (!parsed.ok() || !parsed->is_array()) return false;
  out->clear();
  for (const Json& item : *parsed) {
    if (!item.is_string()) return false;
    out->push_back(item.get<std::string>());
  }
  return true;
}

Json CommandOf(absl::string_view args) {
  std::vector<std::string> exec;
  if (ParseExecForm(args, &exec)) return Json(exec);
  return Json::array({"/bin/sh", "-c", std::string(args)});
}

// "KEY=VALUE ..." pairs, or the legacy "KEY VALUE with spaces".
absl::StatusOr<std::vector<std::pair<std::string, std::string>>> ParseKeyValues(
    absl::string_view instruction, absl::string_view args, bool allow_legacy) {
  std::vector<std::pair<std::string, std::string>> pairs;
  ASSIGN_OR_RETURN(std::vector<std::string> words, SplitWords(args));
  if (words.empty()) {
    return absl::InvalidArgumentError(absl::StrCat(instruction, " requires at least one argument"));
  }
  if (words[0].find('=') == std::string::npos) {
    if (!allow_legacy || words.size() < 2) {
      return absl::InvalidArgumentError(absl::StrCat(instruction, " names can not be blank"));
    }
    // Legacy form: the value is the rest of the line, as written.
    absl::string_view rest = absl::StripLeadingAsciiWhitespace(args);
    rest.remove_prefix(std::min(rest.size(), rest.find_first_of(" \t")));
    ASSIGN_OR_RETURN(std::vector<std::string> value_words,
                     SplitWords(absl::StripAsciiWhitespace(rest)));
    pairs.emplace_back(words[0], absl::StrJoin(value_words, " "));
    return pairs;
  }
  for (const std::string& word : words) {
    size_t eq = word.find('=');
    if (eq == std::string::npos || eq == 0) {
      return absl::InvalidArgumentError(absl::StrCat("Syntax error - can't find = in \"", word,
                                                     "\". Must be of the form: name=value"));
    }
    pairs.emplace_back(word.substr(0, eq), word.substr(eq + 1));
  }
  return pairs;
}

absl::Status AddExposedPorts(absl::string_view args, Json* config) {
  ASSIGN_OR_RETURN(std::vector<std::string> words, SplitWords(args));
  if (words.empty()) return absl::InvalidArgumentError("EXPOSE requires at least one argument");
  Json& ports = (*config)["ExposedPorts"];
  if (!ports.is_object()) ports = Json::object();
  for (const std::string& word : words) {
    std::pair<std::string, std::string> spec = absl::StrSplit(word, absl::MaxSplits('/', 1));
    std::string proto = spec.second.empty() ? "tcp" : absl::AsciiStrToLower(spec.second);
    if (proto != "tcp" && proto != "udp" && proto != "sctp") {
      return absl::InvalidArgumentError(absl::StrCat("invalid proto: ", proto));
    }
    std::pair<std::string, std::string> range = absl::StrSplit(spec.first, absl::MaxSplits('-', 1));
    uint32_t first = 0, last = 0;
    if (!absl::SimpleAtoi(range.first, &first) || first > 65535 ||
        (!range.second.empty() && (!absl::SimpleAtoi(range.second, &last) || last > 65535))) {
      return absl::InvalidArgumentError(absl::StrCat("invalid containerPort: ", spec.first));
    }
    if (range.second.empty()) last = first;
    if (last < first) {
      return absl::InvalidArgumentError(
          absl::StrCat("invalid range specified for container port: ", spec.first));
    }
    for (uint32_t port = first; port <= last; ++port) {
      ports[absl::StrCat(port, "/", proto)] = Json::object();
    }
  }
  return absl::OkStatus();
}

absl::Status ApplyOne(absl::string_view change, bool* cmd_set, Json* config) {
  absl::string_view line = absl::StripAsciiWhitespace(change);
  size_t space = line.find_first_of(" \t");
  std::string instruction = absl::AsciiStrToLower(line.substr(0, space));
  absl::string_view args =
      space == absl::string_view::npos ? "" : absl::StripAsciiWhitespace(line.substr(space));
  if (instruction.empty()) return absl::OkStatus();

  if (instruction == "cmd") {
    (*config)["Cmd"] = CommandOf(args);
    *cmd_set = true;
  } else if (instruction == "entrypoint") {
    (*config)["Entrypoint"] = CommandOf(args);
    // As in a Dockerfile: a new entrypoint drops an inherited CMD.
    if (!*cmd_set) (*config)["Cmd"] = nullptr;
  } else if (instruction == "env") {
    ASSIGN_OR_RETURN(auto pairs, ParseKeyValues("ENV", args, /*allow_legacy=*/true));
    Json& env = (*config)["Env"];
    if (!env.is_array()) env = Json::array();
    for (const auto& [key, value] : pairs) {
      std::string entry = key + "=" + value;
      auto existing = std::find_if(env.begin(), env.end(), [&](const Json& item) {
        return item.is_string() && absl::StartsWith(item.get<std::string>(), key + "=");
      });
      if (existing != env.end()) {
        *existing = entry;
      } else {
        env.push_back(entry);
      }
    }
  } else if (instruction == "label") {
    ASSIGN_OR_RETURN(auto pairs, ParseKeyValues("LABEL", args, /*allow_legacy=*/true));
    Json& labels = (*config)["Labels"];
    if (!labels.is_object()) labels = Json::object();
    for (const auto& [key, value] : pairs) labels[key] = value;
  } else if (instruction == "expose") {
    RETURN_IF_ERROR(AddExposedPorts(args, config));
  } else if (instruction == "user") {
    (*config)["User"] = std::string(args);
  } else if (instruction == "workdir") {
    std::string dir(args);
    if (!absl::StartsWith(dir, "/")) {
      std::string base = config->value("WorkingDir", std::string());
      if (base.empty()) base = "/";
      dir = absl::EndsWith(base, "/") ? base + dir : base + "/" + dir;
    }
    (*config)["WorkingDir"] = dir;
  } else if (instruction == "volume") {
    std::vector<std::string> volumes;
    if (!ParseExecForm(args, &volumes)) {
      ASSIGN_OR_RETURN(volumes, SplitWords(args));
    }
    if (volumes.empty()) return absl::InvalidArgumentError("VOLUME requires at least one argument");
    Json& out = (*config)["Volumes"];
    if (!out.is_object()) out = Json::object();
    for (const std::string& volume : volumes) {
      if (volume.empty())
        return absl::InvalidArgumentError("VOLUME specified can not be an empty string");
      out[volume] = Json::object();
    }
  } else if (instruction == "stopsignal") {
    (*config)["StopSignal"] = std::string(args);
  } else if (instruction == "onbuild") {
    std::string trigger = absl::AsciiStrToLower(args.substr(0, args.find_first_of(" \t")));
    if (trigger == "onbuild") {
      return absl::InvalidArgumentError("Chaining ONBUILD via `ONBUILD ONBUILD` isn't allowed");
    }
    if (trigger == "from" || trigger == "maintainer") {
      return absl::InvalidArgumentError(
          absl::StrCat(absl::AsciiStrToUpper(trigger), " isn't allowed as an ONBUILD trigger"));
    }
    Json& onbuild = (*config)["OnBuild"];
    if (!onbuild.is_array()) onbuild = Json::array();
    onbuild.push_back(std::string(args));
  } else if (instruction == "healthcheck") {
    std::string kind = absl::AsciiStrToUpper(args.substr(0, args.find_first_of(" \t")));
    if (kind == "NONE") {
      (*config)["Healthcheck"] = Json{{"Test", Json::array({"NONE"})}};
    } else if (kind == "CMD") {
      absl::string_view command = absl::StripAsciiWhitespace(args.substr(3));
      std::vector<std::string> exec;
      Json test = ParseExecForm(command, &exec) ? Json(exec)
                                                : Json::array({"CMD-SHELL", std::string(command)});
      if (!exec.empty()) test.insert(test.begin(), "CMD");
      (*config)["Healthcheck"] = Json{{"Test", test}};
    } else {
      return absl::InvalidArgumentError(
          "HEALTHCHECK with options is not supported in changes; use HEALTHCHECK CMD or NONE");
    }
  } else {
    return absl::InvalidArgumentError(absl::StrCat(instruction, " is not a valid change command"));
  }
  return absl::OkStatus();
}

}  // namespace

absl::Status ApplyChanges(const std::vector<std::string>& changes, Json* config) {
  bool cmd_set = false;
  for (const std::string& change : changes) RETURN_IF_ERROR(ApplyOne(change, &cmd_set, config));
  return absl::OkStatus();
}

}  // namespace berth::imaged
