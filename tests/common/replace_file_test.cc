#include "common/replace_file.h"

#include <stdlib.h>
#include <sys/stat.h>

#include <catch2/catch.hpp>
#include <string>

#include "common/fs.h"

namespace berth {
namespace {

std::string TempDir() {
  char path[] = "/tmp/rfXXXXXX";
  REQUIRE(mkdtemp(path) != nullptr);
  return path;
}

TEST_CASE("ReplaceFile creates, replaces and sets the mode") {
  const std::string dir = TempDir();
  const std::string path = dir + "/hosts";
  REQUIRE(ReplaceFile(path, "one\n", 0600).ok());
  CHECK(ReadFile(path).value() == "one\n");
  struct stat st;
  REQUIRE(stat(path.c_str(), &st) == 0);
  CHECK((st.st_mode & 0777) == 0600);
  REQUIRE(ReplaceFile(path, "two\n").ok());
  CHECK(ReadFile(path).value() == "two\n");
  // No temporary is left beside it.
  CHECK(ListDirectory(dir).value() == std::vector<std::string>{"hosts"});
  REQUIRE(RemoveAll(dir).ok());
}

TEST_CASE("ReplaceFile into a missing directory fails and leaves the target alone") {
  const std::string dir = TempDir();
  absl::Status status = ReplaceFile(dir + "/missing/file", "x");
  CHECK(!status.ok());
  CHECK(std::string(status.message()).find("create") != std::string::npos);
  REQUIRE(RemoveAll(dir).ok());
}

}  // namespace
}  // namespace berth
