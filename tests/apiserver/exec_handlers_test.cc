// The exec and stats endpoints over fake runtimed backends: Docker's statuses,
// the hijacked stream's framing, start failures in Moby's words, and the
// stats JSON with its precpu sample.
#include <catch2/catch.hpp>
#include <deque>

#include "apiserver/api.h"
#include "tests/apiserver/fakes.h"

namespace berth::apiserver {
namespace {

namespace rt = ::berth::runtime::v1;
using testing::FakeContainers;
using testing::FakeExchange;
using testing::FakeImages;

const std::string kExec(64, 'e');

class FakeSession : public AttachSession {
 public:
  FakeSession(std::deque<rt::AttachResponse> events, absl::Status finish)
      : events_(std::move(events)), finish_(std::move(finish)) {}
  bool Read(rt::AttachResponse* event) override {
    if (events_.empty()) return false;
    *event = events_.front();
    events_.pop_front();
    return true;
  }
  bool WriteStdin(const std::string&) override { return true; }
  bool CloseStdin() override { return true; }
  absl::Status Finish() override { return finish_; }
  void Cancel() override {}

 private:
  std::deque<rt::AttachResponse> events_;
  absl::Status finish_;
};

class FakeExecs : public ExecBackend, public StatsBackend {
 public:
  absl::StatusOr<std::string> CreateExec(const std::string& container,
                                         const std::string& config_json) override {
    if (!create_error.ok()) return create_error;
    created_for = container;
    created_config = config_json;
    return kExec;
  }
  std::unique_ptr<AttachSession> StartExec(const rt::StartExecOptions& options) override {
    started_detached = options.detach();
    console_size =
        std::to_string(options.console_height()) + "x" + std::to_string(options.console_width());
    return std::make_unique<FakeSession>(events, finish);
  }
  absl::StatusOr<rt::ExecInfo> InspectExec(const std::string& id) override {
    if (id != kExec) return absl::NotFoundError("No such exec instance: " + id);
    return info;
  }
  absl::Status ResizeExec(const rt::ResizeExecRequest& request) override {
    resized = request.height() * 1000 + request.width();
    return absl::OkStatus();
  }
  absl::StatusOr<std::vector<std::string>> ListExecs(const std::string&) override {
    return std::vector<std::string>{kExec};
  }
  absl::StatusOr<rt::ContainerStatsResponse> ContainerStats(const std::string&) override {
    rt::ContainerStatsResponse sample;
    sample.set_id(std::string(64, 'a'));
    sample.set_name("c1");
    sample.set_running(true);
    sample.set_read_time(1000000000LL * ++samples);
    sample.set_cpu_total(500 * samples);
    sample.set_system_cpu(10000 * samples);
    sample.set_online_cpus(2);
    sample.set_memory_usage(4096);
    sample.set_memory_limit(65536);
    sample.set_pids_current(3);
    auto* net = sample.add_networks();
    net->set_interface("eth0");
    net->set_rx_bytes(10);
    return sample;
  }

  absl::Status create_error;
  std::string created_for, created_config;
  rt::ExecInfo info;
  std::deque<rt::AttachResponse> events;
  absl::Status finish;
  bool started_detached = false;
  std::string console_size;
  int resized = 0;
  int samples = 0;
};

rt::AttachResponse Registered() {
  rt::AttachResponse event;
  event.mutable_registered();
  return event;
}

rt::AttachResponse Output(rt::StdStream stream, const std::string& data) {
  rt::AttachResponse event;
  event.mutable_output()->set_stream(stream);
  event.mutable_output()->set_data(data);
  return event;
}

struct Fixture {
  FakeContainers containers;
  FakeImages images;
  FakeExecs execs;
  Api api{&containers, &images, HostInfo{}};

  Fixture() {
    api.EnableExec(&execs);
    api.EnableStats(&execs);
    execs.info.set_id(kExec);
    execs.info.set_container_id(std::string(64, 'a'));
    execs.info.set_entrypoint("sh");
    execs.info.add_arguments("-c");
    execs.info.set_open_stdout(true);
  }

