#include "imaged/build/memo.h"

#include <catch2/catch.hpp>

namespace berth::imaged::build {
namespace {

MemoizedBuild Built(const std::string& id, StoreGenerations generations) {
  return MemoizedBuild{id, {{"out " + id, false}, {"end", true}}, {"key-" + id}, generations};
}

TEST_CASE("a remembered build is found while the stores are as it saw them", "[build]") {
  BuildMemo memo;
  memo.Remember("k", Built("a", {3, 5}));
  std::optional<MemoizedBuild> found = memo.Find("k", {3, 5});
  REQUIRE(found.has_value());
  CHECK(found->image_id == "a");
  CHECK(found->output.size() == 2);
  CHECK(found->output[1].second);
  CHECK(found->reused == std::vector<std::string>{"key-a"});
  CHECK_FALSE(memo.Find("other", {3, 5}).has_value());
}

TEST_CASE("a change to either store forgets the build", "[build]") {
  BuildMemo memo;
  memo.Remember("images", Built("a", {3, 5}));
  memo.Remember("cache", Built("b", {3, 5}));
  CHECK_FALSE(memo.Find("images", {4, 5}).has_value());
  CHECK_FALSE(memo.Find("cache", {3, 6}).has_value());
  // Generations only grow: the stale ones are gone, not kept for later.
  CHECK_FALSE(memo.Find("images", {3, 5}).has_value());
  CHECK_FALSE(memo.Find("cache", {3, 5}).has_value());
  CHECK(memo.size() == 0);
}

TEST_CASE("the memory keeps the latest builds up to its capacity", "[build]") {
  BuildMemo memo;
  for (size_t i = 0; i <= BuildMemo::kCapacity; ++i) {
    memo.Remember("k" + std::to_string(i), Built(std::to_string(i), {1, 1}));
  }
  CHECK(memo.size() == BuildMemo::kCapacity);
  CHECK_FALSE(memo.Find("k0", {1, 1}).has_value());
  CHECK(memo.Find("k1", {1, 1}).has_value());
  // Remembering a key again replaces it and makes it the newest.
  memo.Remember("k1", Built("again", {1, 1}));
  memo.Remember("extra", Built("x", {1, 1}));
  CHECK(memo.Find("k1", {1, 1})->image_id == "again");
  CHECK_FALSE(memo.Find("k2", {1, 1}).has_value());
}

}  // namespace
}  // namespace berth::imaged::build
