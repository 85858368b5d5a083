#include <fcntl.h>
// Drives the real HTTP server over a unix socket with raw HTTP, as the docker
// CLI does, with fake backends behind it.
#include <poll.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <chrono>
#include <thread>

#include "apiserver/api.h"
#include "apiserver/framing.h"
#include "apiserver/http/server.h"
#include "tests/apiserver/fakes.h"

namespace berth::apiserver {
namespace {

using testing::FakeContainers;
using testing::FakeImages;
namespace rt = ::berth::runtime::v1;

const std::string kId = std::string(64, 'a');

class Client {
 public:
  explicit Client(const std::string& path) {
    fd_ = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    struct sockaddr_un addr = {};
    addr.sun_family = AF_UNIX;
    path.copy(addr.sun_path, path.size());
    REQUIRE(connect(fd_, reinterpret_cast<struct sockaddr*>(&addr), sizeof(addr)) == 0);
  }
  ~Client() { Close(); }
  void Close() {
    if (fd_ >= 0) close(fd_);
    fd_ = -1;
  }
  void Send(const std::string& data) {
    REQUIRE(send(fd_, data.data(), data.size(), MSG_NOSIGNAL) == static_cast<ssize_t>(data.size()));
  }
  void CloseWrite() { shutdown(fd_, SHUT_WR); }
  // Reads until `marker` has arrived (or EOF when marker is empty), 5 s at most.
  std::string ReadUntil(const std::string& marker) {
    auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(5);
    while (marker.empty() || received_.find(marker) == std::string::npos) {
      struct pollfd p = {fd_, POLLIN, 0};
      int left = static_cast<int>(std::chrono::duration_cast<std::chrono::milliseconds>(
                                      deadline - std::chrono::steady_clock::now())
                                      .count());
      if (left <= 0 || poll(&p, 1, left) <= 0) break;
      char buf[4096];
      ssize_t n = recv(fd_, buf, sizeof(buf), 0);
      if (n <= 0) break;
      received_.append(buf, static_cast<size_t>(n));
    }
    return received_;
  }
  std::string Take() {
    std::string out;
    out.swap(received_);
    return out;
  }

 private:
  int fd_ = -1;
  std::string received_;
};

struct ServerFixture {
  FakeContainers containers;
  FakeImages images;
  Api api{&containers, &images, HostInfo{}};
  std::string dir;
  std::string path;
  std::unique_ptr<HttpServer> server;

  ServerFixture() {
    char tmpl[] = "/tmp/apitestXXXXXX";
    dir = mkdtemp(tmpl);
    path = dir + "/d.sock";
    absl::StatusOr<int> fd = ListenUnix(path, -1);
    REQUIRE(fd.ok());
    server = std::make_unique<HttpServer>(
        *fd, [this](Exchange& e) { api.Handle(e); }, Api::DefaultHeaders());
    server->Start();
  }
  ~ServerFixture() {
    server->Stop();
    unlink(path.c_str());
    rmdir(dir.c_str());
  }

