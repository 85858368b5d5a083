#include "runtimed/daemon/names.h"

#include <signal.h>

#include <catch2/catch.hpp>
#include <regex>
#include <set>

#include "runtimed/daemon/signals.h"

namespace berth::runtimed {

TEST_CASE("container names follow Docker's pattern", "[names]") {
  CHECK(*ValidateContainerName("web") == "web");
  CHECK(*ValidateContainerName("/web_1.a-b") == "web_1.a-b");
  CHECK(*ValidateContainerName("spy_web_run_9f3a") == "spy_web_run_9f3a");
  for (const char* bad : {"a", "", "/", "_web", "-x", "has space", "a/b", "é1"}) {
    auto result = ValidateContainerName(bad);
    REQUIRE_FALSE(result.ok());
    CHECK(result.status().code() == absl::StatusCode::kInvalidArgument);
    CHECK(std::string(result.status().message()) ==
          std::string("Invalid container name (") + bad +
              "), only [a-zA-Z0-9][a-zA-Z0-9_.-] are allowed");
  }
}

TEST_CASE("generated names are adjective_surname and avoid taken ones", "[names]") {
  const std::regex shape("[a-z]+_[a-z]+[0-9]?");
  std::set<std::string> seen;
  for (int i = 0; i < 50; ++i) {
    std::string name = GenerateContainerName([](const std::string&) { return false; });
    CHECK(std::regex_match(name, shape));
    CHECK(ValidateContainerName(name).ok());
    seen.insert(name);
  }
  CHECK(seen.size() > 10);
  // Every plain name taken: a digit is appended.
  std::string name = GenerateContainerName(
      [](const std::string& n) { return !std::isdigit(static_cast<unsigned char>(n.back())); });
  CHECK(std::isdigit(static_cast<unsigned char>(name.back())));
}

TEST_CASE("signals parse by name, SIG name and number", "[signals]") {
  CHECK(*ParseSignal("KILL") == SIGKILL);
  CHECK(*ParseSignal("SIGKILL") == SIGKILL);
  CHECK(*ParseSignal("sigterm") == SIGTERM);
  CHECK(*ParseSignal("9") == 9);
  CHECK(*ParseSignal("HUP") == SIGHUP);
  CHECK(*ParseSignal("RTMIN+1") == SIGRTMIN + 1);
  for (const char* bad : {"", "FOO", "0", "-1", "999", "SIG"}) {
    auto result = ParseSignal(bad);
    REQUIRE_FALSE(result.ok());
    CHECK(std::string(result.status().message()) == std::string("Invalid signal: ") + bad);
  }
}

}  // namespace berth::runtimed
