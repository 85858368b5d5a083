// docker pull / push / login through the handlers, with imaged faked.
#include <catch2/catch.hpp>

#include "absl/strings/escaping.h"
#include "apiserver/api.h"
#include "apiserver/handlers/images.h"
#include "common/json.h"
#include "tests/apiserver/fakes.h"

namespace berth::apiserver {
namespace {

using testing::FakeContainers;
using testing::FakeExchange;
using testing::FakeImages;
using testing::QueueStream;
namespace img = ::berth::image::v1;

img::Progress Status(const std::string& status, const std::string& id = "") {
  img::Progress progress;
  progress.set_status(status);
  progress.set_id(id);
  return progress;
}

// Answers pull and push with scripted progress and a final status.
class RegistryImages : public FakeImages {
 public:
  std::vector<img::Progress> progress;
  absl::Status end;
  img::PullImageRequest last_pull;
  img::PushImageRequest last_push;
  img::LoginRequest last_login;
  absl::Status login;

  std::unique_ptr<ReadStream<img::Progress>> Stream() {
    auto stream = std::make_unique<QueueStream<img::Progress>>();
    for (const img::Progress& p : progress) stream->Push(p);
    stream->Close(end);
    return stream;
  }
  std::unique_ptr<ReadStream<img::Progress>> PullImage(
      const img::PullImageRequest& request) override {
    last_pull = request;
    return Stream();
  }
  std::unique_ptr<ReadStream<img::Progress>> PushImage(
      const img::PushImageRequest& request) override {
    last_push = request;
    return Stream();
  }
  absl::StatusOr<img::LoginResponse> Login(const img::LoginRequest& request) override {
    last_login = request;
    if (!login.ok()) return login;
    img::LoginResponse response;
    response.set_status("Login Succeeded");
    return response;
  }
};

struct Fixture {
  FakeContainers containers;
  RegistryImages images;
  Api api{&containers, &images, HostInfo{}};

