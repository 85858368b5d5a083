#include "apiserver/handlers/detach_keys.h"

#include <catch2/catch.hpp>

namespace berth::apiserver {
namespace {

TEST_CASE("detach keys are read as moby/term reads them") {
  CHECK(*ParseDetachKeys("ctrl-p,ctrl-q") == "\x10\x11");
  CHECK(*ParseDetachKeys("CTRL-A,x,DEL") == std::string("\x01x\x7f"));
  CHECK(*ParseDetachKeys("ctrl-@") == std::string(1, '\0'));
  CHECK(*ParseDetachKeys("ctrl-_,ctrl-[") == "\x1f\x1b");
  for (const char* bad : {"ctrl-1", "ctrl-", "ctrlp", "", "a,,b", "ctrl-pq"}) {
    INFO(bad);
    absl::StatusOr<std::string> keys = ParseDetachKeys(bad);
    REQUIRE_FALSE(keys.ok());
    CHECK(std::string(keys.status().message()) ==
          std::string("Invalid detach keys (") + bad + ") provided");
  }
}

TEST_CASE("the filter drops a completed sequence and what follows it") {
  DetachKeyFilter filter("\x10\x11");
  bool detached = true;
  CHECK(filter.Feed("ls\n", &detached) == "ls\n");
  CHECK_FALSE(detached);
  CHECK(filter.Feed("a\x10\x11zz", &detached) == "a");
  CHECK(detached);
}

TEST_CASE("a sequence split across reads still detaches") {
  DetachKeyFilter filter("\x10\x11");
  bool detached = true;
  CHECK(filter.Feed("x\x10", &detached) == "x");
  CHECK_FALSE(detached);
  CHECK(filter.Feed("\x11", &detached).empty());
  CHECK(detached);
}

TEST_CASE("a broken sequence reaches the container") {
  DetachKeyFilter filter("\x10\x11");
  bool detached = true;
  CHECK(filter.Feed("\x10", &detached).empty());
  CHECK(filter.Feed("a", &detached) ==
        "\x10"
        "a");
  CHECK_FALSE(detached);
  // The key that breaks a match may start the next one.
  CHECK(filter.Feed("\x10\x10\x11", &detached) == "\x10");
  CHECK(detached);
}

TEST_CASE("a one-key sequence detaches at once") {
  DetachKeyFilter filter("q");
  bool detached = false;
  CHECK(filter.Feed("abq", &detached) == "ab");
  CHECK(detached);
}

}  // namespace
}  // namespace berth::apiserver
