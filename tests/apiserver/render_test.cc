#include "apiserver/render.h"

#include <catch2/catch.hpp>

namespace berth::apiserver {
namespace {

namespace rt = ::berth::runtime::v1;
namespace img = ::berth::image::v1;

constexpr int64_t kSecond = 1000000000LL;

rt::Container SampleContainer() {
  rt::Container c;
  c.set_id(std::string(64, 'a'));
  c.set_name("web");
  c.set_created(1700000000LL * kSecond + 250000000);
  c.set_image("busybox");
  c.set_image_id("sha256:" + std::string(64, 'b'));
  c.set_config_json(R"({"Tty":true,"Labels":{"k":"v"},"Image":"busybox","Cmd":["sh"]})");
  c.set_host_config_json(R"({"NetworkMode":"host","AutoRemove":true})");
  c.set_path("sh");
  c.add_args("-c");
  c.add_args("echo hi; sleep 1");
  c.mutable_state()->set_status("running");
  c.mutable_state()->set_pid(42);
  c.mutable_state()->set_started_at(1700000000LL * kSecond);
  c.set_log_path("/var/lib/berth/runtimed/x/x-json.log");
  return c;
}

TEST_CASE("container summary has docker ps fields") {
  Json j = RenderContainerSummary(SampleContainer(), false, 1700000010LL * kSecond);
  CHECK(j["Id"] == std::string(64, 'a'));
  CHECK(j["Names"] == Json::array({"/web"}));
  CHECK(j["Image"] == "busybox");
  CHECK(j["Command"] == "sh -c 'echo hi; sleep 1'");
  CHECK(j["Created"] == 1700000000);
  CHECK(j["State"] == "running");
  CHECK(j["Status"] == "Up 10 seconds");
  CHECK(j["Labels"]["k"] == "v");
  CHECK(j["HostConfig"]["NetworkMode"] == "host");
  CHECK(j["Ports"].is_array());
  CHECK(j["Mounts"].is_array());
  CHECK(j["NetworkSettings"]["Networks"].is_object());
  CHECK_FALSE(j.contains("SizeRw"));
  CHECK(RenderContainerSummary(SampleContainer(), true, 0).contains("SizeRw"));
}

TEST_CASE("container inspect has Docker's shape") {
  Json j = RenderContainerInspect(SampleContainer());
  CHECK(j["Name"] == "/web");
  CHECK(j["Created"] == "2023-11-14T22:13:20.25Z");
  CHECK(j["Path"] == "sh");
  CHECK(j["Args"] == Json::array({"-c", "echo hi; sleep 1"}));
  CHECK(j["State"]["Running"] == true);
  CHECK(j["State"]["Pid"] == 42);
  CHECK(j["State"]["StartedAt"] == "2023-11-14T22:13:20Z");
  CHECK(j["State"]["FinishedAt"] == "0001-01-01T00:00:00Z");
  CHECK(j["Image"] == "sha256:" + std::string(64, 'b'));
  CHECK(j["Config"]["Tty"] == true);
  CHECK(j["HostConfig"]["AutoRemove"] == true);
  CHECK(j["Driver"] == "overlay2");
  CHECK(j["LogPath"] == "/var/lib/berth/runtimed/x/x-json.log");
  CHECK(j["NetworkSettings"]["Ports"].is_object());
  CHECK(j["ExecIDs"].is_null());
  CHECK(ContainerTty(SampleContainer()));
}

TEST_CASE("stored JSON that is broken renders as empty objects") {
  rt::Container c = SampleContainer();
  c.set_config_json("{broken");
  Json j = RenderContainerInspect(c);
  CHECK(j["Config"].is_object());
  CHECK_FALSE(ContainerTty(c));
}

img::Image SampleImage() {
  img::Image image;
  image.set_id("sha256:" + std::string(64, 'd'));
  image.add_repo_tags("busybox:latest");
  image.add_diff_ids("sha256:" + std::string(64, '1'));
  image.set_size(4096);
  image.set_created(1700000000);
  image.set_config_json(
      R"({"architecture":"amd64","os":"linux","created":"2023-11-14T22:13:20.123Z",
    "config":{"Cmd":["sh"],"Labels":{"maintainer":"me"}},
    "history":[{"created":"2023-11-14T22:13:19Z","created_by":"ADD file in /"},
               {"created":"2023-11-14T22:13:20Z","created_by":"CMD [\"sh\"]","empty_layer":true}]})");
  return image;
}

TEST_CASE("image summary and inspect") {
  Json s = RenderImageSummary(SampleImage(), "1.50");
  CHECK(s["Id"] == "sha256:" + std::string(64, 'd'));
  CHECK(s["RepoTags"] == Json::array({"busybox:latest"}));
  CHECK(s["RepoDigests"] == Json::array());
  CHECK(s["Containers"] == -1);
  CHECK(s["SharedSize"] == -1);
  CHECK(s["Size"] == 4096);
  CHECK(s["Labels"]["maintainer"] == "me");
  CHECK_FALSE(s.contains("VirtualSize"));
  CHECK(RenderImageSummary(SampleImage(), "1.41")["VirtualSize"] == 4096);

  Json i = RenderImageInspect(SampleImage(), "1.50");
  CHECK(i["Created"] == "2023-11-14T22:13:20.123Z");
  CHECK(i["Config"]["Cmd"] == Json::array({"sh"}));
  CHECK(i["Architecture"] == "amd64");
  CHECK(i["Os"] == "linux");
  CHECK(i["RootFS"]["Type"] == "layers");
  CHECK(i["RootFS"]["Layers"].size() == 1);
  CHECK(i["GraphDriver"]["Name"] == "overlay2");
}

TEST_CASE("image history lists newest first with the image ID on top") {
  Json h = RenderImageHistory(SampleImage());
  REQUIRE(h.size() == 2);
  CHECK(h[0]["Id"] == "sha256:" + std::string(64, 'd'));
  CHECK(h[0]["CreatedBy"] == "CMD [\"sh\"]");
  CHECK(h[0]["Tags"] == Json::array({"busybox:latest"}));
  CHECK(h[1]["Id"] == "<missing>");
  CHECK(h[1]["Created"] == 1700000000 - 1);
  CHECK(h[1]["Tags"].is_null());
}

}  // namespace
}  // namespace berth::apiserver