  std::unique_ptr<FakeExchange> Call(const std::string& method, const std::string& target,
                                     const std::string& body = "",
                                     const std::string& registry_auth = "") {
    auto exchange = std::make_unique<FakeExchange>(method, target, body);
    if (!registry_auth.empty()) {
      exchange->mutable_request().headers["x-registry-auth"] = registry_auth;
    }
    api.Handle(*exchange);
    return exchange;
  }
};

}  // namespace

TEST_CASE("X-Registry-Auth is decoded", "[registry]") {
  img::RegistryAuth auth = ParseRegistryAuth(absl::WebSafeBase64Escape(
      R"({"username":"u","password":"p","serveraddress":"127.0.0.1:5000"})"));
  CHECK(auth.username() == "u");
  CHECK(auth.password() == "p");
  CHECK(auth.server_address() == "127.0.0.1:5000");
  // config.json's "auth" form.
  auth = ParseRegistryAuth(
      absl::Base64Escape(Json{{"auth", absl::Base64Escape("user:pa:ss")}}.dump()));
  CHECK(auth.username() == "user");
  CHECK(auth.password() == "pa:ss");
  auth = ParseRegistryAuth("e30=");
  CHECK(auth.username().empty());
  CHECK(ParseRegistryAuth("not base64 !!").username().empty());
}

TEST_CASE_METHOD(Fixture, "pull streams Docker's progress", "[registry]") {
  images.progress = {Status("Pulling from e2e/bb", "v1"), Status("Pull complete", "abc"),
                     Status("Digest: sha256:1"),
                     Status("Status: Downloaded newer image for 127.0.0.1:5000/e2e/bb:v1")};
  auto e = Call("POST", "/v1.41/images/create?fromImage=127.0.0.1:5000/e2e/bb&tag=v1", "",
                absl::WebSafeBase64Escape(R"({"username":"u","password":"p"})"));
  REQUIRE(e->status == 200);
  CHECK(e->chunked);
  CHECK(images.last_pull.reference() == "127.0.0.1:5000/e2e/bb:v1");
  CHECK(images.last_pull.auth().username() == "u");
  CHECK(e->body.find(R"({"id":"v1","status":"Pulling from e2e/bb"})") != std::string::npos);
  CHECK(e->body.find("Status: Downloaded newer image") != std::string::npos);
  CHECK(e->body.find("errorDetail") == std::string::npos);

  Call("POST", "/images/create?fromImage=busybox&tag=sha256:" + std::string(64, 'a') +
                   "&platform=linux/arm64");
  CHECK(images.last_pull.reference() == "busybox@sha256:" + std::string(64, 'a'));
  CHECK(images.last_pull.platform() == "linux/arm64");
}

TEST_CASE_METHOD(Fixture, "a pull that cannot start is an HTTP error", "[registry]") {
  images.end =
      absl::NotFoundError("manifest for x:1 not found: manifest unknown: manifest unknown");
  auto e = Call("POST", "/images/create?fromImage=x&tag=1");
  CHECK(e->status == 404);
  CHECK(Json::parse(e->body)["message"] ==
        "manifest for x:1 not found: manifest unknown: manifest unknown");

  // A failure after the start is in the stream, as Docker sends it.
  images.progress = {Status("Pulling from library/x", "1")};
  images.end = absl::InvalidArgumentError("filesystem layer verification failed");
  e = Call("POST", "/images/create?fromImage=x&tag=1");
  CHECK(e->status == 200);
  CHECK(e->body.find(R"("error":"filesystem layer verification failed")") != std::string::npos);

  // No registry reachable, but the image is here: up to date (offline run --pull).
  images.progress.clear();
  images.end = absl::InternalError("Get \"https://registry-1.docker.io/v2/\": no DNS");
  img::Image busybox;
  busybox.set_id("sha256:" + std::string(64, 'b'));
  images.images["docker.io/library/busybox:latest"] = busybox;
  e = Call("POST", "/images/create?fromImage=docker.io/library/busybox&tag=latest");
  CHECK(e->status == 200);
  CHECK(e->body.find("Image is up to date for busybox:latest") != std::string::npos);
  e = Call("POST", "/images/create?fromImage=docker.io/library/other&tag=latest");
  CHECK(e->status == 500);
}

TEST_CASE_METHOD(Fixture, "push streams progress and the aux digest", "[registry]") {
  img::Progress aux;
  aux.set_aux_json(R"({"Digest":"sha256:1","Size":527,"Tag":"v1"})");
  images.progress = {Status("The push refers to repository [127.0.0.1:5000/bb]"),
                     Status("Pushed", "abc"), Status("v1: digest: sha256:1 size: 527"), aux};
  auto e = Call("POST", "/images/127.0.0.1:5000/bb/push?tag=v1", "", "e30=");
  REQUIRE(e->status == 200);
  CHECK(images.last_push.reference() == "127.0.0.1:5000/bb:v1");
  CHECK(e->body.find(R"("aux":{"Digest":"sha256:1","Size":527,"Tag":"v1"})") != std::string::npos);

  images.progress.clear();
  images.end = absl::NotFoundError("An image does not exist locally with the tag: nothere");
  e = Call("POST", "/images/nothere/push?tag=");
  CHECK(e->status == 404);
  CHECK(images.last_push.reference() == "nothere");
}

TEST_CASE_METHOD(Fixture, "login", "[registry]") {
  auto e =
      Call("POST", "/auth", R"({"username":"u","password":"p","serveraddress":"127.0.0.1:5000"})");
  REQUIRE(e->status == 200);
  CHECK(Json::parse(e->body)["Status"] == "Login Succeeded");
  CHECK(images.last_login.auth().username() == "u");
  CHECK(images.last_login.auth().server_address() == "127.0.0.1:5000");

  images.login = absl::UnauthenticatedError(
      "login attempt to http://127.0.0.1:5000/v2/ failed with status: 401 Unauthorized");
  e = Call("POST", "/auth", R"({"username":"u","password":"bad","serveraddress":"x"})");
  CHECK(e->status == 401);
  CHECK(Json::parse(e->body)["message"] ==
        "login attempt to http://127.0.0.1:5000/v2/ failed with status: 401 Unauthorized");
  CHECK(Call("POST", "/auth", "not json")->status == 400);
}

}  // namespace berth::apiserver
