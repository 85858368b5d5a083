#include <catch2/catch.hpp>
#include <thread>

#include "apiserver/api.h"
#include "apiserver/framing.h"
#include "common/json.h"
#include "tests/apiserver/fakes.h"

namespace berth::apiserver {
namespace {

using testing::FakeContainers;
using testing::FakeExchange;
using testing::FakeImages;
namespace rt = ::berth::runtime::v1;
namespace img = ::berth::image::v1;

const std::string kId = std::string(64, 'a');
const std::string kImageId = "sha256:" + std::string(64, 'd');

struct Fixture {
  FakeContainers containers;
  FakeImages images;
  Api api{&containers, &images, HostInfo{}};

  Fixture() {
    img::Image busybox;
    busybox.set_id(kImageId);
    busybox.add_repo_tags("busybox:latest");
    busybox.set_config_json(R"({"config":{"Cmd":["sh"]}})");
    images.images["busybox"] = busybox;
    images.images["busybox:latest"] = busybox;
    images.images["docker.io/library/busybox:latest"] = busybox;
  }

  std::unique_ptr<FakeExchange> Call(const std::string& method, const std::string& target,
                                     const std::string& body = "") {
    auto exchange = std::make_unique<FakeExchange>(method, target, body);
    api.Handle(*exchange);
    return exchange;
  }
};

Json BodyJson(const FakeExchange& e) { return Json::parse(e.body); }

TEST_CASE_METHOD(Fixture, "ping and version need no backend") {
  containers.down = absl::UnavailableError("runtimed is unavailable: gone");
  images.down = absl::UnavailableError("imaged is unavailable: gone");
  auto ping = Call("HEAD", "/_ping");
  CHECK(ping->status == 200);
  CHECK(ping->body == "OK");
  CHECK(ping->headers["Cache-Control"] == "no-cache, no-store, must-revalidate");
  CHECK(ping->headers["Pragma"] == "no-cache");
  auto version = Call("GET", "/v1.41/version");
  REQUIRE(version->status == 200);
  Json v = BodyJson(*version);
  CHECK(v["ApiVersion"] == "1.50");
  CHECK(v["MinAPIVersion"] == "1.24");
  CHECK(v["Components"][0]["Name"] == "Engine");
  // info degrades to warnings instead of failing.
  auto info = Call("GET", "/info");
  REQUIRE(info->status == 200);
  CHECK(BodyJson(*info)["Warnings"].size() == 2);
}

TEST_CASE_METHOD(Fixture, "errors map to Docker's status and body") {
  auto missing = Call("GET", "/containers/nope/json");
  CHECK(missing->status == 404);
  CHECK(missing->content_type == "application/json");
  CHECK(BodyJson(*missing)["message"] == "No such container: nope");

  CHECK(Call("GET", "/nothing/here")->status == 404);
  auto too_new = Call("GET", "/v1.99/version");
  CHECK(too_new->status == 400);
  CHECK(BodyJson(*too_new)["message"] ==
        "client version 1.99 is too new. Maximum supported API version is 1.50");

  containers.down = absl::UnavailableError("runtimed is unavailable: connection refused");
  auto down = Call("GET", "/containers/json");
  CHECK(down->status == 503);
  CHECK(BodyJson(*down)["message"] == "runtimed is unavailable: connection refused");
}

TEST_CASE_METHOD(Fixture, "create splits the body and resolves the image") {
  std::string body = R"({"Image":"busybox","Cmd":["echo","hi"],"Env":["A=1"],
    "HostConfig":{"AutoRemove":true,"NetworkMode":"default"},
    "NetworkingConfig":{"EndpointsConfig":{}}})";
  auto created = Call("POST", "/v1.41/containers/create?name=web", body);
  REQUIRE(created->status == 201);
  CHECK(BodyJson(*created)["Id"] == std::string(64, 'c'));
  CHECK(BodyJson(*created)["Warnings"] == Json::array());
  const rt::CreateContainerRequest& req = containers.last_create;
  CHECK(req.name() == "web");
  Json config = Json::parse(req.config_json());
  CHECK(config["Cmd"] == Json::array({"echo", "hi"}));
  CHECK_FALSE(config.contains("HostConfig"));
  CHECK(Json::parse(req.host_config_json())["AutoRemove"] == true);
  CHECK(Json::parse(req.networking_config_json()).contains("EndpointsConfig"));
  CHECK(req.image().id() == kImageId);

