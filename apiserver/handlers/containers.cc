#include "apiserver/handlers/containers.h"

#include <algorithm>
#include <atomic>
#include <regex>
#include <set>
#include <thread>

#include "absl/strings/str_cat.h"
#include "apiserver/filters.h"
#include "apiserver/framing.h"
#include "apiserver/handlers/client_input.h"
#include "apiserver/handlers/container_events.h"
#include "apiserver/handlers/detach_keys.h"
#include "apiserver/handlers/util.h"
#include "apiserver/handlers/volumes.h"
#include "apiserver/render.h"
#include "apiserver/timefmt.h"
#include "common/log.h"
#include "common/status.h"

namespace berth::apiserver {

namespace rt = ::berth::runtime::v1;

namespace {

constexpr size_t kMaxCreateBody = 8 * 1024 * 1024;

const std::set<std::string>& KnownStates() {
  static const auto* states = new std::set<std::string>{
      "created", "restarting", "running", "removing", "paused", "exited", "dead"};
  return *states;
}

// Moby's filters.Match: the value is an unanchored regular expression.
bool RegexMatch(const std::string& pattern, const std::string& text) {
  try {
    return std::regex_search(text, std::regex(pattern));
  } catch (const std::regex_error&) {
    return false;
  }
}

const rt::Container* FindByNameOrId(const std::vector<rt::Container>& all, const std::string& ref) {
  for (const rt::Container& c : all) {
    if (c.name() == ref || c.name() == ref.substr(ref[0] == '/' ? 1 : 0) || c.id() == ref) {
      return &c;
    }
  }
  for (const rt::Container& c : all) {
    if (c.id().compare(0, ref.size(), ref) == 0) return &c;
  }
  return nullptr;
}

absl::Status NotRunning(const rt::Container& container) {
  return absl::FailedPreconditionError(
      absl::StrCat("Container ", container.id(), " is not running"));
}

}  // namespace

bool ValidContainerName(const std::string& name) {
  static const std::regex kPattern("^/?[a-zA-Z0-9][a-zA-Z0-9_.-]+$");
  return std::regex_match(name, kPattern);
}

void ContainerHandlers::Register(Router& router) {
  auto bind = [this](absl::Status (ContainerHandlers::*method)(Exchange&, const std::string&)) {
    return
        [this, method](Exchange& e, const std::string& name) { return (this->*method)(e, name); };
  };
  router.Add("POST", "/containers/create",
             [this](Exchange& e, const std::string&) { return Create(e); });
  router.Add("GET", "/containers/json",
             [this](Exchange& e, const std::string&) { return List(e); });
  router.Add("GET", "/containers/{name}/json", bind(&ContainerHandlers::Inspect));
  router.Add("POST", "/containers/{name}/start", bind(&ContainerHandlers::Start));
  router.Add("POST", "/containers/{name}/stop", bind(&ContainerHandlers::Stop));
  router.Add("POST", "/containers/{name}/restart", bind(&ContainerHandlers::Restart));
  router.Add("POST", "/containers/{name}/kill", bind(&ContainerHandlers::Kill));
  router.Add("POST", "/containers/{name}/pause", bind(&ContainerHandlers::Pause));
  router.Add("POST", "/containers/{name}/rename", bind(&ContainerHandlers::Rename));
  router.Add("POST", "/containers/{name}/update", bind(&ContainerHandlers::Update));
  router.Add("POST", "/containers/{name}/unpause", bind(&ContainerHandlers::Unpause));
  router.Add("GET", "/containers/{name}/top", bind(&ContainerHandlers::Top));
  router.Add("DELETE", "/containers/{name}", bind(&ContainerHandlers::Remove));
  router.Add("POST", "/containers/{name}/wait", bind(&ContainerHandlers::Wait));
  router.Add("POST", "/containers/{name}/attach", bind(&ContainerHandlers::Attach));
  router.Add("GET", "/containers/{name}/logs", bind(&ContainerHandlers::Logs));
  router.Add("POST", "/containers/{name}/resize", bind(&ContainerHandlers::Resize));
}

absl::Status ContainerHandlers::Create(Exchange& exchange) {
  const Request& request = exchange.request();
  std::string name = request.query.Get("name");
  if (!name.empty() && !ValidContainerName(name)) {
    return absl::InvalidArgumentError(absl::StrCat(
        "Invalid container name (", name, "), only [a-zA-Z0-9][a-zA-Z0-9_.-] are allowed"));
  }
  if (!name.empty() && name[0] == '/') name = name.substr(1);
  ASSIGN_OR_RETURN(std::string body, exchange.ReadBody(kMaxCreateBody));
  if (body.empty()) {
    return absl::InvalidArgumentError("config cannot be empty in order to create a container");
  }
  ASSIGN_OR_RETURN(Json config, ParseJson(body));
  if (!config.is_object()) {
    return absl::InvalidArgumentError("invalid JSON: the body must be a JSON object");
  }
  Json host_config = Json::object(), networking_config = Json::object();
  if (auto it = config.find("HostConfig"); it != config.end()) {
    if (!it->is_null()) host_config = *it;
    config.erase(it);
  }
  if (auto it = config.find("NetworkingConfig"); it != config.end()) {
    if (!it->is_null()) networking_config = *it;
    config.erase(it);
  }
  if (!host_config.is_object() || !networking_config.is_object()) {
    return absl::InvalidArgumentError(
        "invalid JSON: HostConfig and NetworkingConfig must be objects");
  }
  auto image_it = config.find("Image");
  if (image_it == config.end() || !image_it->is_string() || image_it->get<std::string>().empty()) {
    return absl::InvalidArgumentError("no image specified: Config.Image is empty");
  }
  std::string image_ref = image_it->get<std::string>();
  absl::StatusOr<image::v1::GetImageResponse> image = images_->GetImage(image_ref);
  if (!image.ok()) {
    return NotFoundAs(image.status(), "No such image: " + WithDefaultTag(image_ref));
  }
  rt::CreateContainerRequest create;
  create.set_name(name);
  create.set_config_json(config.dump());
  create.set_host_config_json(host_config.dump());
  create.set_networking_config_json(networking_config.dump());
  *create.mutable_image() = image->spec();
  if (create.image().reference().empty()) create.mutable_image()->set_reference(image_ref);
  ASSIGN_OR_RETURN(rt::CreateContainerResponse created, containers_->CreateContainer(create));
  Json warnings = Json::array();
  for (const std::string& w : created.warnings()) warnings.push_back(w);
  ReplyJson(exchange, 201, {{"Id", created.id()}, {"Warnings", warnings}});
  return absl::OkStatus();
}

absl::Status ContainerHandlers::List(Exchange& exchange) {
  const Query& query = exchange.request().query;
  ASSIGN_OR_RETURN(Filters filters, Filters::Parse(query.Get("filters")));
  RETURN_IF_ERROR(filters.Validate({"ancestor", "before", "expose", "exited", "health", "id",
                                    "isolation", "is-task", "label", "name", "network", "publish",
                                    "since", "status", "volume"}));
  for (const std::string& status : filters.Get("status")) {
    if (KnownStates().count(status) == 0) {
      return absl::InvalidArgumentError(absl::StrCat("invalid filter 'status=", status, "'"));
    }
  }
  std::set<int> exited;
  for (const std::string& code : filters.Get("exited")) {
    int value = 0;
    if (!absl::SimpleAtoi(code, &value)) {
      return absl::InvalidArgumentError(absl::StrCat("invalid filter 'exited=", code, "'"));
    }
    exited.insert(value);
  }
  ASSIGN_OR_RETURN(std::optional<int64_t> limit, IntParam(exchange, "limit"));
  bool all = query.GetBool("all") || (limit && *limit > 0) || filters.Has("status") ||
             filters.Has("exited");
  bool with_size = query.GetBool("size");

  ASSIGN_OR_RETURN(std::vector<rt::Container> containers, containers_->ListContainers(true));
  std::sort(
      containers.begin(), containers.end(),
      [](const rt::Container& a, const rt::Container& b) { return a.created() > b.created(); });

  // ancestor=<image>: containers made from that image, by name or resolved ID.
  std::set<std::string> ancestor_ids;
  for (const std::string& ref : filters.Get("ancestor")) {
    absl::StatusOr<image::v1::GetImageResponse> image = images_->GetImage(ref);
    if (image.ok()) ancestor_ids.insert(image->image().id());
  }
  int64_t before = INT64_MAX, since = INT64_MIN;
  for (const std::string& ref : filters.Get("before")) {
    const rt::Container* c = FindByNameOrId(containers, ref);
    if (c == nullptr) return absl::NotFoundError("No such container: " + ref);
    before = std::min(before, c->created());
  }
  for (const std::string& ref : filters.Get("since")) {
    const rt::Container* c = FindByNameOrId(containers, ref);
    if (c == nullptr) return absl::NotFoundError("No such container: " + ref);
    since = std::max(since, c->created());
  }

  int64_t now = NowNanos();
  Json out = Json::array();
  for (const rt::Container& c : containers) {
    const std::string& status = c.state().status();
    bool running = status == "running" || status == "paused" || status == "restarting";
    if (!all && !running) continue;
    if (c.created() >= before || c.created() <= since) continue;
    if (!filters.AnyOrAbsent("status", [&](const std::string& s) { return s == status; })) continue;
    if (!filters.AnyOrAbsent("id", [&](const std::string& v) { return RegexMatch(v, c.id()); })) {
      continue;
    }
    if (!filters.AnyOrAbsent("name",
                             [&](const std::string& v) { return RegexMatch(v, "/" + c.name()); })) {
      continue;
    }
    if (!filters.MatchLabels(ContainerLabels(c))) continue;
    if (!exited.empty() &&
        (running || c.state().started_at() == 0 || exited.count(c.state().exit_code()) == 0)) {
      continue;
    }
    if (!filters.AnyOrAbsent("ancestor", [&](const std::string& v) {
          return c.image() == v || ancestor_ids.count(c.image_id()) > 0;
        })) {
      continue;
    }
    Json summary = RenderContainerSummary(c, with_size, now);
    summary["Mounts"] = RenderMounts(c, volumes_dir_);
    if (with_size && size_filler_) size_filler_(c, summary);
    out.push_back(std::move(summary));
    if (limit && *limit > 0 && static_cast<int64_t>(out.size()) >= *limit) break;
  }
  ReplyJson(exchange, 200, out);
  return absl::OkStatus();
}

absl::Status ContainerHandlers::Inspect(Exchange& exchange, const std::string& name) {
  ASSIGN_OR_RETURN(rt::Container container, containers_->GetContainer(name));
  Json out = RenderContainerInspect(container);
  out["Mounts"] = RenderMounts(container, volumes_dir_);
  if (exchange.request().query.GetBool("size") && size_filler_) size_filler_(container, out);
  if (exec_ids_filler_) exec_ids_filler_(container, out);
  ReplyJson(exchange, 200, out);
  return absl::OkStatus();
}

absl::Status ContainerHandlers::Start(Exchange& exchange, const std::string& name) {
  ASSIGN_OR_RETURN(rt::Container container, containers_->GetContainer(name));
  if (container.state().status() == "running") {
    exchange.Reply(304, "", "");
    return absl::OkStatus();
  }
  RETURN_IF_ERROR(containers_->StartContainer(container.id()));
  exchange.Reply(204, "", "");
  return absl::OkStatus();
}

absl::Status ContainerHandlers::Stop(Exchange& exchange, const std::string& name) {
  ASSIGN_OR_RETURN(std::optional<int64_t> timeout, IntParam(exchange, "t"));
  rt::StopContainerRequest request;
  request.set_id(name);
  if (timeout) request.set_timeout(static_cast<int32_t>(*timeout));
  request.set_signal(exchange.request().query.Get("signal"));
  ASSIGN_OR_RETURN(rt::StopContainerResponse response, containers_->StopContainer(request));
  exchange.Reply(response.already_stopped() ? 304 : 204, "", "");
  return absl::OkStatus();
}

absl::Status ContainerHandlers::Restart(Exchange& exchange, const std::string& name) {
  ASSIGN_OR_RETURN(std::optional<int64_t> timeout, IntParam(exchange, "t"));
  rt::RestartContainerRequest request;
  request.set_id(name);
  if (timeout) request.set_timeout(static_cast<int32_t>(*timeout));
  request.set_signal(exchange.request().query.Get("signal"));
  RETURN_IF_ERROR(containers_->RestartContainer(request));
  exchange.Reply(204, "", "");
  return absl::OkStatus();
}

absl::StatusOr<rt::Container> ContainerHandlers::RunningContainer(const std::string& name) {
  ASSIGN_OR_RETURN(rt::Container container, containers_->GetContainer(name));
  const std::string& status = container.state().status();
  if (status != "running" && status != "paused" && status != "restarting") {
    return NotRunning(container);
  }
  return container;
}

absl::Status ContainerHandlers::Kill(Exchange& exchange, const std::string& name) {
  ASSIGN_OR_RETURN(rt::Container container, RunningContainer(name));
  rt::KillContainerRequest request;
  request.set_id(container.id());
  request.set_signal(exchange.request().query.Get("signal"));
  RETURN_IF_ERROR(containers_->KillContainer(request));
  exchange.Reply(204, "", "");
  return absl::OkStatus();
}

absl::Status ContainerHandlers::Rename(Exchange& exchange, const std::string& name) {
  rt::RenameContainerRequest request;
  request.set_id(name);
  request.set_name(exchange.request().query.Get("name"));
  RETURN_IF_ERROR(containers_->RenameContainer(request));
  exchange.Reply(204, "", "");
  return absl::OkStatus();
}

absl::Status ContainerHandlers::Pause(Exchange& exchange, const std::string& name) {
  RETURN_IF_ERROR(containers_->PauseContainer(name));
  exchange.Reply(204, "", "");
  return absl::OkStatus();
}

absl::Status ContainerHandlers::Update(Exchange& exchange, const std::string& name) {
  ASSIGN_OR_RETURN(std::string body, exchange.ReadBody(kMaxCreateBody));
  if (!body.empty()) RETURN_IF_ERROR(ParseJson(body).status());
  rt::UpdateContainerRequest request;
  request.set_id(name);
  request.set_update_json(body.empty() ? "{}" : body);
  ASSIGN_OR_RETURN(rt::UpdateContainerResponse response, containers_->UpdateContainer(request));
  Json warnings = Json::array();
  for (const std::string& warning : response.warnings()) warnings.push_back(warning);
  exchange.Reply(200, "application/json", Json{{"Warnings", warnings}}.dump());
  return absl::OkStatus();
}

absl::Status ContainerHandlers::Unpause(Exchange& exchange, const std::string& name) {
  RETURN_IF_ERROR(containers_->UnpauseContainer(name));
  exchange.Reply(204, "", "");
  return absl::OkStatus();
}

absl::Status ContainerHandlers::Top(Exchange& exchange, const std::string& name) {
  rt::TopContainerRequest request;
  request.set_id(name);
  request.set_ps_args(exchange.request().query.Get("ps_args"));
  ASSIGN_OR_RETURN(rt::TopContainerResponse top, containers_->TopContainer(request));
  Json processes = Json::array();
  for (const auto& process : top.processes()) {
    processes.push_back(
        Json(std::vector<std::string>(process.fields().begin(), process.fields().end())));
  }
  ReplyJson(exchange, 200,
            {{"Titles", std::vector<std::string>(top.titles().begin(), top.titles().end())},
             {"Processes", processes}});
  return absl::OkStatus();
}

absl::Status ContainerHandlers::Remove(Exchange& exchange, const std::string& name) {
  rt::RemoveContainerRequest request;
  request.set_id(name);
  request.set_force(exchange.request().query.GetBool("force"));
  request.set_remove_volumes(exchange.request().query.GetBool("v"));
  RETURN_IF_ERROR(containers_->RemoveContainer(request));
  exchange.Reply(204, "", "");
  return absl::OkStatus();
}

absl::Status ContainerHandlers::Wait(Exchange& exchange, const std::string& name) {
  std::string condition = exchange.request().query.Get("condition");
  if (!condition.empty() && condition != "not-running" && condition != "next-exit" &&
      condition != "removed") {
    return absl::InvalidArgumentError(absl::StrCat("invalid condition: \"", condition, "\""));
  }
  rt::WaitContainerRequest request;
  request.set_id(name);
  request.set_condition(condition.empty() ? "not-running" : condition);
  std::unique_ptr<ReadStream<rt::WaitContainerResponse>> stream =
      containers_->WaitContainer(request);
  // `run -d` abandons its wait: cancel the call rather than wait for an exit
  // that may never come.
  std::atomic<bool> client_gone{false};
  auto watch = exchange.WatchDisconnect([&] {
    client_gone = true;
    stream->Cancel();
  });

  rt::WaitContainerResponse event;
  bool registered = false;
  while (stream->Read(&event)) {
    if (event.has_registered()) {
      if (!registered) {
        // The CLI starts the container only once these headers arrive.
        exchange.StartChunked(200, kJsonType);
        registered = true;
      }
      continue;
    }
    if (!event.has_result()) continue;
    if (!registered) {
      exchange.StartChunked(200, kJsonType);
      registered = true;
    }
    Json error = nullptr;
    if (!event.result().error().empty()) error = {{"Message", event.result().error()}};
    exchange.WriteChunk(Json{{"StatusCode", event.result().exit_code()}, {"Error", error}}.dump() +
                        "\n");
    exchange.EndChunked();
    stream->Cancel();
    stream->Finish().IgnoreError();
    return absl::OkStatus();
  }
  absl::Status status = stream->Finish();
  if (client_gone) return absl::OkStatus();
  if (status.ok()) status = absl::InternalError("runtimed ended the wait without a result");
  if (!registered) return status;
  exchange.WriteChunk(
      Json{{"StatusCode", -1}, {"Error", {{"Message", std::string(status.message())}}}}.dump() +
      "\n");
  exchange.EndChunked();
  return absl::OkStatus();
}

absl::Status ContainerHandlers::Attach(Exchange& exchange, const std::string& name) {
  const Request& request = exchange.request();
  ASSIGN_OR_RETURN(rt::Container container, containers_->GetContainer(name));
  bool tty = ContainerTty(container);
  rt::AttachOptions options;
  options.set_id(container.id());
  options.set_stdin(request.query.GetBool("stdin"));
  options.set_stdout(request.query.GetBool("stdout"));
  options.set_stderr(request.query.GetBool("stderr"));
  options.set_logs(request.query.GetBool("logs"));
  options.set_stream(request.query.GetBool("stream"));
  // Moby watches for the detach keys only with a terminal: without one the
  // bytes are the program's input.
  std::optional<DetachKeyFilter> detach_filter;
  if (tty && options.stdin()) {
    std::string keys = request.query.Get("detachKeys");
    ASSIGN_OR_RETURN(std::string bytes, ParseDetachKeys(keys.empty() ? kDefaultDetachKeys : keys));
    detach_filter.emplace(std::move(bytes));
  }
  std::unique_ptr<AttachSession> session = containers_->Attach(options);

  // Answer only once runtimed has the attach in place, so that the client's
  // start (sent after our answer) cannot lose the first bytes of output.
  rt::AttachResponse event;
  if (!session->Read(&event)) {
    absl::Status status = session->Finish();
    if (!status.ok()) return status;
    return absl::InternalError("runtimed ended the attach before it was in place");
  }
  // Output before `registered` is not expected, but it must not be lost.
  bool have_output = event.has_output();
  bool upgrade = !request.Header("upgrade").empty();
  if (!exchange.StartRaw(upgrade ? 101 : 200, StreamContentType(tty, request.api_version))) {
    session->Cancel();
    session->Finish().IgnoreError();
    return absl::OkStatus();
  }

  std::atomic<bool> output_done{false};
  ClientInputOptions input_options;
  input_options.forward_stdin = options.stdin();
  input_options.close_stdin_on_eof = options.stdin();
  input_options.on_detach = [&] { RecordContainerEvent(containers_, container.id(), "detach"); };
  std::thread input([&] {
    PumpClientInput(exchange, *session, detach_filter ? &*detach_filter : nullptr, output_done,
                    input_options);
  });

  auto write_output = [&](const rt::OutputChunk& chunk) {
    if (tty) return exchange.WriteRaw(chunk.data());
    StreamId id = chunk.stream() == rt::STDERR ? StreamId::kStderr : StreamId::kStdout;
    return exchange.WriteRaw(MuxFrame(id, chunk.data()));
  };
  bool writable = true;
  if (have_output) writable = write_output(event.output());
  while (session->Read(&event)) {
    if (event.has_ended()) {
      // The container's output is over; runtimed finishes the stream once our
      // side of it is closed too.
      session->CloseStdin();
      continue;
    }
    if (!event.has_output() || !writable) continue;
    if (!write_output(event.output())) {
      writable = false;
      session->Cancel();
    }
  }
  output_done = true;
  exchange.CloseRaw();
  input.join();
  absl::Status status = session->Finish();
  if (!status.ok() && writable) {
    SPDLOG_INFO("attach to {} ended: {}", container.id(), status.ToString());
  }
  return absl::OkStatus();
}

absl::Status ContainerHandlers::Logs(Exchange& exchange, const std::string& name) {
  const Query& query = exchange.request().query;
  rt::LogsRequest request;
  request.set_follow(query.GetBool("follow"));
  request.set_stdout(query.GetBool("stdout"));
  request.set_stderr(query.GetBool("stderr"));
  if (!request.stdout() && !request.stderr()) {
    return absl::InvalidArgumentError("Bad parameters: you must choose at least one stream");
  }
  ASSIGN_OR_RETURN(int64_t since, ParseUnixTimestamp(query.Get("since")));
  ASSIGN_OR_RETURN(int64_t until, ParseUnixTimestamp(query.Get("until")));
  request.set_since(since);
  request.set_until(until);
  int64_t tail = -1;
  std::string tail_text = query.Get("tail");
  if (!tail_text.empty() && tail_text != "all" &&
      (!absl::SimpleAtoi(tail_text, &tail) || tail < 0)) {
    // Moby shows everything for a tail it cannot read.
    tail = -1;
  }
  request.set_tail(tail);
  bool timestamps = query.GetBool("timestamps");

  ASSIGN_OR_RETURN(rt::Container container, containers_->GetContainer(name));
  // Refused before the stream starts, so that docker logs fails as with Moby.
  if (container.log_path().empty()) {
    return absl::UnimplementedError("configured logging driver does not support reading");
  }
  request.set_id(container.id());
  bool tty = ContainerTty(container);
  std::unique_ptr<ReadStream<rt::LogEntry>> stream = containers_->Logs(request);
  std::atomic<bool> client_gone{false};
  auto watch = exchange.WatchDisconnect([&] {
    client_gone = true;
    stream->Cancel();
  });
  exchange.StartChunked(200, StreamContentType(tty, exchange.request().api_version));
  rt::LogEntry entry;
  while (stream->Read(&entry)) {
    std::string payload;
    if (timestamps) payload = FormatRfc3339NanoFixed(entry.time_nano()) + " ";
    payload += entry.data();
    bool ok =
        tty ? exchange.WriteChunk(payload)
            : exchange.WriteChunk(MuxFrame(
                  entry.stream() == rt::STDERR ? StreamId::kStderr : StreamId::kStdout, payload));
    if (!ok) {
      client_gone = true;
      stream->Cancel();
    }
  }
  absl::Status status = stream->Finish();
  if (!status.ok() && !client_gone) {
    std::string text = absl::StrCat("Error grabbing logs: ", std::string(status.message()), "\n");
    exchange.WriteChunk(tty ? text : MuxFrame(StreamId::kStderr, text));
  }
  if (!client_gone) exchange.EndChunked();
  return absl::OkStatus();
}

absl::Status ContainerHandlers::Resize(Exchange& exchange, const std::string& name) {
  ASSIGN_OR_RETURN(std::optional<int64_t> height, IntParam(exchange, "h"));
  ASSIGN_OR_RETURN(std::optional<int64_t> width, IntParam(exchange, "w"));
  if (height.value_or(0) < 0 || width.value_or(0) < 0) {
    return absl::InvalidArgumentError("invalid resize: height and width must not be negative");
  }
  ASSIGN_OR_RETURN(rt::Container container, RunningContainer(name));
  rt::ResizeTtyRequest request;
  request.set_id(container.id());
  request.set_height(static_cast<uint32_t>(height.value_or(0)));
  request.set_width(static_cast<uint32_t>(width.value_or(0)));
  RETURN_IF_ERROR(containers_->ResizeTty(request));
  exchange.Reply(200, "", "");
  return absl::OkStatus();
}

}  // namespace berth::apiserver
