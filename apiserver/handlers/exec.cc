#include "apiserver/handlers/exec.h"

#include <atomic>
#include <optional>
#include <thread>

#include "absl/strings/str_cat.h"
#include "apiserver/framing.h"
#include "apiserver/handlers/client_input.h"
#include "apiserver/handlers/container_events.h"
#include "apiserver/handlers/detach_keys.h"
#include "apiserver/handlers/util.h"
#include "common/log.h"
#include "common/status.h"

namespace berth::apiserver {

namespace rt = ::berth::runtime::v1;

namespace {

constexpr size_t kMaxExecBody = 1024 * 1024;

// Moby hijacks before it starts the process, so why it could not start
// reaches the client in the stream (and the exit code, 126 or 127, through
// exec inspect); only an unreachable runtimed stays an HTTP error.

// The runtime's own failures carry the OCI runtime's prefix; Docker's
// refusals (not running, already started) are said as they are.
std::string StartFailureText(const absl::Status& status) {
  if (absl::IsFailedPrecondition(status)) return std::string(status.message()) + "\r\n";
  return absl::StrCat("OCI runtime exec failed: exec failed: unable to start container process: ",
                      std::string(status.message()), ": unknown\r\n");
}

}  // namespace

void ExecHandlers::Register(Router& router) {
  auto bind = [this](absl::Status (ExecHandlers::*method)(Exchange&, const std::string&)) {
    return [this, method](Exchange& exchange, const std::string& name) {
      return (this->*method)(exchange, name);
    };
  };
  router.Add("POST", "/containers/{name}/exec", bind(&ExecHandlers::Create));
  router.Add("POST", "/exec/{name}/start", bind(&ExecHandlers::Start));
  router.Add("POST", "/exec/{name}/resize", bind(&ExecHandlers::Resize));
  router.Add("GET", "/exec/{name}/json", bind(&ExecHandlers::Inspect));
}

absl::Status ExecHandlers::Create(Exchange& exchange, const std::string& container) {
  ASSIGN_OR_RETURN(std::string body, exchange.ReadBody(kMaxExecBody));
  ASSIGN_OR_RETURN(Json config, ParseJson(body.empty() ? "{}" : body));
  if (!config.is_object()) {
    return absl::InvalidArgumentError("invalid JSON: the body must be a JSON object");
  }
  ASSIGN_OR_RETURN(std::string id, execs_->CreateExec(container, config.dump()));
  ReplyJson(exchange, 201, {{"Id", id}});
  return absl::OkStatus();
}

absl::Status ExecHandlers::Start(Exchange& exchange, const std::string& id) {
  const Request& request = exchange.request();
  ASSIGN_OR_RETURN(std::string body, exchange.ReadBody(kMaxExecBody));
  bool detach = false;
  uint32_t height = 0, width = 0;
  if (!body.empty()) {
    ASSIGN_OR_RETURN(Json options, ParseJson(body));
    if (options.is_object()) {
      detach = options.value("Detach", false);
      auto size = options.find("ConsoleSize");
      if (size != options.end() && size->is_array() && size->size() == 2 &&
          (*size)[0].is_number_unsigned() && (*size)[1].is_number_unsigned()) {
        height = (*size)[0].get<uint32_t>();
        width = (*size)[1].get<uint32_t>();
      }
    }
  }
  // Unknown IDs are a 404 before anything is hijacked.
  ASSIGN_OR_RETURN(rt::ExecInfo exec, execs_->InspectExec(id));
  rt::StartExecOptions options;
  options.set_id(exec.id());
  options.set_detach(detach);
  options.set_console_height(height);
  options.set_console_width(width);
  bool tty = exec.tty();
  bool upgrade = !request.Header("upgrade").empty();
  // As for attach, Moby watches an exec's input for the detach keys only
  // with a terminal; keys that do not parse fall back to the default.
  std::optional<DetachKeyFilter> detach_filter;
  if (tty && exec.open_stdin() && !detach) {
    absl::StatusOr<std::string> keys = ParseDetachKeys(exec.detach_keys());
    if (exec.detach_keys().empty() || !keys.ok()) keys = ParseDetachKeys(kDefaultDetachKeys);
    detach_filter.emplace(*std::move(keys));
  }
  // As Moby: the connection is taken over before the process starts, so
  // that its first output cannot reach a client still reading the response
  // head (docker-py reads the hijacked socket below its HTTP buffer, and
  // would lose bytes that arrived with the head). The InspectExec above
  // answered, so runtimed is there; a start failure goes into the stream.
  if (!detach &&
      !exchange.StartRaw(upgrade ? 101 : 200, StreamContentType(tty, request.api_version))) {
    return absl::OkStatus();
  }
  std::unique_ptr<AttachSession> session = execs_->StartExec(options);
  rt::AttachResponse event;
  bool started = session->Read(&event);
  absl::Status failure;
  if (!started) {
    failure = session->Finish();
    if (failure.ok()) failure = absl::InternalError("runtimed ended the exec before it started");
    if (detach) return failure;
  }
  if (detach) {
    session->CloseStdin();
    while (session->Read(&event)) {
    }
    session->Finish().IgnoreError();
    exchange.Reply(200, "", "");
    return absl::OkStatus();
  }

  auto write_output = [&](StreamId stream, const std::string& data) {
    if (tty) return exchange.WriteRaw(data);
    return exchange.WriteRaw(MuxFrame(stream, data));
  };
  if (!started) {
    // Moby's words, on the stream's stdout.
    write_output(StreamId::kStdout, StartFailureText(failure));
    exchange.CloseRaw();
    return absl::OkStatus();
  }

  std::atomic<bool> output_done{false};
  ClientInputOptions input_options;
  input_options.forward_stdin = exec.open_stdin();
  input_options.close_stdin_on_eof = true;
  input_options.on_detach = [&] {
    if (containers_ != nullptr) {
      RecordContainerEvent(containers_, exec.container_id(), "exec_detach",
                           {{"execID", exec.id()}});
    }
  };
  std::thread input([&] {
    PumpClientInput(exchange, *session, detach_filter ? &*detach_filter : nullptr, output_done,
                    input_options);
  });
  bool writable = true;
  while (session->Read(&event)) {
    if (event.has_ended()) {
      session->CloseStdin();
      continue;
    }
    if (!event.has_output() || !writable) continue;
    StreamId stream = event.output().stream() == rt::STDERR ? StreamId::kStderr : StreamId::kStdout;
    if (!write_output(stream, event.output().data())) {
      writable = false;
      session->Cancel();
    }
  }
  output_done = true;
  exchange.CloseRaw();
  input.join();
  absl::Status status = session->Finish();
  if (!status.ok() && writable) SPDLOG_INFO("exec {} ended: {}", exec.id(), status.ToString());
  return absl::OkStatus();
}

absl::Status ExecHandlers::Resize(Exchange& exchange, const std::string& id) {
  ASSIGN_OR_RETURN(std::optional<int64_t> height, IntParam(exchange, "h"));
  ASSIGN_OR_RETURN(std::optional<int64_t> width, IntParam(exchange, "w"));
  if (height.value_or(0) < 0 || width.value_or(0) < 0) {
    return absl::InvalidArgumentError("invalid resize: height and width must not be negative");
  }
  rt::ResizeExecRequest request;
  request.set_id(id);
  request.set_height(static_cast<uint32_t>(height.value_or(0)));
  request.set_width(static_cast<uint32_t>(width.value_or(0)));
  RETURN_IF_ERROR(execs_->ResizeExec(request));
  exchange.Reply(200, "", "");
  return absl::OkStatus();
}

absl::Status ExecHandlers::Inspect(Exchange& exchange, const std::string& id) {
  ASSIGN_OR_RETURN(rt::ExecInfo exec, execs_->InspectExec(id));
  ReplyJson(exchange, 200, RenderExecInspect(exec));
  return absl::OkStatus();
}

void ExecHandlers::AddExecIds(const rt::Container& container, Json& out) {
  if (container.state().status() != "running" && container.state().status() != "paused") return;
  absl::StatusOr<std::vector<std::string>> ids = execs_->ListExecs(container.id());
  if (!ids.ok() || ids->empty()) return;
  out["ExecIDs"] = *ids;
}

Json RenderExecInspect(const rt::ExecInfo& exec) {
  Json arguments = Json::array();
  for (const std::string& arg : exec.arguments()) arguments.push_back(arg);
  return {{"CanRemove", exec.can_remove()},
          {"ContainerID", exec.container_id()},
          {"DetachKeys", exec.detach_keys()},
          {"ExitCode", exec.has_exit_code() ? Json(exec.exit_code()) : Json(nullptr)},
          {"ID", exec.id()},
          {"OpenStderr", exec.open_stderr()},
          {"OpenStdin", exec.open_stdin()},
          {"OpenStdout", exec.open_stdout()},
          {"ProcessConfig",
           {{"arguments", arguments},
            {"entrypoint", exec.entrypoint()},
            {"privileged", exec.privileged()},
            {"tty", exec.tty()},
            {"user", exec.user()}}},
          {"Running", exec.running()},
          {"Pid", exec.pid()}};
}

}  // namespace berth::apiserver