  std::unique_ptr<FakeExchange> Call(const std::string& method, const std::string& target,
                                     const std::string& body = "", bool upgrade = false) {
    auto exchange = std::make_unique<FakeExchange>(method, target, body);
    if (upgrade) exchange->mutable_request().headers["upgrade"] = "tcp";
    exchange->raw_in_eof = true;
    api.Handle(*exchange);
    return exchange;
  }
};

TEST_CASE_METHOD(Fixture, "exec create answers 201 with the ID, or Docker's refusal") {
  auto created = Call("POST", "/containers/c1/exec", R"({"Cmd":["ls"],"AttachStdout":true})");
  CHECK(created->status == 201);
  CHECK(Json::parse(created->body)["Id"] == kExec);
  CHECK(execs.created_for == "c1");
  CHECK(Json::parse(execs.created_config)["Cmd"] == Json({"ls"}));
  execs.create_error = absl::FailedPreconditionError("Container abc is not running");
  auto refused = Call("POST", "/containers/c1/exec", R"({"Cmd":["ls"]})");
  CHECK(refused->status == 409);
  CHECK(Json::parse(refused->body)["message"] == "Container abc is not running");
  CHECK(Call("POST", "/containers/c1/exec", "[1]")->status == 400);
}

TEST_CASE_METHOD(Fixture, "exec inspect renders Docker's ExecInspectResponse") {
  auto inspect = Call("GET", "/exec/" + kExec + "/json");
  REQUIRE(inspect->status == 200);
  Json body = Json::parse(inspect->body);
  CHECK(body["ID"] == kExec);
  CHECK(body["ExitCode"].is_null());
  CHECK(body["ProcessConfig"]["entrypoint"] == "sh");
  CHECK(body["ProcessConfig"]["arguments"] == Json({"-c"}));
  CHECK(body["OpenStdout"] == true);
  execs.info.set_exit_code(3);
  CHECK(Json::parse(Call("GET", "/exec/" + kExec + "/json")->body)["ExitCode"] == 3);
  auto unknown = Call("GET", "/exec/nope/json");
  CHECK(unknown->status == 404);
  CHECK(Json::parse(unknown->body)["message"] == "No such exec instance: nope");
  CHECK(Call("POST", "/exec/nope/start", R"({"Detach":false})", true)->status == 404);
  CHECK(Call("POST", "/exec/" + kExec + "/resize?h=24&w=80")->status == 200);
  CHECK(execs.resized == 24080);
}

TEST_CASE_METHOD(Fixture, "exec start hijacks: multiplexed without a tty, raw with one") {
  execs.events = {Registered(), Output(rt::STDOUT, "hi\n"), Output(rt::STDERR, "oops\n")};
  auto started = Call("POST", "/exec/" + kExec + "/start", R"({"Detach":false,"Tty":false})", true);
  CHECK(started->status == 101);
  CHECK(started->raw);
  CHECK(started->body == std::string("\x01\0\0\0\0\0\0\x03hi\n", 11) +
                             std::string("\x02\0\0\0\0\0\0\x05oops\n", 13));
  CHECK_FALSE(execs.started_detached);

  execs.info.set_tty(true);
  execs.events = {Registered(), Output(rt::STDOUT, "tty\r\n")};
  auto tty =
      Call("POST", "/exec/" + kExec + "/start", R"({"Tty":true,"ConsoleSize":[24,80]})", true);
  CHECK(tty->body == "tty\r\n");
  CHECK(execs.console_size == "24x80");
}

TEST_CASE_METHOD(Fixture, "a command that cannot start is reported in the stream, as Moby does") {
  execs.events = {};
  execs.finish = absl::NotFoundError("exec: \"nosuch\": executable file not found in $PATH");
  auto started = Call("POST", "/exec/" + kExec + "/start", R"({})", true);
  CHECK(started->status == 101);
  std::string text =
      "OCI runtime exec failed: exec failed: unable to start container process: exec: "
      "\"nosuch\": executable file not found in $PATH: unknown\r\n";
  REQUIRE(started->body.size() == 8 + text.size());
  CHECK(started->body.substr(8) == text);
  // Docker's refusals too, as they are: the connection is taken over before
  // the process starts (as Moby does), so every start failure is in-stream.
  execs.finish = absl::FailedPreconditionError("Container abc is not running");
  auto refused = Call("POST", "/exec/" + kExec + "/start", R"({})", true);
  CHECK(refused->status == 101);
  CHECK(refused->body.substr(8) == "Container abc is not running\r\n");
}

TEST_CASE_METHOD(Fixture, "detached exec start answers 200 at once") {
  execs.events = {Registered()};
  auto started = Call("POST", "/exec/" + kExec + "/start", R"({"Detach":true})");
  CHECK(started->status == 200);
  CHECK(started->body.empty());
  CHECK(execs.started_detached);
}

TEST_CASE_METHOD(Fixture, "stats: one shot, and two samples for --no-stream") {
  auto one = Call("GET", "/containers/c1/stats?stream=0&one-shot=1");
  REQUIRE(one->status == 200);
  Json body = Json::parse(one->body);
  CHECK(body["name"] == "/c1");
  CHECK(body["cpu_stats"]["cpu_usage"]["total_usage"] == 500);
  CHECK(body["precpu_stats"]["cpu_usage"]["total_usage"] == 0);
  CHECK(body["preread"] == "0001-01-01T00:00:00Z");
  CHECK(body["memory_stats"]["usage"] == 4096);
  CHECK(body["pids_stats"]["current"] == 3);
  CHECK(body["networks"]["eth0"]["rx_bytes"] == 10);

  auto two = Call("GET", "/containers/c1/stats?stream=0");
  body = Json::parse(two->body);
  CHECK(body["cpu_stats"]["cpu_usage"]["total_usage"] == 1500);
  CHECK(body["precpu_stats"]["cpu_usage"]["total_usage"] == 1000);
  CHECK(body["precpu_stats"]["system_cpu_usage"] == 20000);
}

}  // namespace
}  // namespace berth::apiserver