  auto no_image = Call("POST", "/containers/create", R"({"Image":"nonexistent:1"})");
  CHECK(no_image->status == 404);
  CHECK(BodyJson(*no_image)["message"] == "No such image: nonexistent:1");
  auto no_tag = Call("POST", "/containers/create", R"({"Image":"ghost"})");
  CHECK(BodyJson(*no_tag)["message"] == "No such image: ghost:latest");

  CHECK(Call("POST", "/containers/create", "{not json")->status == 400);
  CHECK(Call("POST", "/containers/create", R"({"Image":5})")->status == 400);
  CHECK(Call("POST", "/containers/create?name=bad%20name", R"({"Image":"busybox"})")->status ==
        400);

  containers.Add(kId, "dup", "created");
  auto conflict = Call("POST", "/containers/create?name=dup", R"({"Image":"busybox"})");
  CHECK(conflict->status == 409);
  CHECK(BodyJson(*conflict)["message"].get<std::string>().find("Conflict.") == 0);
}

TEST_CASE_METHOD(Fixture, "list filters, limits and hides stopped containers") {
  auto& a = containers.Add(std::string(64, '1'), "alpha", "running", R"({"Labels":{"k":"v"}})");
  a.set_created(3);
  a.set_image("busybox");
  a.set_image_id(kImageId);
  auto& b = containers.Add(std::string(64, '2'), "beta", "exited");
  b.set_created(2);
  b.mutable_state()->set_started_at(1);
  b.mutable_state()->set_finished_at(2);
  b.mutable_state()->set_exit_code(3);
  containers.Add(std::string(64, '3'), "gamma", "created").set_created(1);

  auto names = [](const FakeExchange& e) {
    std::vector<std::string> out;
    for (const Json& c : Json::parse(e.body)) out.push_back(c["Names"][0]);
    return out;
  };
  CHECK(names(*Call("GET", "/containers/json")) == std::vector<std::string>{"/alpha"});
  CHECK(names(*Call("GET", "/containers/json?all=1")) ==
        std::vector<std::string>{"/alpha", "/beta", "/gamma"});
  CHECK(names(*Call("GET", "/containers/json?limit=1")) == std::vector<std::string>{"/alpha"});
  CHECK(names(*Call("GET", R"(/containers/json?filters={"status":{"exited":true}})")) ==
        std::vector<std::string>{"/beta"});
  CHECK(names(*Call("GET", R"(/containers/json?all=1&filters={"name":["gam"]})")) ==
        std::vector<std::string>{"/gamma"});
  CHECK(names(*Call("GET", R"(/containers/json?all=1&filters={"label":{"k=v":true}})")) ==
        std::vector<std::string>{"/alpha"});
  CHECK(names(*Call("GET", R"(/containers/json?all=1&filters={"id":["2222"]})")) ==
        std::vector<std::string>{"/beta"});
  CHECK(names(*Call("GET", R"(/containers/json?all=1&filters={"ancestor":["busybox"]})")) ==
        std::vector<std::string>{"/alpha"});
  CHECK(names(*Call("GET", R"(/containers/json?filters={"exited":["3"]})")) ==
        std::vector<std::string>{"/beta"});

  auto bad = Call("GET", "/containers/json?filters=%7Bbroken");
  CHECK(bad->status == 400);
  CHECK(BodyJson(*bad)["message"].get<std::string>().find("invalid filter") == 0);
  auto bad_status = Call("GET", R"(/containers/json?filters={"status":["sleepy"]})");
  CHECK(bad_status->status == 400);
  CHECK(BodyJson(*bad_status)["message"] == "invalid filter 'status=sleepy'");
  CHECK(Call("GET", "/containers/json?limit=x")->status == 400);
}

