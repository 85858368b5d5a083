#include "imaged/build/instructions.h"

#include <algorithm>
#include <map>
#include <set>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/strip.h"
#include "common/status.h"
#include "imaged/build/go_format.h"

namespace berth::imaged::build {
namespace {

const char kRequiresBuildKit[] =
    " option requires BuildKit. Refer to https://docs.docker.com/go/buildkit/ to learn how to "
    "build images with BuildKit enabled";

absl::Status AtLeastOneArgument(const std::string& name) {
  return absl::InvalidArgumentError(absl::StrCat(name, " requires at least one argument"));
}

absl::Status ExactlyOneArgument(const std::string& name) {
  return absl::InvalidArgumentError(absl::StrCat(name, " requires exactly one argument"));
}

// Docker's BFlags: "--name=value" for strings, "--name" or "--name=bool" for
// booleans; each at most once.
class Flags {
 public:
  explicit Flags(const std::vector<std::string>& args) : args_(args) {}

  void AddString(const std::string& name) { kinds_[name] = false; }
  void AddBool(const std::string& name) { kinds_[name] = true; }
  // Flags that Docker's legacy builder knows but only BuildKit implements.
  void AddBuildKitOnly(const std::string& name) { buildkit_only_.insert(name); }

  absl::Status Parse() {
    for (const std::string& raw : args_) {
      if (!absl::StartsWith(raw, "--")) {
        return absl::InvalidArgumentError(absl::StrCat("arg should start with -- : ", raw));
      }
      if (raw == "--") return absl::OkStatus();
      std::string arg = raw.substr(2);
      std::string value;
      size_t eq = arg.find('=');
      bool has_value = eq != std::string::npos;
      if (has_value) {
        value = arg.substr(eq + 1);
        arg = arg.substr(0, eq);
      }
      if (buildkit_only_.count(arg) > 0) {
        return absl::InvalidArgumentError(absl::StrCat("the --", arg, kRequiresBuildKit));
      }
      auto kind = kinds_.find(arg);
      if (kind == kinds_.end()) {
        return absl::InvalidArgumentError(absl::StrCat("unknown flag: ", arg));
      }
      if (!values_.emplace(arg, value).second) {
        return absl::InvalidArgumentError(absl::StrCat("duplicate flag specified: ", arg));
      }
      if (kind->second) {
        if (has_value && value.empty()) {
          return absl::InvalidArgumentError(absl::StrCat("missing a value on flag: ", arg));
        }
        std::string lower = absl::AsciiStrToLower(value);
        if (lower.empty() || lower == "true") {
          values_[arg] = "true";
        } else if (lower == "false") {
          values_[arg] = "false";
        } else {
          return absl::InvalidArgumentError(
              absl::StrCat("expecting boolean value for flag ", arg, ", not: ", value));
        }
      } else if (!has_value) {
        return absl::InvalidArgumentError(absl::StrCat("missing a value on flag: ", arg));
      }
    }
    return absl::OkStatus();
  }

  std::string Get(const std::string& name) const {
    auto it = values_.find(name);
    return it == values_.end() ? "" : it->second;
  }

