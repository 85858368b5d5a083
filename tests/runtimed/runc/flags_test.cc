#include "runtimed/runc/flags.h"

#include <catch2/catch.hpp>

#include "runtimed/runc/store.h"

namespace berth::runc {
namespace {

TEST_CASE("flags take values inline or separately, in any order with positionals") {
  auto parsed = ParseFlags({"--bundle=/b", "id", "-d", "--pid-file", "/p"},
                           {{"bundle", "b", true}, {"pid-file", "", true}, {"detach", "d", false}});
  REQUIRE(parsed.ok());
  CHECK(parsed->Get("bundle") == "/b");
  CHECK(parsed->Get("pid-file") == "/p");
  CHECK(parsed->Has("detach"));
  CHECK(parsed->positionals == std::vector<std::string>{"id"});
}

TEST_CASE("unknown flags and missing values are errors") {
  CHECK(ParseFlags({"--nope"}, {}).status().message() == "flag provided but not defined: --nope");
  CHECK_FALSE(ParseFlags({"--bundle"}, {{"bundle", "b", true}}).ok());
}

TEST_CASE("container ids follow runc's rule") {
  CHECK(ValidateId("abc-1.2_x+y").ok());
  CHECK_FALSE(ValidateId("").ok());
  CHECK_FALSE(ValidateId("..").ok());
  CHECK_FALSE(ValidateId("a/b").ok());
}

}  // namespace
}  // namespace berth::runc
