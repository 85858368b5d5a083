#include "apiserver/host_info.h"

#include <stdlib.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <fstream>
#include <string>

namespace berth::apiserver {
namespace {

std::string WriteConfig(const std::string& text) {
  char path[] = "/tmp/hostinfoXXXXXX";
  const int fd = mkstemp(path);
  REQUIRE(fd >= 0);
  close(fd);
  std::ofstream(path) << text;
  return path;
}

TEST_CASE("the default logging driver is daemon.json's log-driver, else json-file") {
  CHECK(DefaultLoggingDriver("") == "json-file");
  CHECK(DefaultLoggingDriver("/nonexistent/daemon.json") == "json-file");
  for (const auto& [text, want] :
       {std::pair<std::string, std::string>{R"({"log-driver": "local"})", "local"},
        {R"({"log-driver": "none", "log-opts": {}})", "none"},
        {R"({"bip": "10.0.0.1/24"})", "json-file"},
        {R"({"log-driver": 3})", "json-file"},
        {"not json", "json-file"}}) {
    const std::string path = WriteConfig(text);
    INFO(text);
    CHECK(DefaultLoggingDriver(path) == want);
    unlink(path.c_str());
  }
}

TEST_CASE("Go's architecture names") {
  CHECK(GoArch("x86_64") == "amd64");
  CHECK(GoArch("aarch64") == "arm64");
}

}  // namespace
}  // namespace berth::apiserver
