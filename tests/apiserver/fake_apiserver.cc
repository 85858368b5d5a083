// A manual smoke-test server: the real HTTP server and handlers over fake
// backends, so the real docker CLI can be pointed at it:
//   fake_apiserver /tmp/x.sock & DOCKER_HOST=unix:///tmp/x.sock docker ps -a
#include <csignal>
#include <iostream>

#include "apiserver/api.h"
#include "apiserver/http/server.h"
#include "tests/apiserver/fakes.h"

using namespace berth::apiserver;
using namespace berth::apiserver::testing;

namespace {

// Every wait is registered at once and completes with exit code 0 after a
// moment; logs replay two lines.
class SmokeContainers : public FakeContainers {
 public:
  std::unique_ptr<ReadStream<rt::WaitContainerResponse>> WaitContainer(
      const rt::WaitContainerRequest& request) override {
    auto c = Find(request.id());
    auto s = std::make_shared<QueueStream<rt::WaitContainerResponse>>();
    if (!c.ok()) {
      s->Close(c.status());
    } else {
      rt::WaitContainerResponse registered;
      registered.mutable_registered();
      s->Push(registered);
      if (request.condition() != "next-exit") {
        rt::WaitContainerResponse result;
        result.mutable_result()->set_exit_code(0);
        s->Push(result);
        s->Close();
      }
    }
    return std::make_unique<SharedStream<rt::WaitContainerResponse>>(s);
  }
  std::unique_ptr<ReadStream<rt::LogEntry>> Logs(const rt::LogsRequest& request) override {
    auto s = std::make_shared<QueueStream<rt::LogEntry>>();
    rt::LogEntry out;
    out.set_stream(rt::STDOUT);
    out.set_data("out1\n");
    out.set_time_nano(1700000000LL * 1000000000LL);
    s->Push(out);
    out.set_stream(rt::STDERR);
    out.set_data("err1\n");
    s->Push(out);
    s->Close();
    return std::make_unique<SharedStream<rt::LogEntry>>(s);
  }
};

}  // namespace

int main(int argc, char** argv) {
  if (argc != 2) {
    std::cerr << "usage: fake_apiserver <socket path>\n";
    return 2;
  }
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGTERM);
  sigaddset(&signals, SIGINT);
  sigaddset(&signals, SIGPIPE);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);

  SmokeContainers containers;
  FakeImages images;
  img::Image busybox;
  busybox.set_id("sha256:" + std::string(64, 'd'));
  busybox.add_repo_tags("busybox:latest");
  busybox.set_size(4400000);
  busybox.set_created(1700000000);
  busybox.set_config_json(
      R"({"architecture":"amd64","os":"linux","created":"2023-11-14T22:13:20Z",)"
      R"("config":{"Cmd":["sh"]},"history":[{"created":"2023-11-14T22:13:20Z","created_by":"ADD x"}]})");
  for (const char* ref : {"busybox", "busybox:latest", "docker.io/library/busybox:latest"}) {
    images.images[ref] = busybox;
  }
  auto& web = containers.Add(std::string(64, 'a'), "web", "running",
                             R"({"Image":"busybox","Cmd":["sleep","60"],"Labels":{"k":"v"}})");
  web.set_image("busybox");
  web.set_image_id(busybox.id());
  web.set_path("sleep");
  web.add_args("60");
  web.set_created((1700000000LL) * 1000000000LL);
  web.mutable_state()->set_started_at(1700000000LL * 1000000000LL);
  auto& old = containers.Add(std::string(64, 'b'), "old", "exited", R"({"Image":"busybox"})");
  old.set_image("busybox");
  old.set_path("true");
  old.mutable_state()->set_started_at(1700000000LL * 1000000000LL);
  old.mutable_state()->set_finished_at(1700000001LL * 1000000000LL);

  absl::StatusOr<int> fd = ListenUnix(argv[1], -1);
  if (!fd.ok()) {
    std::cerr << fd.status() << "\n";
    return 1;
  }
  Api api(&containers, &images, ProbeHost("/var/lib/berth"));
  HttpServer server(
      *fd, [&api](Exchange& e) { api.Handle(e); }, Api::DefaultHeaders());
  server.Start();
  int signal = 0;
  sigwait(&signals, &signal);
  server.Stop();
  return 0;
}