TEST_CASE_METHOD(Fixture, "lifecycle verbs answer Docker's statuses") {
  containers.Add(kId, "web", "running");
  CHECK(Call("POST", "/containers/web/start")->status == 304);
  containers.containers[kId].mutable_state()->set_status("exited");
  CHECK(Call("POST", "/containers/web/start")->status == 204);
  CHECK(containers.started == std::vector<std::string>{kId});

  auto kill = Call("POST", "/containers/web/kill?signal=HUP");
  CHECK(kill->status == 409);
  CHECK(BodyJson(*kill)["message"] == "Container " + kId + " is not running");
  CHECK(Call("POST", "/containers/web/resize?h=30&w=100")->status == 409);

  containers.containers[kId].mutable_state()->set_status("running");
  CHECK(Call("POST", "/containers/web/kill?signal=HUP")->status == 204);
  CHECK(containers.last_kill.signal() == "HUP");

  CHECK(Call("POST", "/containers/web/stop?t=1")->status == 204);
  CHECK(containers.last_stop.timeout() == 1);
  containers.already_stopped = true;
  CHECK(Call("POST", "/containers/web/stop")->status == 304);
  CHECK_FALSE(containers.last_stop.has_timeout());
  CHECK(Call("POST", "/containers/web/stop?t=soon")->status == 400);

  auto rm = Call("DELETE", "/containers/web");
  CHECK(rm->status == 409);
  CHECK(Call("DELETE", "/containers/web?force=1&v=False")->status == 204);
  CHECK(containers.last_remove.force());
  CHECK_FALSE(containers.last_remove.remove_volumes());
}

