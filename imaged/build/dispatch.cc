#include "imaged/build/dispatch.h"

#include <algorithm>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "common/status.h"
#include "imaged/build/go_format.h"

namespace berth::imaged::build {

const char kDefaultPathEnv[] = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

namespace {

std::vector<std::string> StringsOf(const Json& value) {
  std::vector<std::string> result;
  if (!value.is_array()) return result;
  for (const Json& item : value) {
    if (item.is_string()) result.push_back(item.get<std::string>());
  }
  return result;
}

Json NullableArray(const std::vector<std::string>& items, bool null_when_empty) {
  if (items.empty() && null_when_empty) return nullptr;
  return Json(items);
}

// nat.ParsePortSpecs for EXPOSE: "80", "80/udp", "8000-8010/tcp"
// (an "ip:host:" prefix is allowed and ignored, as for EXPOSE it means nothing).
absl::Status AddPorts(const std::vector<std::string>& ports, Json* config) {
  Json& exposed = (*config)["ExposedPorts"];
  if (!exposed.is_object()) exposed = Json::object();
  for (const std::string& raw : ports) {
    std::string spec = raw;
    size_t colon = spec.rfind(':');
    if (colon != std::string::npos) spec = spec.substr(colon + 1);
    std::pair<std::string, std::string> parts = absl::StrSplit(spec, absl::MaxSplits('/', 1));
    std::string proto = parts.second.empty() ? "tcp" : absl::AsciiStrToLower(parts.second);
    if (proto != "tcp" && proto != "udp" && proto != "sctp") {
      return absl::InvalidArgumentError(absl::StrCat("invalid proto: ", proto));
    }
    std::pair<std::string, std::string> range =
        absl::StrSplit(parts.first, absl::MaxSplits('-', 1));
    uint32_t first = 0, last = 0;
    if (!absl::SimpleAtoi(range.first, &first) || first > 65535 ||
        (!range.second.empty() && (!absl::SimpleAtoi(range.second, &last) || last > 65535))) {
      return absl::InvalidArgumentError(absl::StrCat("invalid containerPort: ", parts.first));
    }
    if (range.second.empty()) last = first;
    if (last < first) {
      return absl::InvalidArgumentError(
          absl::StrCat("invalid range specified for container port: ", parts.first));
    }
    for (uint32_t port = first; port <= last; ++port) {
      exposed[absl::StrCat(port, "/", proto)] = Json::object();
    }
  }
  return absl::OkStatus();
}

std::string HealthString(const HealthConfig& health) {
  // fmt's %q of a *container.HealthConfig.
  return absl::StrCat(
      "&{", GoQuoteSlice(health.test), " \"", GoDuration(health.interval_ns), "\" \"",
      GoDuration(health.timeout_ns), "\" \"", GoDuration(health.start_period_ns), "\" \"",
      GoDuration(health.start_interval_ns), "\" ", GoQuoteRune(health.retries), "}");
}

}  // namespace

absl::StatusOr<uint32_t> ParseOctalMode(const std::string& text) {
  uint32_t mode = 0;
  if (text.empty() || text.size() > 5) return absl::InvalidArgumentError("not octal");
  for (char c : text) {
    if (c < '0' || c > '7') return absl::InvalidArgumentError("not octal");
    mode = mode * 8 + static_cast<uint32_t>(c - '0');
  }
  if (mode > 07777) return absl::InvalidArgumentError("out of range");
  return mode;
}

std::string CleanPath(const std::string& path) {
  if (path.empty()) return ".";
  bool rooted = path[0] == '/';
  std::vector<std::string> parts;
  for (absl::string_view part : absl::StrSplit(path, '/')) {
    if (part.empty() || part == ".") continue;
    if (part == "..") {
      if (!parts.empty() && parts.back() != "..") {
        parts.pop_back();
      } else if (!rooted) {
        parts.emplace_back("..");
      }
      continue;
    }
    parts.emplace_back(part);
  }
  std::string joined = absl::StrJoin(parts, "/");
  if (rooted) return "/" + joined;
  return joined.empty() ? "." : joined;
}

std::string NormalizeWorkdir(const std::string& current, const std::string& requested) {
  if (absl::StartsWith(requested, "/")) return CleanPath(requested);
  return CleanPath(absl::StrCat("/", current, "/", requested));
}

absl::Status ValidateSignal(const std::string& signal) {
  static const auto* names = new std::vector<std::string>{
      "ABRT", "ALRM",   "BUS",   "CHLD", "CLD",  "CONT",  "FPE",  "HUP",    "ILL",  "INT",
      "IO",   "IOT",    "KILL",  "PIPE", "POLL", "PROF",  "PWR",  "QUIT",   "SEGV", "STKFLT",
      "STOP", "SYS",    "TERM",  "TRAP", "TSTP", "TTIN",  "TTOU", "UNUSED", "URG",  "USR1",
      "USR2", "VTALRM", "WINCH", "XCPU", "XFSZ", "RTMIN", "RTMAX"};
  int number = 0;
  if (absl::SimpleAtoi(signal, &number)) {
    if (number > 0 && number <= 64) return absl::OkStatus();
    return absl::InvalidArgumentError(absl::StrCat("Invalid signal: ", signal));
  }
  std::string name = absl::AsciiStrToUpper(signal);
  if (absl::StartsWith(name, "SIG")) name = name.substr(3);
  if (std::find(names->begin(), names->end(), name) != names->end()) return absl::OkStatus();
  for (const char* base : {"RTMIN+", "RTMAX-"}) {
    int offset = 0;
    if (absl::StartsWith(name, base) && absl::SimpleAtoi(name.substr(6), &offset) && offset >= 1 &&
        offset <= 15) {
      return absl::OkStatus();
    }
  }
  return absl::InvalidArgumentError(absl::StrCat("Invalid signal: ", signal));
}

Json HealthConfigJson(const HealthConfig& health) {
  Json json = Json::object();
  json["Test"] = health.test;
  if (health.interval_ns != 0) json["Interval"] = health.interval_ns;
  if (health.timeout_ns != 0) json["Timeout"] = health.timeout_ns;
  if (health.start_period_ns != 0) json["StartPeriod"] = health.start_period_ns;
  if (health.start_interval_ns != 0) json["StartInterval"] = health.start_interval_ns;
  if (health.retries != 0) json["Retries"] = health.retries;
  return json;
}

std::string CopyCreatedBy(const std::vector<std::string>& shell, const std::string& instruction,
                          const std::string& source_hash, const std::string& dest) {
  return absl::StrCat(absl::StrJoin(shell, " "), " #(nop) ", instruction, " ", source_hash, " in ",
                      dest, " ");
}

StageState::StageState(const BuildArgs& args, char escape_token)
    : args_(args), lex_(escape_token), config_(Json::object()) {
  args_.ResetAllowed();
}

void StageState::Begin(const std::string& stage_name, const Json& base_config) {
  stage_name_ = stage_name;
  config_ = base_config.is_object() ? base_config : Json::object();
  std::vector<std::string> env = StringsOf(config_.value("Env", Json()));
  bool has_path = std::any_of(env.begin(), env.end(),
                              [](const std::string& e) { return absl::StartsWith(e, "PATH="); });
  if (!has_path) {
    env.push_back(absl::StrCat("PATH=", kDefaultPathEnv));
    config_["Env"] = env;
  }
}

std::vector<std::string> StageState::Shell() const {
  std::vector<std::string> shell = StringsOf(config_.value("Shell", Json()));
  if (shell.empty()) return {"/bin/sh", "-c"};
  return shell;
}

std::vector<std::string> StageState::Environment() const {
  std::vector<std::string> env = StringsOf(config_.value("Env", Json()));
  std::vector<std::string> args = args_.FilterAllowed(env);
  env.insert(env.end(), args.begin(), args.end());
  return env;
}

absl::StatusOr<std::string> StageState::Expand(const std::string& word) const {
  absl::StatusOr<std::string> expanded = lex_.ProcessWord(word, Environment());
  if (!expanded.ok()) {
    return absl::InvalidArgumentError(
        absl::StrCat("failed to process ", GoQuote(word), ": ", expanded.status().message()));
  }
  return expanded;
}

std::string StageState::Nop(const std::string& comment) const {
  return absl::StrCat(absl::StrJoin(Shell(), " "), " #(nop)  ", comment);
}

std::vector<std::string> StageState::ResolveCommand(const Command& command) const {
  if (command.json) return command.command;
  std::vector<std::string> resolved = Shell();
  resolved.insert(resolved.end(), command.command.begin(), command.command.end());
  return resolved;
}

absl::Status StageState::ExpandCommand(Command* command) const {
  auto expand = [this](std::string* word) -> absl::Status {
    ASSIGN_OR_RETURN(*word, Expand(*word));
    return absl::OkStatus();
  };
  switch (command->kind) {
    case CommandKind::kEnv:
    case CommandKind::kLabel:
    case CommandKind::kArg:
      if (command->no_expand) return absl::OkStatus();
      for (KeyValue& pair : command->pairs) {
        RETURN_IF_ERROR(expand(&pair.key));
        if (pair.value.has_value()) RETURN_IF_ERROR(expand(&*pair.value));
      }
      return absl::OkStatus();
    case CommandKind::kAdd:
    case CommandKind::kCopy:
      for (std::string& source : command->sources) RETURN_IF_ERROR(expand(&source));
      RETURN_IF_ERROR(expand(&command->dest));
      RETURN_IF_ERROR(expand(&command->chown));
      RETURN_IF_ERROR(expand(&command->chmod));
      return expand(&command->from);
    case CommandKind::kWorkdir:
    case CommandKind::kUser:
    case CommandKind::kStopSignal:
      return expand(&command->value);
    case CommandKind::kVolume:
      for (std::string& volume : command->words) RETURN_IF_ERROR(expand(&volume));
      return absl::OkStatus();
    case CommandKind::kExpose: {
      // The one instruction where a variable may become several words.
      std::vector<std::string> ports;
      for (const std::string& word : command->words) {
        absl::StatusOr<std::vector<std::string>> words = lex_.ProcessWords(word, Environment());
        if (!words.ok()) {
          return absl::InvalidArgumentError(
              absl::StrCat("failed to process ", GoQuote(word), ": ", words.status().message()));
        }
        ports.insert(ports.end(), words->begin(), words->end());
      }
      command->words = std::move(ports);
      return absl::OkStatus();
    }
    default:
      return absl::OkStatus();
  }
}

absl::StatusOr<Step> StageState::Dispatch(const Command& command) {
  return DispatchUnexpanded(command);
}

absl::StatusOr<Step> StageState::DispatchUnexpanded(Command command) {
  RETURN_IF_ERROR(ExpandCommand(&command));
  Step step;
  switch (command.kind) {
    case CommandKind::kEnv: {
      std::vector<std::string> env = StringsOf(config_.value("Env", Json()));
      std::string message = "ENV";
      for (const KeyValue& pair : command.pairs) {
        std::string entry = pair.key + "=" + pair.value.value_or("");
        message += " " + entry;
        auto existing = std::find_if(env.begin(), env.end(), [&](const std::string& e) {
          return e.substr(0, e.find('=')) == pair.key;
        });
        if (existing != env.end()) {
          *existing = entry;
        } else {
          env.push_back(entry);
        }
      }
      config_["Env"] = env;
      step.created_by = Nop(message);
      break;
    }
    case CommandKind::kLabel: {
      Json& labels = config_["Labels"];
      if (!labels.is_object()) labels = Json::object();
      std::string message = "LABEL";
      for (const KeyValue& pair : command.pairs) {
        labels[pair.key] = pair.value.value_or("");
        message += " " + pair.key + "=" + pair.value.value_or("");
      }
      step.created_by = Nop(message);
      break;
    }
    case CommandKind::kArg: {
      std::vector<std::string> parts;
      for (const KeyValue& pair : command.pairs) {
        parts.push_back(pair.value.has_value() ? pair.key + "=" + *pair.value : pair.key);
        args_.AddArg(pair.key, pair.value);
      }
      step.created_by = Nop("ARG " + absl::StrJoin(parts, " "));
      break;
    }
    case CommandKind::kMaintainer:
      author_ = command.value;
      step.created_by = Nop("MAINTAINER " + command.value);
      break;
    case CommandKind::kUser:
      config_["User"] = command.value;
      step.created_by = Nop("USER " + command.value);
      break;
    case CommandKind::kStopSignal:
      RETURN_IF_ERROR(ValidateSignal(command.value));
      config_["StopSignal"] = command.value;
      step.created_by = Nop("STOPSIGNAL " + command.value);
      break;
    case CommandKind::kExpose:
      RETURN_IF_ERROR(AddPorts(command.words, &config_));
      step.created_by = Nop("EXPOSE " + absl::StrJoin(command.words, " "));
      break;
    case CommandKind::kVolume: {
      Json& volumes = config_["Volumes"];
      if (!volumes.is_object()) volumes = Json::object();
      for (const std::string& volume : command.words) {
        if (volume.empty()) {
          return absl::InvalidArgumentError("VOLUME specified can not be an empty string");
        }
        volumes[volume] = Json::object();
      }
      step.created_by = Nop("VOLUME " + GoSlice(command.words));
      break;
    }
    case CommandKind::kShell:
      config_["Shell"] = command.command;
      step.created_by = Nop("SHELL " + GoSlice(command.command));
      break;
    case CommandKind::kOnbuild: {
      Json& triggers = config_["OnBuild"];
      if (!triggers.is_array()) triggers = Json::array();
      triggers.push_back(command.value);
      step.created_by = Nop("ONBUILD " + command.value);
      break;
    }
    case CommandKind::kCmd: {
      std::vector<std::string> cmd = ResolveCommand(command);
      config_["Cmd"] = cmd;
      if (!command.command.empty()) cmd_set_ = true;
      step.created_by = Nop("CMD " + GoQuoteSlice(cmd));
      break;
    }
    case CommandKind::kEntrypoint: {
      std::vector<std::string> entrypoint;
      if (!command.command.empty()) entrypoint = ResolveCommand(command);
      config_["Entrypoint"] = NullableArray(entrypoint, true);
      // An ENTRYPOINT drops the CMD inherited from the base image.
      if (!cmd_set_) config_["Cmd"] = nullptr;
      step.created_by = Nop("ENTRYPOINT " + GoQuoteSlice(entrypoint));
      break;
    }
    case CommandKind::kHealthcheck: {
      const Json& old = config_.value("Healthcheck", Json());
      std::vector<std::string> old_test =
          old.is_object() ? StringsOf(old.value("Test", Json())) : std::vector<std::string>{};
      if (!old_test.empty() && old_test[0] != "NONE") {
        step.notes.push_back("Note: overriding previous HEALTHCHECK: " + GoSlice(old_test) + "\n");
      }
      config_["Healthcheck"] = HealthConfigJson(command.health);
      step.created_by = Nop("HEALTHCHECK " + HealthString(command.health));
      break;
    }
    case CommandKind::kWorkdir: {
      if (command.value.empty()) return absl::InvalidArgumentError("cannot normalize nothing");
      std::string dir = NormalizeWorkdir(config_.value("WorkingDir", std::string()), command.value);
      config_["WorkingDir"] = dir;
      step.action = StepAction::kWorkdir;
      step.workdir = dir;
      step.created_by = absl::StrCat(absl::StrJoin(Shell(), " "), " #(nop) WORKDIR ", dir);
      break;
    }
    case CommandKind::kRun: {
      std::vector<std::string> cmd = ResolveCommand(command);
      std::vector<std::string> env = StringsOf(config_.value("Env", Json()));
      std::vector<std::string> build_args = args_.FilterAllowed(env);
      std::vector<std::string> saved = cmd;
      if (!build_args.empty()) {
        // Docker records the build args a RUN saw in its history and cache
        // key as "|<n> K=V ..." before the command, undeclared proxies left out.
        std::vector<std::string> shown;
        for (const std::string& arg : build_args) {
          if (args_.IsReferencedOrNotBuiltin(arg.substr(0, arg.find('=')))) shown.push_back(arg);
        }
        std::sort(shown.begin(), shown.end());
        saved = {absl::StrCat("|", shown.size())};
        saved.insert(saved.end(), shown.begin(), shown.end());
        saved.insert(saved.end(), cmd.begin(), cmd.end());
      }
      step.action = StepAction::kRun;
      step.run_command = cmd;
      step.run_env = env;
      step.run_env.insert(step.run_env.end(), build_args.begin(), build_args.end());
      step.created_by = absl::StrJoin(saved, " ");
      break;
    }
    case CommandKind::kCopy:
    case CommandKind::kAdd: {
      bool add = command.kind == CommandKind::kAdd;
      if (!add) {
        for (const std::string& source : command.sources) {
          if (IsUrl(source)) return absl::InvalidArgumentError("source can't be a URL for COPY");
        }
      }
      if (!command.chmod.empty()) {
        if (!ParseOctalMode(command.chmod).ok()) {
          return absl::InvalidArgumentError(
              absl::StrCat("invalid chmod parameter: '", command.chmod,
                           "'. it should be octal string and between 0 and 07777"));
        }
      }
      step.action = StepAction::kCopy;
      CopyRequest& copy = step.copy;
      copy.instruction = command.name;
      copy.sources = command.sources;
      copy.dest = command.dest;
      copy.from = command.from;
      copy.chown = command.chown;
      copy.chmod = command.chmod;
      copy.allow_remote_and_extract = add;
      copy.workdir = config_.value("WorkingDir", std::string());
      std::vector<std::string> text = {command.name};
      if (!copy.from.empty()) text.push_back("--from=" + copy.from);
      if (!copy.chown.empty()) text.push_back("--chown=" + copy.chown);
      if (!copy.chmod.empty()) text.push_back("--chmod=" + copy.chmod);
      text.insert(text.end(), copy.sources.begin(), copy.sources.end());
      text.push_back(copy.dest);
      step.cache_text = absl::StrJoin(text, " ");
      break;
    }
  }
  if (step.cache_text.empty()) step.cache_text = step.created_by;
  return step;
}

}  // namespace berth::imaged::build