 private:
  const std::vector<std::string>& args_;
  std::map<std::string, bool> kinds_;
  std::set<std::string> buildkit_only_;
  std::map<std::string, std::string> values_;
};

// Shell form keeps the command as one string; JSON form keeps the array.
std::vector<std::string> CommandArgs(const Node& node) {
  if (node.json) return node.args;
  return {absl::StrJoin(node.args, " ")};
}

absl::StatusOr<int64_t> ParseInterval(const std::string& name, const std::string& value) {
  if (value.empty()) return 0;
  ASSIGN_OR_RETURN(int64_t duration, ParseGoDuration(value));
  if (duration == 0) return 0;
  if (duration < 1000000) {
    return absl::InvalidArgumentError(
        absl::StrCat("Interval \"", name, "\" cannot be less than 1ms"));
  }
  return duration;
}

absl::Status ParseHealthcheck(const Node& node, Command* command) {
  if (node.args.empty()) return AtLeastOneArgument("HEALTHCHECK");
  std::string type = absl::AsciiStrToUpper(node.args[0]);
  std::vector<std::string> rest(node.args.begin() + 1, node.args.end());
  if (type == "NONE") {
    if (!rest.empty()) return absl::InvalidArgumentError("HEALTHCHECK NONE takes no arguments");
    Flags flags(node.flags);
    RETURN_IF_ERROR(flags.Parse());
    command->health.test = {"NONE"};
    return absl::OkStatus();
  }
  Flags flags(node.flags);
  for (const char* name : {"interval", "timeout", "start-period", "start-interval", "retries"}) {
    flags.AddString(name);
  }
  RETURN_IF_ERROR(flags.Parse());
  if (type != "CMD") {
    return absl::InvalidArgumentError(
        absl::StrCat("Unknown type ", GoQuote(type), " in HEALTHCHECK (try CMD)"));
  }
  std::vector<std::string> test = node.json ? rest : std::vector<std::string>{};
  if (!node.json && !rest.empty() && !absl::StrJoin(rest, " ").empty()) {
    test = {absl::StrJoin(rest, " ")};
  }
  if (test.empty()) return absl::InvalidArgumentError("Missing command after HEALTHCHECK CMD");
  test.insert(test.begin(), node.json ? "CMD" : "CMD-SHELL");
  HealthConfig& health = command->health;
  health.test = std::move(test);
  ASSIGN_OR_RETURN(health.interval_ns, ParseInterval("interval", flags.Get("interval")));
  ASSIGN_OR_RETURN(health.timeout_ns, ParseInterval("timeout", flags.Get("timeout")));
  ASSIGN_OR_RETURN(health.start_period_ns,
                   ParseInterval("start-period", flags.Get("start-period")));
  ASSIGN_OR_RETURN(health.start_interval_ns,
                   ParseInterval("start-interval", flags.Get("start-interval")));
  std::string retries = flags.Get("retries");
  if (!retries.empty()) {
    int32_t value = 0;
    if (!absl::SimpleAtoi(retries, &value)) {
      return absl::InvalidArgumentError(
          absl::StrCat("strconv.ParseInt: parsing ", GoQuote(retries), ": invalid syntax"));
    }
    if (value < 0) {
      return absl::InvalidArgumentError(absl::StrCat("--retries cannot be negative (", value, ")"));
    }
    health.retries = value;
  }
  return absl::OkStatus();
}

absl::Status ParseCopy(const Node& node, Command* command, bool add) {
  if (node.args.size() < 2) {
    return absl::InvalidArgumentError(absl::StrCat(
        command->name,
        " requires at least two arguments, but only one was provided. Destination could not be "
        "determined."));
  }
  Flags flags(node.flags);
  flags.AddString("chown");
  flags.AddString("chmod");
  flags.AddBuildKitOnly("link");
  if (add) {
    flags.AddBuildKitOnly("checksum");
    flags.AddBuildKitOnly("keep-git-dir");
  } else {
    flags.AddString("from");
    flags.AddBuildKitOnly("parents");
    flags.AddBuildKitOnly("exclude");
  }
  RETURN_IF_ERROR(flags.Parse());
  command->sources.assign(node.args.begin(), node.args.end() - 1);
  command->dest = node.args.back();
  command->from = flags.Get("from");
  command->chown = flags.Get("chown");
  command->chmod = flags.Get("chmod");
  return absl::OkStatus();
}

absl::Status ParseKind(const Node& node, Command* command) {
  const std::string& name = command->name;
  switch (command->kind) {
    case CommandKind::kEnv:
    case CommandKind::kLabel: {
      if (node.args.empty()) return AtLeastOneArgument(name);
      if (node.args.size() % 2 != 0) {
        return absl::InvalidArgumentError(
            absl::StrCat("Bad input to ", name, ", too many arguments"));
      }
      for (size_t i = 0; i < node.args.size(); i += 2) {
        if (node.args[i].empty()) {
          return absl::InvalidArgumentError(absl::StrCat(name, " names can not be blank"));
        }
        command->pairs.push_back({node.args[i], node.args[i + 1]});
      }
      return Flags(node.flags).Parse();
    }
    case CommandKind::kArg: {
      if (node.args.empty()) return AtLeastOneArgument("ARG");
      for (const std::string& word : node.args) {
        size_t eq = word.find('=');
        if (eq == std::string::npos) {
          command->pairs.push_back({word, std::nullopt});
          continue;
        }
        if (eq == 0) return absl::InvalidArgumentError("ARG names can not be blank");
        command->pairs.push_back({word.substr(0, eq), word.substr(eq + 1)});
      }
      return Flags(node.flags).Parse();
    }
    case CommandKind::kMaintainer:
    case CommandKind::kWorkdir:
    case CommandKind::kUser:
    case CommandKind::kStopSignal:
      if (node.args.size() != 1) return ExactlyOneArgument(name);
      command->value = node.args[0];
      return Flags(node.flags).Parse();
    case CommandKind::kExpose:
      if (node.args.empty()) return AtLeastOneArgument("EXPOSE");
      command->words = node.args;
      // Docker sorts the words as written, before expansion; the history shows that order.
      std::sort(command->words.begin(), command->words.end());
      return Flags(node.flags).Parse();
    case CommandKind::kVolume:
      if (node.args.empty()) return AtLeastOneArgument("VOLUME");
      for (const std::string& volume : node.args) {
        if (absl::StripAsciiWhitespace(volume).empty()) {
          return absl::InvalidArgumentError("VOLUME specified can not be an empty string");
        }
        command->words.emplace_back(absl::StripAsciiWhitespace(volume));
      }
      return Flags(node.flags).Parse();
    case CommandKind::kRun: {
      Flags flags(node.flags);
      for (const char* flag : {"mount", "network", "security"}) flags.AddBuildKitOnly(flag);
      RETURN_IF_ERROR(flags.Parse());
      if (node.args.empty() && !node.json) return AtLeastOneArgument("RUN");
      command->command = CommandArgs(node);
      command->json = node.json;
      return absl::OkStatus();
    }
    case CommandKind::kCmd:
    case CommandKind::kEntrypoint:
      RETURN_IF_ERROR(Flags(node.flags).Parse());
      command->command = CommandArgs(node);
      command->json = node.json;
      // ENTRYPOINT [] (or an empty one) clears it.
      if (command->kind == CommandKind::kEntrypoint && command->command.size() == 1 &&
          command->command[0].empty()) {
        command->command.clear();
      }
      return absl::OkStatus();
    case CommandKind::kShell:
      RETURN_IF_ERROR(Flags(node.flags).Parse());
      if (!node.json) {
        return absl::InvalidArgumentError("SHELL requires the arguments to be in JSON form");
      }
      if (node.args.empty()) return AtLeastOneArgument("SHELL");
      command->command = node.args;
      command->json = true;
      return absl::OkStatus();
    case CommandKind::kCopy:
    case CommandKind::kAdd:
      return ParseCopy(node, command, command->kind == CommandKind::kAdd);
    case CommandKind::kHealthcheck:
      return ParseHealthcheck(node, command);
    case CommandKind::kOnbuild: {
      if (node.children.empty()) return AtLeastOneArgument("ONBUILD");
      RETURN_IF_ERROR(Flags(node.flags).Parse());
      std::string trigger = absl::AsciiStrToUpper(node.children[0].name);
      if (trigger == "ONBUILD") {
        return absl::InvalidArgumentError("Chaining ONBUILD via `ONBUILD ONBUILD` isn't allowed");
      }
      if (trigger == "MAINTAINER" || trigger == "FROM") {
        return absl::InvalidArgumentError(
            absl::StrCat(trigger, " isn't allowed as an ONBUILD trigger"));
      }
      // The trigger is checked now so that a typo fails this build, not the
      // builds of every image made FROM this one.
      RETURN_IF_ERROR(ParseCommand(node.children[0]).status());
      // Docker strips (?i)^\s*ONBUILD\s* from the original line.
      absl::string_view rest = absl::StripLeadingAsciiWhitespace(node.original);
      rest.remove_prefix(7);
      command->value = std::string(absl::StripLeadingAsciiWhitespace(rest));
      return absl::OkStatus();
    }
  }
  return absl::OkStatus();
}

const std::map<std::string, CommandKind>& Kinds() {
  static const auto* kinds = new std::map<std::string, CommandKind>{
      {"add", CommandKind::kAdd},
      {"arg", CommandKind::kArg},
      {"cmd", CommandKind::kCmd},
      {"copy", CommandKind::kCopy},
      {"entrypoint", CommandKind::kEntrypoint},
      {"env", CommandKind::kEnv},
      {"expose", CommandKind::kExpose},
      {"healthcheck", CommandKind::kHealthcheck},
      {"label", CommandKind::kLabel},
      {"maintainer", CommandKind::kMaintainer},
      {"onbuild", CommandKind::kOnbuild},
      {"run", CommandKind::kRun},
      {"shell", CommandKind::kShell},
      {"stopsignal", CommandKind::kStopSignal},
      {"user", CommandKind::kUser},
      {"volume", CommandKind::kVolume},
      {"workdir", CommandKind::kWorkdir},
  };
  return *kinds;
}

bool ValidStageName(const std::string& name) {
  if (name.empty() || !absl::ascii_islower(static_cast<unsigned char>(name[0]))) return false;
  for (char c : name) {
    if (!absl::ascii_islower(static_cast<unsigned char>(c)) &&
        !absl::ascii_isdigit(static_cast<unsigned char>(c)) && c != '-' && c != '_' && c != '.') {
      return false;
    }
  }
  return true;
}

absl::StatusOr<Stage> ParseFrom(const Node& node) {
  Flags flags(node.flags);
  flags.AddString("platform");
  RETURN_IF_ERROR(flags.Parse());
  Stage stage;
  const std::vector<std::string>& args = node.args;
  if (args.size() == 3 && absl::EqualsIgnoreCase(args[1], "as")) {
    stage.name = absl::AsciiStrToLower(args[2]);
    if (!ValidStageName(stage.name)) {
      return absl::InvalidArgumentError(
          absl::StrCat("invalid name for build stage: ", GoQuote(args[2]),
                       ", name can't start with a number or contain symbols"));
    }
  } else if (args.size() != 1) {
    return absl::InvalidArgumentError("FROM requires either one or three arguments");
  }
  stage.base = args[0];
  stage.platform = flags.Get("platform");
  stage.original = std::string(absl::StripAsciiWhitespace(node.original));
  stage.line = node.start_line;
  return stage;
}

}  // namespace

bool IsUrl(const std::string& source) {
  return absl::StartsWith(source, "http://") || absl::StartsWith(source, "https://");
}

absl::StatusOr<Command> ParseCommand(const Node& node) {
  auto kind = Kinds().find(node.name);
  if (kind == Kinds().end()) {
    return absl::InvalidArgumentError(
        absl::StrCat("unknown instruction: ", absl::AsciiStrToUpper(node.name)));
  }
  Command command;
  command.kind = kind->second;
  command.name = absl::AsciiStrToUpper(node.name);
  command.original = std::string(absl::StripAsciiWhitespace(node.original));
  command.line = node.start_line;
  RETURN_IF_ERROR(ParseKind(node, &command));
  return command;
}

Command MakeLabelCommand(const std::string& key, const std::string& value) {
  Command command;
  command.kind = CommandKind::kLabel;
  command.name = "LABEL";
  command.original = absl::StrCat("LABEL ", key, "=", value);
  command.pairs.push_back({key, value});
  command.no_expand = true;
  return command;
}

absl::StatusOr<Instructions> ParseInstructions(const ParsedDockerfile& dockerfile) {
  Instructions result;
  result.escape_token = dockerfile.escape_token;
  for (const Node& node : dockerfile.nodes) {
    if (node.name == "from") {
      absl::StatusOr<Stage> stage = ParseFrom(node);
      if (!stage.ok()) return ParseErrorAt(node.start_line, stage.status());
      result.stages.push_back(std::move(*stage));
      continue;
    }
    absl::StatusOr<Command> command = ParseCommand(node);
    if (!command.ok()) return ParseErrorAt(node.start_line, command.status());
    if (result.stages.empty()) {
      if (command->kind == CommandKind::kArg) {
        result.meta_args.push_back(std::move(*command));
        continue;
      }
      return ParseErrorAt(node.start_line,
                          absl::InvalidArgumentError("no build stage in current context"));
    }
    result.stages.back().commands.push_back(std::move(*command));
  }
  if (result.stages.empty()) {
    return absl::InvalidArgumentError("no build stage in current context");
  }
  return result;
}

}  // namespace berth::imaged::build
