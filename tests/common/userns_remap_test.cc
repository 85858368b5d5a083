#include "common/userns_remap.h"

#include <catch2/catch.hpp>
#include <cstdlib>
#include <string>

#include "common/fs.h"

namespace berth {
namespace {

using Ranges = std::vector<std::pair<uint32_t, uint32_t>>;

TEST_CASE("userns-remap settings name a user and a group") {
  auto parsed = ParseRemapSetting("default");
  REQUIRE(parsed.ok());
  CHECK(parsed->user == "dockremap");
  CHECK(parsed->group == "dockremap");
  parsed = ParseRemapSetting("alice");
  REQUIRE(parsed.ok());
  CHECK(parsed->user == "alice");
  CHECK(parsed->group.empty());
  parsed = ParseRemapSetting("1000:1001");
  REQUIRE(parsed.ok());
  CHECK(parsed->user == "1000");
  CHECK(parsed->group == "1001");
  CHECK_FALSE(ParseRemapSetting("a:b:c").ok());
  CHECK_FALSE(ParseRemapSetting(":staff").ok());
}

TEST_CASE("the setting is read from daemon.json") {
  CHECK(*UsernsRemapSetting(Json::object()) == "");
  CHECK(*UsernsRemapSetting(Json{{"userns-remap", "default"}}) == "default");
  CHECK(*UsernsRemapSetting(Json{{"userns-remap", nullptr}}) == "");
  CHECK_FALSE(UsernsRemapSetting(Json{{"userns-remap", 5}}).ok());
}

TEST_CASE("subordinate ranges are matched by name or id and sorted by start") {
  const std::string text =
      "# comment\n"
      "alice:300000:65536\n"
      "bob:100000:65536\n"
      "\n"
      "1000:200000:1000\n"
      "alice:not-a-number:5\n"
      "alice:500000:0\n"
      "  alice:165536:10  \n";
  CHECK(SubordinateRanges(text, "alice", "1000") ==
        Ranges{{165536, 10}, {200000, 1000}, {300000, 65536}});
  CHECK(SubordinateRanges(text, "alice", "") == Ranges{{165536, 10}, {300000, 65536}});
  CHECK(SubordinateRanges(text, "carol", "2000").empty());
}

TEST_CASE("several ranges make contiguous container ids from 0") {
  std::vector<IdMapping> map = BuildIdMap({{100000, 10}, {300000, 65536}});
  REQUIRE(map.size() == 2);
  CHECK(map[0].container_id == 0);
  CHECK(map[0].host_id == 100000);
  CHECK(map[0].size == 10);
  CHECK(map[1].container_id == 10);
  CHECK(map[1].host_id == 300000);
  CHECK(map[1].size == 65536);
  CHECK(FormatIdMap(map) == "0 100000 10\n10 300000 65536\n");
  CHECK(ToContainerId(map, 100000) == 0);
  CHECK(ToContainerId(map, 100009) == 9);
  CHECK(ToContainerId(map, 300000) == 10);
  CHECK(ToContainerId(map, 365535) == 65545);
  // Unmapped ids stay as they are.
  CHECK(ToContainerId(map, 100010) == 100010);
  CHECK(ToContainerId(map, 0) == 0);
  CHECK(ToHostId(map, 0) == 100000);
  CHECK(ToHostId(map, 12) == 300002);
  CHECK(ToHostId(map, 70000) == 70000);
}

TEST_CASE("a new range goes to the first gap at or above 100000") {
  CHECK(NextFreeRange("", 65536) == 100000);
  CHECK(NextFreeRange("a:100000:65536\n", 65536) == 165536);
  CHECK(NextFreeRange("a:300000:65536\nb:100000:65536\n", 65536) == 165536);
  CHECK(NextFreeRange("a:100000:65536\nb:165536:200000\n", 65536) == 365536);
  // A gap too small is skipped.
  CHECK(NextFreeRange("a:100000:10\nb:100020:65536\n", 65536) == 165556);
  CHECK(NextFreeRange("low:0:50000\n", 65536) == 100000);
}

struct TempFiles {
  std::string dir;
  TempFiles() {
    char templ[] = "/tmp/unsXXXXXX";
    dir = mkdtemp(templ);
  }
  ~TempFiles() { (void)RemoveAll(dir); }
};

TEST_CASE("a remap resolves a host user against the subid files") {
  TempFiles temp;
  SubidFiles files{temp.dir + "/subuid", temp.dir + "/subgid"};
  // "nobody" and "nogroup" exist on Debian; a numeric group names one too.
  REQUIRE(WriteFileAtomic(files.subuid, "nobody:200000:65536\nnobody:100000:1000\n").ok());
  REQUIRE(WriteFileAtomic(files.subgid, "nogroup:300000:65536\n").ok());
  auto remap = ResolveUsernsRemap("nobody:nogroup", files);
  REQUIRE(remap.ok());
  CHECK(remap->user == "nobody");
  CHECK(remap->group == "nogroup");
  CHECK(remap->RootUid() == 100000);
  CHECK(remap->RootGid() == 300000);
  CHECK(FormatIdMap(remap->uids) == "0 100000 1000\n1000 200000 65536\n");
  CHECK(FormatIdMap(remap->gids) == "0 300000 65536\n");

  auto by_id = ResolveUsernsRemap("65534:65534", files);
  REQUIRE(by_id.ok());
  CHECK(by_id->user == "nobody");
  CHECK(by_id->RootUid() == 100000);

  auto no_gids = ResolveUsernsRemap("nobody", files);
  REQUIRE_FALSE(no_gids.ok());
  CHECK(std::string(no_gids.status().message()).find("no subgid ranges found") !=
        std::string::npos);
  CHECK_FALSE(ResolveUsernsRemap("root", files).ok());
  auto unknown = ResolveUsernsRemap("no-such-user-here", files);
  REQUIRE_FALSE(unknown.ok());
  CHECK(absl::IsNotFound(unknown.status()));
  auto unknown_uid = ResolveUsernsRemap("4000000:4000000", files);
  REQUIRE_FALSE(unknown_uid.ok());
  CHECK(std::string(unknown_uid.status().message()) == "Uid 4000000 has no entry in /etc/passwd");
}

TEST_CASE("no config file or no setting means no remap") {
  TempFiles temp;
  auto none = LoadUsernsRemap("");
  REQUIRE(none.ok());
  CHECK_FALSE(none->has_value());
  REQUIRE(WriteFileAtomic(temp.dir + "/daemon.json", R"({"log-driver": "local"})").ok());
  none = LoadUsernsRemap(temp.dir + "/daemon.json");
  REQUIRE(none.ok());
  CHECK_FALSE(none->has_value());
  REQUIRE(WriteFileAtomic(temp.dir + "/bad.json", R"({"userns-remap": "a:b:c"})").ok());
  CHECK_FALSE(LoadUsernsRemap(temp.dir + "/bad.json").ok());
}

}  // namespace
}  // namespace berth
