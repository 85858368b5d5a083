#include "apiserver/handlers/files.h"

#include <sys/stat.h>

#include <catch2/catch.hpp>

#include "absl/strings/escaping.h"
#include "common/json.h"

namespace berth::apiserver {
namespace {

image::v1::Image ImageWith(const std::vector<std::pair<std::string, int64_t>>& layers) {
  image::v1::Image image;
  for (const auto& [chain_id, size] : layers) {
    image.add_chain_ids(chain_id);
    image.add_layer_sizes(size);
  }
  return image;
}

TEST_CASE("system df counts a layer shared by images once, and as each one's SharedSize") {
  std::vector<image::v1::Image> images = {
      ImageWith({{"sha256:base", 100}, {"sha256:a", 10}}),
      ImageWith({{"sha256:base", 100}, {"sha256:b", 20}}),
      ImageWith({{"sha256:other", 7}}),
      // The same layers under a second ID (a retag of a commit) count too.
      ImageWith({{"sha256:base", 100}}),
  };
  ImageDiskUsage usage = ImageLayerUsage(images);
  CHECK(usage.layers_size == 137);
  CHECK(usage.shared_sizes == std::vector<int64_t>{100, 100, 0, 100});
  CHECK(ImageLayerUsage({ImageWith({{"sha256:x", 5}})}).shared_sizes == std::vector<int64_t>{0});
  CHECK(ImageLayerUsage({}).layers_size == 0);
}

TEST_CASE("file modes in Go's os.FileMode bits, as the docker CLI decodes them") {
  CHECK(GoFileMode(S_IFREG | 0644) == 0644);
  CHECK(GoFileMode(S_IFDIR | 0755) == ((1u << 31) | 0755));
  CHECK(GoFileMode(S_IFLNK | 0777) == ((1u << 27) | 0777));
  CHECK(GoFileMode(S_IFCHR | 0600) == ((1u << 26) | (1u << 21) | 0600));
  CHECK(GoFileMode(S_IFIFO | 0600) == ((1u << 25) | 0600));
  CHECK(GoFileMode(S_IFREG | S_ISUID | 0755) == ((1u << 23) | 0755));
  CHECK(GoFileMode(S_IFDIR | S_ISVTX | 0777) == ((1u << 31) | (1u << 20) | 0777));
}

TEST_CASE("the path stat header is padded base64url JSON") {
  storage::v1::PathStat stat;
  stat.set_name("hostname");
  stat.set_size(13);
  stat.set_mode(S_IFREG | 0644);
  stat.set_mtime_sec(1700000000);
  stat.set_link_target("");
  std::string header = PathStatHeader(stat);
  CHECK(header.size() % 4 == 0);
  CHECK(header.find('+') == std::string::npos);
  CHECK(header.find('/') == std::string::npos);
  std::string decoded;
  REQUIRE(absl::WebSafeBase64Unescape(header, &decoded));
  absl::StatusOr<Json> json = ParseJson(decoded);
  REQUIRE(json.ok());
  CHECK((*json)["name"] == "hostname");
  CHECK((*json)["size"] == 13);
  CHECK((*json)["mode"] == 0644);
  CHECK((*json)["mtime"] == "2023-11-14T22:13:20Z");
  CHECK((*json)["linkTarget"] == "");
}

TEST_CASE("a container's view: its pid while it runs, volumes and binds, no tmpfs") {
  runtime::v1::Container c;
  c.set_id(std::string(64, 'a'));
  c.set_config_json(R"({"Volumes":{"/anon":{}}})");
  c.set_host_config_json(R"({"Binds":["/srv:/srv:ro","named:/data"],"ReadonlyRootfs":true,)"
                         R"("Mounts":[{"Type":"tmpfs","Target":"/t"}]})");
  c.mutable_state()->set_status("exited");
  c.mutable_state()->set_pid(0);
  absl::StatusOr<storage::v1::ContainerView> view = ContainerViewOf(c);
  REQUIRE(view.ok());
  CHECK(view->pid() == 0);
  CHECK(view->read_only_rootfs());
  REQUIRE(view->mounts_size() == 3);
  std::map<std::string, storage::v1::ContainerMount> by_destination;
  for (const auto& m : view->mounts()) by_destination[m.destination()] = m;
  CHECK(by_destination["/srv"].source() == "/srv");
  CHECK(by_destination["/srv"].read_only());
  CHECK(by_destination["/data"].volume() == "named");
  CHECK_FALSE(by_destination["/anon"].volume().empty());
  CHECK(by_destination.count("/t") == 0);

  c.mutable_state()->set_status("running");
  c.mutable_state()->set_pid(4242);
  view = ContainerViewOf(c);
  REQUIRE(view.ok());
  CHECK(view->pid() == 4242);
}

}  // namespace
}  // namespace berth::apiserver
