#include "runtimed/daemon/log_config.h"

#include <catch2/catch.hpp>

namespace berth::runtimed {
namespace {

std::string Error(const absl::Status& status) { return std::string(status.message()); }

TEST_CASE("the daemon's default driver fills an empty LogConfig, with its options") {
  auto defaults = ParseLogDefaults(
      Json::parse(R"({"log-driver":"local","log-opts":{"max-size":"1m","max-file":"2"}})"));
  REQUIRE(defaults.ok());
  Json config = Json::parse(R"({"Type":"","Config":null})");
  REQUIRE(ResolveLogConfig(*defaults, &config).ok());
  CHECK(config == Json::parse(R"({"Type":"local","Config":{"max-size":"1m","max-file":"2"}})"));

  // The container's own options win; another driver gets none of the defaults.
  config = Json::parse(R"({"Type":"local","Config":{"max-size":"5m"}})");
  REQUIRE(ResolveLogConfig(*defaults, &config).ok());
  CHECK(config["Config"] == Json::parse(R"({"max-size":"5m","max-file":"2"})"));
  config = Json::parse(R"({"Type":"json-file"})");
  REQUIRE(ResolveLogConfig(*defaults, &config).ok());
  CHECK(config["Config"] == Json::object());

  Json missing;
  REQUIRE(ResolveLogConfig(LogDefaults{}, &missing).ok());
  CHECK(missing == Json::parse(R"({"Type":"json-file","Config":{}})"));
}

TEST_CASE("unknown drivers and options get Docker's errors") {
  Json config = Json::parse(R"({"Type":"syslogx"})");
  CHECK(Error(ResolveLogConfig(LogDefaults{}, &config)) ==
        "logger: no log driver named 'syslogx' is registered");
  config = Json::parse(R"({"Type":"json-file","Config":{"foo":"1"}})");
  CHECK(Error(ResolveLogConfig(LogDefaults{}, &config)) ==
        "unknown log opt 'foo' for json-file log driver");
  config = Json::parse(R"({"Type":"local","Config":{"foo":"1"}})");
  CHECK(Error(ResolveLogConfig(LogDefaults{}, &config)) ==
        "unknown log opt 'foo' for log driver local");
  config = Json::parse(R"({"Type":"none","Config":{"max-size":"1m"}})");
  CHECK(Error(ResolveLogConfig(LogDefaults{}, &config)) ==
        "unknown log opt 'max-size' for log driver none");
  config = Json::parse(R"({"Type":"local","Config":{"max-file":"0"}})");
  CHECK(Error(ResolveLogConfig(LogDefaults{}, &config)) == "invalid value for max-file: 0");
  config = Json::parse(R"({"Type":"none","Config":{"mode":"non-blocking"}})");
  CHECK(ResolveLogConfig(LogDefaults{}, &config).ok());

  CHECK_FALSE(ParseLogDefaults(Json::parse(R"({"log-driver":"gelf"})")).ok());
  CHECK_FALSE(ParseLogDefaults(Json::parse(R"({"log-opts":{"max-size":5}})")).ok());
  auto none = ParseLogDefaults(Json::parse(R"({"other":1})"));
  REQUIRE(none.ok());
  CHECK(none->driver == "json-file");
}

TEST_CASE("log files live where Docker keeps them") {
  CHECK(LogFilePath("json-file", "/c", "abc") == "/c/abc-json.log");
  CHECK(LogFilePath("local", "/c", "abc") == "/c/local-logs/container.log");
  CHECK(LogFilePath("none", "/c", "abc").empty());
}

TEST_CASE("compress: local's default, json-file's option, read as Go reads a bool") {
  auto resolved = [](const char* text) {
    Json config = Json::parse(text);
    REQUIRE(ResolveLogConfig(LogDefaults{}, &config).ok());
    return LogCompressed(config);
  };
  CHECK(resolved(R"({"Type":"local"})"));
  CHECK_FALSE(resolved(R"({"Type":"local","Config":{"compress":"false"}})"));
  CHECK_FALSE(resolved(R"({"Type":"local","Config":{"compress":"0"}})"));
  CHECK_FALSE(resolved(R"({"Type":"json-file","Config":{"max-size":"1k","max-file":"2"}})"));
  CHECK(
      resolved(R"({"Type":"json-file","Config":{"max-size":"1k","max-file":"2","compress":"T"}})"));
  CHECK_FALSE(resolved(R"({"Type":"none"})"));

  Json config = Json::parse(R"({"Type":"local","Config":{"compress":"yes"}})");
  CHECK(Error(ResolveLogConfig(LogDefaults{}, &config)) ==
        "strconv.ParseBool: parsing \"yes\": invalid syntax");
  config = Json::parse(R"({"Type":"json-file","Config":{"compress":"true","max-size":"1k"}})");
  CHECK(Error(ResolveLogConfig(LogDefaults{}, &config)) ==
        "compress cannot be true when max-file is less than 2 or max-size is not set");
  config = Json::parse(R"({"Type":"json-file","Config":{"compress":"true","max-file":"3"}})");
  CHECK_FALSE(ResolveLogConfig(LogDefaults{}, &config).ok());
  config = Json::parse(R"({"Type":"json-file","Config":{"compress":"false"}})");
  CHECK(ResolveLogConfig(LogDefaults{}, &config).ok());
}

}  // namespace
}  // namespace berth::runtimed