TEST_CASE_METHOD(Fixture, "wait sends headers on registration and the result later") {
  containers.Add(kId, "web", "running");
  auto exchange = std::make_unique<FakeExchange>("POST", "/containers/web/wait?condition=removed");
  std::thread handler([&] { api.Handle(*exchange); });
  rt::WaitContainerResponse registered;
  registered.mutable_registered();
  containers.wait_stream->Push(registered);
  for (int i = 0; i < 200 && exchange->status == 0; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  CHECK(exchange->status == 200);
  CHECK(exchange->chunked);
  CHECK(exchange->body.empty());
  rt::WaitContainerResponse result;
  result.mutable_result()->set_exit_code(3);
  containers.wait_stream->Push(result);
  handler.join();
  CHECK(exchange->body == "{\"Error\":null,\"StatusCode\":3}\n");
  CHECK(exchange->ended);
  CHECK(Call("POST", "/containers/web/wait?condition=whenever")->status == 400);
  CHECK(Call("POST", "/containers/nope/wait")->status == 404);
}

TEST_CASE_METHOD(Fixture, "an abandoned wait is cancelled") {
  containers.Add(kId, "web", "running");
  auto exchange =
      std::make_unique<FakeExchange>("POST", "/containers/web/wait?condition=next-exit");
  std::thread handler([&] { api.Handle(*exchange); });
  rt::WaitContainerResponse registered;
  registered.mutable_registered();
  containers.wait_stream->Push(registered);
  for (int i = 0; i < 200 && exchange->status == 0; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  REQUIRE(exchange->watching);
  exchange->Disconnect();
  handler.join();
  CHECK(containers.wait_stream->cancelled());
  CHECK(exchange->body.empty());
}

TEST_CASE_METHOD(Fixture,
                 "logs of a container whose driver keeps none are refused before a stream") {
  containers.Add(kId, "web", "exited").clear_log_path();
  auto logs = Call("GET", "/containers/web/logs?stdout=1");
  CHECK(logs->status == 501);
  CHECK(logs->body == "{\"message\":\"configured logging driver does not support reading\"}\n");
}

TEST_CASE_METHOD(Fixture, "logs are multiplexed and timestamped") {
  containers.Add(kId, "web", "exited");
  rt::LogEntry out, err;
  out.set_stream(rt::STDOUT);
  out.set_data("out1\n");
  out.set_time_nano(1700000000LL * 1000000000LL + 5);
  err.set_stream(rt::STDERR);
  err.set_data("err1\n");
  containers.log_stream->Push(out);
  containers.log_stream->Push(err);
  containers.log_stream->Close();
  auto logs = Call("GET", "/containers/web/logs?stdout=1&stderr=1&tail=5&timestamps=1&since=10");
  CHECK(logs->status == 200);
  CHECK(logs->content_type == "application/vnd.docker.multiplexed-stream");
  CHECK(containers.last_logs.tail() == 5);
  CHECK(containers.last_logs.since() == 10LL * 1000000000LL);
  CHECK(containers.last_logs.id() == kId);
  CHECK(logs->body == MuxFrame(StreamId::kStdout, "2023-11-14T22:13:20.000000005Z out1\n") +
                          MuxFrame(StreamId::kStderr, "0001-01-01T00:00:00Z err1\n"));
  CHECK(Call("GET", "/containers/web/logs")->status == 400);
}

TEST_CASE_METHOD(Fixture, "attach relays stdin, half-close and output") {
  containers.Add(kId, "web", "running", R"({"Tty":false,"OpenStdin":true})");
  auto exchange = std::make_unique<FakeExchange>(
      "POST", "/containers/web/attach?stream=1&stdin=1&stdout=1&stderr=1");
  exchange->mutable_request().headers["upgrade"] = "tcp";
  exchange->raw_in = "stdin-data\n";
  exchange->raw_in_eof = true;
  api.Handle(*exchange);
  CHECK(exchange->status == 101);
  CHECK(exchange->raw);
  CHECK(exchange->content_type == "application/vnd.docker.multiplexed-stream");
  CHECK(exchange->body == MuxFrame(StreamId::kStdout, "stdin-data\n"));
  CHECK(containers.last_attach.stdin());
  CHECK(containers.last_attach.stream());
  CHECK_FALSE(containers.last_attach.logs());
}

TEST_CASE_METHOD(Fixture, "attach without stdin keeps streaming after the client half-closes") {
  // The docker CLI closes its write side at once when it attaches without
  // stdin; the output that follows must still reach it.
  containers.Add(kId, "web", "running", R"({"Tty":false})");
  auto exchange =
      std::make_unique<FakeExchange>("POST", "/containers/web/attach?stream=1&stdout=1&stderr=1");
  exchange->mutable_request().headers["upgrade"] = "tcp";
  exchange->raw_in_eof = true;
  std::thread container([&] {
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
    rt::AttachResponse event;
    event.mutable_output()->set_stream(rt::STDERR);
    event.mutable_output()->set_data("late output\n");
    containers.attach_stream->Push(event);
    containers.attach_stream->Close();
  });
  api.Handle(*exchange);
  container.join();
  CHECK(exchange->status == 101);
  CHECK(exchange->body == MuxFrame(StreamId::kStderr, "late output\n"));
}

TEST_CASE_METHOD(Fixture, "load streams the body in chunks and reports in-stream") {
  img::Progress loaded;
  loaded.set_stream("Loaded image: busybox:latest\n");
  images.load_progress = {loaded};
  std::string tar(3 * 1024 * 1024 + 17, 't');
  auto load = Call("POST", "/images/load?quiet=1", tar);
  CHECK(load->status == 200);
  CHECK(load->content_type == "application/json");
  CHECK(images.loaded == tar);
  CHECK(images.load_chunks == 4);
  CHECK(load->body == "{\"stream\":\"Loaded image: busybox:latest\\n\"}\r\n");

  images.load_end = absl::InvalidArgumentError("bad archive");
  auto failed = Call("POST", "/images/load", "x");
  CHECK(failed->status == 200);
  CHECK(failed->body.find(R"({"error":"bad archive","errorDetail":{"message":"bad archive"}})") !=
        std::string::npos);

  images.load_progress.clear();
  auto early = Call("POST", "/images/load", "x");
  CHECK(early->status == 400);
}

TEST_CASE_METHOD(Fixture, "save streams the archive as x-tar; an unknown name is a 404") {
  images.save_archive = "0123456789";
  auto saved = Call("GET", "/images/get?names=busybox&names=busybox%3Alatest");
  CHECK(saved->status == 200);
  CHECK(saved->content_type == "application/x-tar");
  CHECK(saved->chunked);
  CHECK(saved->ended);
  CHECK(saved->body == "0123456789");
  CHECK(images.last_save == std::vector<std::string>{"busybox", "busybox:latest"});

  auto single = Call("GET", "/images/docker.io/library/busybox:latest/get");
  CHECK(single->status == 200);
  CHECK(images.last_save == std::vector<std::string>{"docker.io/library/busybox:latest"});

  auto unknown = Call("GET", "/images/get?names=busybox&names=nosuch");
  CHECK(unknown->status == 404);
  CHECK(BodyJson(*unknown)["message"] == "No such image: nosuch");
}

TEST_CASE_METHOD(Fixture, "import splits repo:tag and returns the ID in-stream") {
  auto imported =
      Call("POST", "/images/create?fromSrc=-&repo=spy-import:1&changes=CMD%20%5B%22sh%22%5D",
           "tar-bytes");
  CHECK(imported->status == 200);
  CHECK(images.imported == "tar-bytes");
  CHECK(images.last_import.repository() == "spy-import");
  CHECK(images.last_import.tag() == "1");
  REQUIRE(images.last_import.changes_size() == 1);
  CHECK(images.last_import.changes(0) == "CMD [\"sh\"]");
  CHECK(imported->body == "{\"status\":\"sha256:" + std::string(64, 'e') + "\"}\r\n");
}

TEST_CASE_METHOD(Fixture, "pull answers for local images and 501 otherwise") {
  auto local = Call("POST", "/images/create?fromImage=docker.io/library/busybox&tag=latest");
  CHECK(local->status == 200);
  CHECK(local->body.find("Image is up to date for busybox:latest") != std::string::npos);
  auto remote = Call("POST", "/images/create?fromImage=docker.io/library/nginx&tag=1");
  CHECK(remote->status == 501);
  CHECK(BodyJson(*remote)["message"].get<std::string>().find("nginx:1") != std::string::npos);
}

TEST_CASE_METHOD(Fixture, "images list, inspect, tag and remove") {
  img::Image dangling;
  dangling.set_id("sha256:" + std::string(64, 'f'));
  images.images[dangling.id()] = dangling;

  auto all = Call("GET", "/images/json");
  CHECK(BodyJson(*all).size() == 2);
  auto ref = Call("GET", R"(/images/json?filters={"reference":{"busy*":true}})");
  REQUIRE(BodyJson(*ref).size() == 1);
  CHECK(BodyJson(*ref)[0]["Id"] == kImageId);
  auto dang = Call("GET", R"(/images/json?filters={"dangling":["true"]})");
  REQUIRE(BodyJson(*dang).size() == 1);
  CHECK(BodyJson(*dang)[0]["Id"] == dangling.id());

  CHECK(Call("GET", "/images/busybox:latest/json")->status == 200);
  CHECK(Call("GET", "/images/busybox:latest/history")->status == 200);
  CHECK(Call("GET", "/images/ghost/json")->status == 404);

  auto tag = Call("POST", "/images/busybox:latest/tag?repo=example.com/bb&tag=t1");
  CHECK(tag->status == 201);
  CHECK(images.last_tag.source() == "busybox:latest");
  CHECK(images.last_tag.repository() == "example.com/bb");
  CHECK(images.last_tag.tag() == "t1");

  containers.Add(kId, "web", "exited").set_image_id(kImageId);
  auto rmi = Call("DELETE", "/images/busybox:latest?force=1");
  REQUIRE(rmi->status == 200);
  CHECK(BodyJson(*rmi) ==
        Json::parse(R"([{"Untagged":"busybox:latest"},{"Deleted":")" + kImageId + "\"}]"));
  CHECK(images.last_remove.force());
  REQUIRE(images.last_remove.images_in_use_size() == 1);
  CHECK(images.last_remove.images_in_use(0) == kImageId);
}

TEST_CASE_METHOD(Fixture, "pause, unpause and top answer Docker's statuses") {
  containers.Add(kId, "web", "running");
  CHECK(Call("POST", "/containers/web/pause")->status == 204);
  CHECK(containers.containers[kId].state().status() == "paused");
  auto again = Call("POST", "/containers/web/pause");
  CHECK(again->status == 409);
  CHECK(BodyJson(*again)["message"] == "Container " + kId + " is already paused");
  CHECK(Call("POST", "/containers/web/unpause")->status == 204);
  auto not_paused = Call("POST", "/containers/web/unpause");
  CHECK(not_paused->status == 409);
  CHECK(BodyJson(*not_paused)["message"] == "Container " + kId + " is not paused");
  CHECK(Call("POST", "/containers/nope/pause")->status == 404);

  auto top = Call("GET", "/containers/web/top?ps_args=aux");
  REQUIRE(top->status == 200);
  CHECK(containers.last_ps_args == "aux");
  Json body = BodyJson(*top);
  CHECK(body["Titles"] == Json({"UID", "PID", "CMD"}));
  CHECK(body["Processes"] == Json::array({Json({"root", "42", "sleep 100"})}));

  containers.containers[kId].mutable_state()->set_status("exited");
  CHECK(Call("GET", "/containers/web/top")->status == 409);
  CHECK(Call("POST", "/containers/web/pause")->status == 409);
}

}  // namespace
}  // namespace berth::apiserver
