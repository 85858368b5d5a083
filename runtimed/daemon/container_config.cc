#include "runtimed/daemon/container_config.h"

#include <cctype>
#include <cstring>

#include "absl/strings/numbers.h"

namespace berth::runtimed {
namespace {

bool IsSet(const Json& object, const char* key) {
  return object.is_object() && object.contains(key) && !object[key].is_null();
}

std::string EnvKey(const std::string& entry) { return entry.substr(0, entry.find('=')); }

// Object union: base's keys, then overlay's (overlay wins).
Json MergeObjects(const Json& base, const Json& overlay) {
  Json result = base.is_object() ? base : Json::object();
  if (overlay.is_object()) {
    for (auto it = overlay.begin(); it != overlay.end(); ++it) result[it.key()] = it.value();
  }
  return result;
}

}  // namespace

std::vector<std::string> StringList(const Json& value) {
  std::vector<std::string> result;
  if (value.is_string()) {
    result.push_back(value.get<std::string>());
  } else if (value.is_array()) {
    for (const Json& item : value) {
      if (item.is_string()) result.push_back(item.get<std::string>());
    }
  }
  return result;
}

std::string JsonString(const Json& object, const char* key) {
  if (!object.is_object()) return "";
  auto it = object.find(key);
  return it != object.end() && it->is_string() ? it->get<std::string>() : "";
}

int64_t JsonInt(const Json& object, const char* key) {
  if (!object.is_object()) return 0;
  auto it = object.find(key);
  return it != object.end() && it->is_number() ? it->get<int64_t>() : 0;
}

bool JsonBool(const Json& object, const char* key) {
  if (!object.is_object()) return false;
  auto it = object.find(key);
  return it != object.end() && it->is_boolean() && it->get<bool>();
}

std::vector<std::string> ReplaceOrAppendEnv(std::vector<std::string> base,
                                            const std::vector<std::string>& overrides) {
  for (const std::string& entry : overrides) {
    const std::string key = EnvKey(entry);
    bool replaced = false;
    for (std::string& existing : base) {
      if (EnvKey(existing) == key) {
        existing = entry;
        replaced = true;
      }
    }
    if (!replaced) base.push_back(entry);
  }
  return base;
}

absl::StatusOr<CreateConfig> MergeCreateConfig(const Json& user_config, const Json& host_config,
                                               const Json& image_config, const std::string& id) {
  if (!user_config.is_null() && !user_config.is_object()) {
    return absl::InvalidArgumentError("container config must be a JSON object");
  }
  if (!host_config.is_null() && !host_config.is_object()) {
    return absl::InvalidArgumentError("host config must be a JSON object");
  }
  const Json image = image_config.is_object() ? image_config : Json::object();
  CreateConfig result;
  Json& config = result.config;
  config = user_config.is_object() ? user_config : Json::object();

  config["Env"] = ReplaceOrAppendEnv(StringList(image.value("Env", Json())),
                                     StringList(config.value("Env", Json())));

  // Docker: a user entrypoint (even an empty one) replaces the image's
  // entrypoint and its Cmd; the image's Cmd only applies under the image's
  // entrypoint.
  if (!IsSet(config, "Entrypoint")) {
    config["Entrypoint"] = IsSet(image, "Entrypoint") ? image["Entrypoint"] : Json();
    if (StringList(config.value("Cmd", Json())).empty() && IsSet(image, "Cmd")) {
      config["Cmd"] = image["Cmd"];
    }
  }
  std::vector<std::string> argv = StringList(config["Entrypoint"]);
  // `--entrypoint ""` arrives as [""]: no entrypoint at all.
  if (argv.size() == 1 && argv[0].empty()) argv.clear();
  for (std::string& arg : StringList(config.value("Cmd", Json()))) argv.push_back(std::move(arg));
  if (argv.empty()) return absl::InvalidArgumentError("No command specified");
  result.path = argv[0];
  result.args.assign(argv.begin() + 1, argv.end());

  for (const char* key : {"User", "WorkingDir", "StopSignal"}) {
    if (JsonString(config, key).empty() && !JsonString(image, key).empty()) {
      config[key] = image[key];
    }
  }
  if (!config.contains("WorkingDir") || config["WorkingDir"].is_null()) config["WorkingDir"] = "";
  if (!config.contains("User") || config["User"].is_null()) config["User"] = "";
  config["Labels"] = MergeObjects(image.value("Labels", Json()), config.value("Labels", Json()));
  for (const char* key : {"ExposedPorts", "Volumes"}) {
    Json merged = MergeObjects(image.value(key, Json()), config.value(key, Json()));
    config[key] = merged.empty() && !IsSet(config, key) && !IsSet(image, key) ? Json() : merged;
  }
  if (!IsSet(config, "Healthcheck") && IsSet(image, "Healthcheck")) {
    config["Healthcheck"] = image["Healthcheck"];
  } else if (IsSet(config, "Healthcheck") && IsSet(image, "Healthcheck") &&
             config["Healthcheck"].is_object() && image["Healthcheck"].is_object()) {
    // `--health-interval` alone keeps the image's test (and the other way
    // round), as Docker merges them field by field.
    Json& user = config["Healthcheck"];
    const Json& base = image["Healthcheck"];
    if (!IsSet(user, "Test") || user["Test"].empty()) user["Test"] = base.value("Test", Json());
    for (const char* key : {"Interval", "Timeout", "StartPeriod", "StartInterval", "Retries"}) {
      if (JsonInt(user, key) == 0 && JsonInt(base, key) != 0) user[key] = base[key];
    }
  }
  if (JsonString(config, "Hostname").empty()) config["Hostname"] = id.substr(0, 12);
  for (const char* key :
       {"Tty", "OpenStdin", "StdinOnce", "AttachStdin", "AttachStdout", "AttachStderr"}) {
    if (!config.contains(key) || !config[key].is_boolean()) config[key] = false;
  }

  Json& host = result.host_config;
  host = host_config.is_object() ? host_config : Json::object();
  if (JsonString(host, "NetworkMode").empty()) host["NetworkMode"] = "default";
  if (!host.contains("RestartPolicy") || !host["RestartPolicy"].is_object() ||
      JsonString(host["RestartPolicy"], "Name").empty()) {
    host["RestartPolicy"] = {
        {"Name", "no"},
        {"MaximumRetryCount", JsonInt(host.value("RestartPolicy", Json()), "MaximumRetryCount")}};
  }
  const std::string restart = JsonString(host["RestartPolicy"], "Name");
  if (JsonBool(host, "AutoRemove") && restart != "no") {
    return absl::InvalidArgumentError(
        "conflicting options: cannot specify both --restart and --rm");
  }
  if (!host.contains("LogConfig") || !host["LogConfig"].is_object()) {
    host["LogConfig"] = Json::object();
  }
  if (JsonString(host["LogConfig"], "Type").empty()) host["LogConfig"]["Type"] = "json-file";
  if (!host["LogConfig"].contains("Config") || !host["LogConfig"]["Config"].is_object()) {
    host["LogConfig"]["Config"] = Json::object();
  }
  if (JsonInt(host, "ShmSize") <= 0) host["ShmSize"] = kDefaultShmSize;
  if (JsonInt(host, "Memory") > 0 && JsonInt(host, "MemorySwap") == 0) {
    host["MemorySwap"] = JsonInt(host, "Memory") * 2;
  }
  return result;
}

absl::StatusOr<int64_t> ParseByteSize(const std::string& text) {
  std::string digits = text;
  int64_t multiplier = 1;
  if (!digits.empty()) {
    char unit = static_cast<char>(std::tolower(static_cast<unsigned char>(digits.back())));
    if (unit == 'b' && digits.size() > 1) {
      digits.pop_back();
      unit = static_cast<char>(std::tolower(static_cast<unsigned char>(digits.back())));
    }
    const char* units = "kmgtp";
    if (const char* pos = std::strchr(units, unit); pos != nullptr && unit != '\0') {
      multiplier = int64_t{1} << (10 * (pos - units + 1));
      digits.pop_back();
    }
  }
  int64_t value = 0;
  if (!absl::SimpleAtoi(digits, &value) || value < 0) {
    return absl::InvalidArgumentError("invalid size: '" + text + "'");
  }
  return value * multiplier;
}

std::vector<std::string> ProcessEnv(const Json& config) {
  std::vector<std::string> env = {std::string("PATH=") + kDefaultPath,
                                  "HOSTNAME=" + JsonString(config, "Hostname")};
  if (JsonBool(config, "Tty")) env.push_back("TERM=xterm");
  return ReplaceOrAppendEnv(std::move(env), StringList(config.value("Env", Json())));
}

}  // namespace berth::runtimed