  std::string Roundtrip(const std::string& request) {
    Client client(path);
    client.Send(request);
    return client.ReadUntil("");
  }
};

std::string Body(const std::string& response) {
  size_t end = response.find("\r\n\r\n");
  return end == std::string::npos ? "" : response.substr(end + 4);
}

TEST_CASE_METHOD(ServerFixture,
                 "ping answers with Docker's headers, HEAD and GET on one connection") {
  Client client(path);
  client.Send("HEAD /_ping HTTP/1.1\r\nHost: api.moby.localhost\r\n\r\n");
  std::string head = client.ReadUntil("\r\n\r\n");
  CHECK(head.find("HTTP/1.1 200 OK\r\n") == 0);
  CHECK(head.find("Api-Version: 1.50\r\n") != std::string::npos);
  CHECK(head.find("Ostype: linux\r\n") != std::string::npos);
  CHECK(head.find("Docker-Experimental: false\r\n") != std::string::npos);
  CHECK(head.find("Server: berth/") != std::string::npos);
  CHECK(head.find("Cache-Control: no-cache, no-store, must-revalidate\r\n") != std::string::npos);
  CHECK(head.find("Pragma: no-cache\r\n") != std::string::npos);
  CHECK(Body(head).empty());
  client.Take();
  client.Send("GET /_ping HTTP/1.1\r\nHost: x\r\n\r\n");
  std::string get = client.ReadUntil("\r\n\r\nOK");
  CHECK(get.find("Content-Type: text/plain; charset=utf-8\r\n") != std::string::npos);
  CHECK(Body(get) == "OK");
}

TEST_CASE_METHOD(ServerFixture, "error responses carry JSON bodies") {
  std::string missing =
      Roundtrip("GET /v1.41/containers/nope/json HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
  CHECK(missing.find("HTTP/1.1 404 Not Found\r\n") == 0);
  CHECK(missing.find("Content-Type: application/json\r\n") != std::string::npos);
  CHECK(Body(missing) == "{\"message\":\"No such container: nope\"}\n");

  containers.Add(kId, "web", "exited");
  std::string conflict =
      Roundtrip("POST /containers/web/kill HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
  CHECK(conflict.find("HTTP/1.1 409 Conflict\r\n") == 0);
  CHECK(Body(conflict) == "{\"message\":\"Container " + kId + " is not running\"}\n");

  std::string too_new =
      Roundtrip("GET /v1.99/version HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
  CHECK(too_new.find("HTTP/1.1 400 Bad Request\r\n") == 0);

  std::string malformed = Roundtrip(
      "POST /containers/create HTTP/1.1\r\nHost: x\r\nConnection: close\r\n"
      "Content-Type: application/json\r\nContent-Length: 5\r\n\r\n{oops");
  CHECK(malformed.find("HTTP/1.1 400 ") == 0);
  CHECK(Body(malformed) == "{\"message\":\"invalid JSON: malformed input\"}\n");

  containers.down = absl::UnavailableError("runtimed is unavailable: connection refused");
  std::string down =
      Roundtrip("GET /containers/json HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
  CHECK(down.find("HTTP/1.1 503 Service Unavailable\r\n") == 0);
  CHECK(Body(down) == "{\"message\":\"runtimed is unavailable: connection refused\"}\n");
}

TEST_CASE_METHOD(ServerFixture, "a hijacked attach relays stdin until the client half-closes") {
  containers.Add(kId, "web", "running", R"({"OpenStdin":true})");
  Client client(path);
  client.Send(
      "POST /v1.50/containers/web/attach?stderr=1&stdin=1&stdout=1&stream=1 HTTP/1.1\r\n"
      "Host: x\r\nConnection: Upgrade\r\nUpgrade: tcp\r\nContent-Type: text/plain\r\n"
      "Content-Length: 0\r\n\r\n");
  std::string head = client.ReadUntil("\r\n\r\n");
  INFO(head);
  CHECK(head.find("HTTP/1.1 101 UPGRADED\r\n") == 0);
  CHECK(head.find("Content-Type: application/vnd.docker.multiplexed-stream\r\n") !=
        std::string::npos);
  CHECK(head.find("Upgrade: tcp\r\n") != std::string::npos);
  CHECK(head.find("Connection: Upgrade\r\n") != std::string::npos);
  client.Take();
  client.Send("stdin-data\n");
  std::string echoed = client.ReadUntil("stdin-data\n");
  CHECK(echoed == MuxFrame(StreamId::kStdout, "stdin-data\n"));
  client.CloseWrite();
  // Closing stdin ends `cat`, whose stream end closes the connection.
  client.ReadUntil("");
  REQUIRE(containers.attach_session != nullptr);
  CHECK(containers.attach_session->stdin_closed);
}

TEST_CASE_METHOD(ServerFixture, "wait flushes its headers before the container exits") {
  containers.Add(kId, "web", "created");
  Client client(path);
  client.Send("POST /containers/web/wait?condition=removed HTTP/1.1\r\nHost: x\r\n\r\n");
  rt::WaitContainerResponse registered;
  registered.mutable_registered();
  containers.wait_stream->Push(registered);
  std::string head = client.ReadUntil("\r\n\r\n");
  CHECK(head.find("HTTP/1.1 200 OK\r\n") == 0);
  CHECK(head.find("Transfer-Encoding: chunked\r\n") != std::string::npos);
  CHECK(Body(head).empty());
  rt::WaitContainerResponse result;
  result.mutable_result()->set_exit_code(0);
  containers.wait_stream->Push(result);
  std::string rest = client.ReadUntil("0\r\n\r\n");
  CHECK(rest.find("{\"Error\":null,\"StatusCode\":0}\n") != std::string::npos);
}

TEST_CASE_METHOD(ServerFixture, "a client that drops its wait cancels the backend call") {
  containers.Add(kId, "web", "running");
  {
    Client client(path);
    client.Send("POST /containers/web/wait?condition=next-exit HTTP/1.1\r\nHost: x\r\n\r\n");
    rt::WaitContainerResponse registered;
    registered.mutable_registered();
    containers.wait_stream->Push(registered);
    client.ReadUntil("\r\n\r\n");
  }
  for (int i = 0; i < 400 && !containers.wait_stream->cancelled(); ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  CHECK(containers.wait_stream->cancelled());
}

TEST_CASE_METHOD(ServerFixture, "a chunked upload reaches load and the reply is a JSON stream") {
  image::v1::Progress loaded;
  loaded.set_stream("Loaded image: busybox:latest\n");
  images.load_progress = {loaded};
  std::string response = Roundtrip(
      "POST /images/load?quiet=1 HTTP/1.1\r\nHost: x\r\nConnection: close\r\n"
      "Content-Type: application/x-tar\r\nTransfer-Encoding: chunked\r\n\r\n"
      "5\r\nhello\r\n6\r\n world\r\n0\r\n\r\n");
  CHECK(response.find("HTTP/1.1 200 OK\r\n") == 0);
  CHECK(response.find("Content-Type: application/json\r\n") != std::string::npos);
  CHECK(response.find("{\"stream\":\"Loaded image: busybox:latest\\n\"}\r\n") != std::string::npos);
  CHECK(images.loaded == "hello world");
}

TEST_CASE_METHOD(ServerFixture, "a Content-Length body is read and the connection kept alive") {
  image::v1::Image busybox;
  busybox.set_id("sha256:" + std::string(64, 'd'));
  images.images["busybox"] = busybox;
  std::string body = R"({"Image":"busybox","Cmd":["true"],"HostConfig":{"AutoRemove":true}})";
  Client client(path);
  client.Send(
      "POST /v1.41/containers/create?name=c1 HTTP/1.1\r\nHost: x\r\n"
      "Content-Type: application/json\r\nContent-Length: " +
      std::to_string(body.size()) + "\r\n\r\n" + body);
  std::string created = client.ReadUntil("]}\n");
  CHECK(created.find("HTTP/1.1 201 Created\r\n") == 0);
  CHECK(Body(created) == "{\"Id\":\"" + std::string(64, 'c') + "\",\"Warnings\":[]}\n");
  CHECK(containers.last_create.name() == "c1");
  client.Take();
  client.Send("GET /_ping HTTP/1.1\r\nHost: x\r\n\r\n");
  CHECK(Body(client.ReadUntil("\r\n\r\nOK")) == "OK");
}

// Moves fd to descriptor 3 (it may already be 3 when 3 was free).
void PlaceAtFd3(int fd) {
  REQUIRE(fd >= 0);
  if (fd == 3) return;
  REQUIRE(dup2(fd, 3) == 3);
  close(fd);
}

TEST_CASE("socket activation takes fd 3 only when meant for us and listening") {
  int saved = dup(3);
  // Not a socket at fd 3: refused even with the right environment.
  PlaceAtFd3(open("/dev/null", O_RDONLY));
  setenv("LISTEN_FDS", "1", 1);
  setenv("LISTEN_PID", std::to_string(getpid()).c_str(), 1);
  CHECK(InheritedListener() == -1);

  int listener = socket(AF_UNIX, SOCK_STREAM, 0);
  sockaddr_un autobind{};
  autobind.sun_family = AF_UNIX;
  // Binding only the family picks a free abstract address.
  REQUIRE(bind(listener, reinterpret_cast<sockaddr*>(&autobind), sizeof(sa_family_t)) == 0);
  REQUIRE(listen(listener, 1) == 0);
  PlaceAtFd3(listener);
  setenv("LISTEN_FDS", "1", 1);
  setenv("LISTEN_PID", "1", 1);
  CHECK(InheritedListener() == -1);
  CHECK(getenv("LISTEN_FDS") == nullptr);
  setenv("LISTEN_FDS", "1", 1);
  setenv("LISTEN_PID", std::to_string(getpid()).c_str(), 1);
  CHECK(InheritedListener() == 3);
  CHECK(InheritedListener() == -1);
  if (saved >= 0) {
    dup2(saved, 3);
    close(saved);
  } else {
    close(3);
  }
}

TEST_CASE("--host takes unix:// paths") {
  CHECK(*UnixPathFromHost("unix:///run/berth/docker.sock") == "/run/berth/docker.sock");
  CHECK(!UnixPathFromHost("tcp://0.0.0.0:2375").ok());
  CHECK(!UnixPathFromHost("unix://").ok());
}

}  // namespace
}  // namespace berth::apiserver
