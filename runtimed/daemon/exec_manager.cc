#include "runtimed/daemon/exec_manager.h"

#include <sys/socket.h>

#include <algorithm>
#include <thread>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "common/fs.h"
#include "common/ids.h"
#include "common/json.h"
#include "common/log.h"
#include "common/status.h"
#include "runtimed/daemon/rootfs.h"
#include "runtimed/daemon/user.h"

namespace berth::runtimed {
namespace {

constexpr size_t kMaxFinished = 1000;
// A client that reads slower than the process writes holds the reader (and
// so the process, through its pipe) back beyond this backlog.
constexpr size_t kMaxBacklog = 4 * 1024 * 1024;

std::string JsonString(const Json& json, const char* key) {
  auto it = json.find(key);
  return it != json.end() && it->is_string() ? it->get<std::string>() : "";
}

bool JsonBool(const Json& json, const char* key) {
  auto it = json.find(key);
  return it != json.end() && it->is_boolean() && it->get<bool>();
}

absl::StatusOr<std::vector<std::string>> JsonStrings(const Json& json, const char* key) {
  std::vector<std::string> result;
  auto it = json.find(key);
  if (it == json.end() || it->is_null()) return result;
  if (!it->is_array()) return absl::InvalidArgumentError(absl::StrCat(key, " must be a list"));
  for (const Json& item : *it) {
    if (!item.is_string()) {
      return absl::InvalidArgumentError(absl::StrCat(key, " must be a list of strings"));
    }
    result.push_back(item.get<std::string>());
  }
  return result;
}

// As Moby writes an exec into its event's action: "<entrypoint> <args...>"
// (with the space also when there are no arguments).
std::string ExecCommand(const runtime::v1::ExecInfo& info) {
  return info.entrypoint() + " " + absl::StrJoin(info.arguments(), " ");
}

std::string EnvKey(const std::string& entry) { return entry.substr(0, entry.find('=')); }

// Later entries win, keeping the first position of each key (Docker's
// ReplaceOrAppendEnvValues).
void MergeEnv(std::vector<std::string>* env, const std::vector<std::string>& overrides) {
  for (const std::string& entry : overrides) {
    bool replaced = false;
    for (std::string& existing : *env) {
      if (EnvKey(existing) == EnvKey(entry)) {
        existing = entry;
        replaced = true;
      }
    }
    if (!replaced) env->push_back(entry);
  }
}

}  // namespace

// ---------------------------------------------------------------------------
// ShimExecShim

absl::StatusOr<std::unique_ptr<runtime::ShimExecution>> ShimExecShim::Exec(
    const std::string& socket_path, const std::string& exec_id, const std::string& process_json,
    bool stdin, uint32_t height, uint32_t width) {
  return runtime::ShimClient(socket_path).Exec(exec_id, process_json, stdin, height, width);
}

absl::Status ShimExecShim::Resize(const std::string& socket_path, const std::string& exec_id,
                                  uint32_t height, uint32_t width) {
  return runtime::ShimClient(socket_path).ResizeExec(exec_id, height, width);
}

// ---------------------------------------------------------------------------
// ExecSession

std::optional<shim::v1::Output> ExecSession::Read() {
  std::unique_lock<std::mutex> lock(mu_);
  cv_.wait(lock, [&] { return !queue_.empty() || ended_ || cancelled_; });
  if (cancelled_ || queue_.empty()) return std::nullopt;
  shim::v1::Output output = std::move(queue_.front());
  queue_.pop_front();
  queued_bytes_ -= output.data().size();
  cv_.notify_all();
  return output;
}

absl::Status ExecSession::WriteStdin(const std::string& data) {
  std::lock_guard<std::mutex> lock(mu_);
  if (execution_ == nullptr || !stdin_open_ || ended_) return absl::OkStatus();
  return execution_->WriteStdin(data);
}

absl::Status ExecSession::CloseStdin() {
  std::lock_guard<std::mutex> lock(mu_);
  if (execution_ == nullptr || !stdin_open_ || ended_) return absl::OkStatus();
  stdin_open_ = false;
  return execution_->CloseStdin();
}

void ExecSession::Cancel() {
  std::lock_guard<std::mutex> lock(mu_);
  cancelled_ = true;
  queue_.clear();
  queued_bytes_ = 0;
  cv_.notify_all();
}

void ExecSession::Push(shim::v1::Output output) {
  std::unique_lock<std::mutex> lock(mu_);
  cv_.wait(lock, [&] { return queued_bytes_ < kMaxBacklog || cancelled_; });
  if (cancelled_) return;
  queued_bytes_ += output.data().size();
  queue_.push_back(std::move(output));
  cv_.notify_all();
}

void ExecSession::End() {
  std::lock_guard<std::mutex> lock(mu_);
  ended_ = true;
  execution_ = nullptr;
  cv_.notify_all();
}

// ---------------------------------------------------------------------------
// ExecManager

ExecManager::~ExecManager() {
  std::unique_lock<std::mutex> lock(mu_);
  stopping_ = true;
  for (auto& [id, fd] : following_) shutdown(fd, SHUT_RDWR);
  cv_.wait(lock, [&] { return following_.empty() && publishing_ == 0; });
}

absl::StatusOr<std::string> ExecManager::Create(const std::string& container_ref,
                                                const std::string& config_json) {
  ASSIGN_OR_RETURN(ExecTarget target, containers_->Find(container_ref));
  if (target.status == "paused") {
    return absl::FailedPreconditionError(
        absl::StrCat("Container ", target.id, " is paused, unpause the container before exec"));
  }
  if (target.status != "running") {
    return absl::FailedPreconditionError(absl::StrCat("Container ", target.id, " is not running"));
  }
  absl::StatusOr<Json> parsed = ParseJson(config_json.empty() ? "{}" : config_json);
  if (!parsed.ok() || !parsed->is_object()) {
    return absl::InvalidArgumentError("invalid exec config: " +
                                      std::string(parsed.status().message()));
  }
  const Json& config = *parsed;
  ASSIGN_OR_RETURN(std::vector<std::string> cmd, JsonStrings(config, "Cmd"));
  if (cmd.empty()) return absl::InvalidArgumentError("No exec command specified");
  ASSIGN_OR_RETURN(std::vector<std::string> env, JsonStrings(config, "Env"));
  for (const std::string& entry : env) {
    if (entry.empty() || entry[0] == '=') {
      return absl::InvalidArgumentError("invalid environment variable: " + entry);
    }
  }
  std::string working_dir = JsonString(config, "WorkingDir");
  if (!working_dir.empty() && working_dir[0] != '/') {
    return absl::InvalidArgumentError(absl::StrCat("the working directory '", working_dir,
                                                   "' is invalid, it needs to be an "
                                                   "absolute path"));
  }

  Record record;
  runtime::v1::ExecInfo& info = record.info;
  info.set_id(GenerateId());
  info.set_container_id(target.id);
  info.set_open_stdin(JsonBool(config, "AttachStdin"));
  info.set_open_stdout(JsonBool(config, "AttachStdout"));
  info.set_open_stderr(JsonBool(config, "AttachStderr"));
  info.set_tty(JsonBool(config, "Tty"));
  info.set_entrypoint(cmd[0]);
  for (size_t i = 1; i < cmd.size(); ++i) info.add_arguments(cmd[i]);
  info.set_user(JsonString(config, "User"));
  info.set_privileged(JsonBool(config, "Privileged"));
  info.set_working_dir(working_dir);
  info.set_detach_keys(JsonString(config, "DetachKeys"));
  record.env = std::move(env);
  if (auto size = config.find("ConsoleSize");
      size != config.end() && size->is_array() && size->size() == 2 &&
      (*size)[0].is_number_unsigned() && (*size)[1].is_number_unsigned()) {
    record.console_height = (*size)[0].get<uint32_t>();
    record.console_width = (*size)[1].get<uint32_t>();
  }
  record.socket_path = target.socket_path;

  const std::string id = info.id();
  const std::string command = ExecCommand(info);
  {
    std::lock_guard<std::mutex> lock(mu_);
    record.sequence = next_sequence_++;
    execs_[id] = std::move(record);
    PruneLocked();
  }
  Publish(target.id, "exec_create: " + command, {{"execID", id}});
  return id;
}

void ExecManager::Publish(const std::string& container_id, const std::string& action,
                          std::map<std::string, std::string> attributes) {
  if (events_ != nullptr) events_->Publish(container_id, action, std::move(attributes));
}

absl::StatusOr<ExecManager::Record*> ExecManager::FindLocked(const std::string& id) {
  auto it = execs_.find(id);
  if (it == execs_.end()) return absl::NotFoundError("No such exec instance: " + id);
  return &it->second;
}

absl::StatusOr<std::string> ExecManager::BuildProcess(const std::string& config_json,
                                                      const runtime::v1::ExecInfo& exec,
                                                      const std::vector<std::string>& env,
                                                      const std::string& rootfs) {
  ASSIGN_OR_RETURN(Json config, ParseJson(config_json));
  if (!config.is_object() || !config.contains("process") || !config["process"].is_object()) {
    return absl::InternalError("the container's config.json has no process");
  }
  Json process = config["process"];
  std::vector<std::string> args = {exec.entrypoint()};
  args.insert(args.end(), exec.arguments().begin(), exec.arguments().end());
  process["args"] = args;
  process["terminal"] = exec.tty();
  if (!exec.working_dir().empty()) process["cwd"] = exec.working_dir();
  std::vector<std::string> merged;
  if (process.contains("env") && process["env"].is_array()) {
    for (const Json& entry : process["env"]) {
      if (entry.is_string()) merged.push_back(entry.get<std::string>());
    }
  }
  if (!exec.user().empty()) {
    ASSIGN_OR_RETURN(std::optional<std::string> passwd, ReadFileInRoot(rootfs, "/etc/passwd"));
    ASSIGN_OR_RETURN(std::optional<std::string> group, ReadFileInRoot(rootfs, "/etc/group"));
    ASSIGN_OR_RETURN(ResolvedUser user, ResolveUser(exec.user(), passwd, group));
    Json& out = process["user"];
    if (!out.is_object()) out = Json::object();
    out["uid"] = user.uid;
    out["gid"] = user.gid;
    out["additionalGids"] = user.additional_gids;
    // HOME follows the user, unless the exec sets it.
    MergeEnv(&merged, {"HOME=" + user.home});
  }
  MergeEnv(&merged, env);
  process["env"] = merged;
  // Privileged: no capability is dropped (the shim's own set).
  if (exec.privileged()) process.erase("capabilities");
  return process.dump();
}

absl::StatusOr<std::shared_ptr<ExecSession>> ExecManager::Start(const std::string& id, bool detach,
                                                                uint32_t height, uint32_t width) {
  runtime::v1::ExecInfo info;
  std::vector<std::string> env;
  std::string socket_path;
  {
    std::lock_guard<std::mutex> lock(mu_);
    ASSIGN_OR_RETURN(Record * record, FindLocked(id));
    if (record->info.running()) {
      return absl::FailedPreconditionError(
          absl::StrCat("Error: Exec command ", id, " is already running"));
    }
    if (record->info.has_exit_code()) {
      return absl::FailedPreconditionError(
          absl::StrCat("Error: Exec command ", id, " has already run"));
    }
    // Claimed now, so that a second start fails.
    record->info.set_running(true);
    info = record->info;
    env = record->env;
    socket_path = record->socket_path;
    if (height == 0 || width == 0) {
      height = record->console_height;
      width = record->console_width;
    }
  }
  // exit_code < 0: unknown.
  auto fail = [&](const absl::Status& status, int exit_code) {
    std::lock_guard<std::mutex> lock(mu_);
    auto it = execs_.find(id);
    if (it != execs_.end()) {
      it->second.info.set_running(false);
      if (exit_code >= 0) it->second.info.set_exit_code(exit_code);
    }
    return status;
  };
  absl::StatusOr<ExecTarget> target = containers_->Find(info.container_id());
  if (!target.ok()) return fail(target.status(), 126);
  if (target->status != "running") {
    return fail(absl::FailedPreconditionError(
                    absl::StrCat("Container ", info.container_id(), " is not running")),
                126);
  }
  absl::StatusOr<std::string> config = ReadFile(target->bundle_dir + "/config.json");
  if (!config.ok()) return fail(config.status(), 126);
  absl::StatusOr<std::string> process = BuildProcess(*config, info, env, target->rootfs);
  if (!process.ok()) return fail(process.status(), 126);
  bool stdin = info.open_stdin() && !detach;
  // Moby publishes it as it asks the runtime, before knowing the outcome.
  Publish(info.container_id(), "exec_start: " + ExecCommand(info), {{"execID", id}});
  absl::StatusOr<std::unique_ptr<runtime::ShimExecution>> execution =
      shim_->Exec(target->socket_path, id, *process, stdin, height, width);
  if (!execution.ok()) {
    // Docker's exit codes for a command that could not run, chosen as Moby
    // does, from the runtime's words.
    std::string message = absl::AsciiStrToLower(execution.status().message());
    int code = 126;
    if (absl::StrContains(message, "executable file not found") ||
        absl::StrContains(message, "no such file or directory")) {
      code = 127;
    }
    if (absl::IsUnavailable(execution.status())) code = -1;
    return fail(execution.status(), code);
  }
  auto session = std::make_shared<ExecSession>();
  session->execution_ = execution->get();
  session->stdin_open_ = stdin;
  if (detach) session->Cancel();
  {
    std::lock_guard<std::mutex> lock(mu_);
    auto it = execs_.find(id);
    if (it != execs_.end()) it->second.info.set_pid((*execution)->pid());
    following_[id] = (*execution)->fd();
  }
  std::thread(&ExecManager::Follow, this, id, *std::move(execution), session).detach();
  return session;
}

void ExecManager::Follow(std::string id, std::unique_ptr<runtime::ShimExecution> execution,
                         std::shared_ptr<ExecSession> session) {
  std::optional<int> exit_code;
  while (true) {
    absl::StatusOr<runtime::ShimExecution::Event> event = execution->Read();
    if (!event.ok()) {
      SPDLOG_INFO("exec {}: {}", id, event.status().ToString());
      break;
    }
    if (event->exit) {
      exit_code = event->exit->exit_code();
      break;
    }
    if (!event->output) break;  // the shim went away
    session->Push(*std::move(event->output));
  }
  std::string container_id;
  {
    std::lock_guard<std::mutex> lock(mu_);
    // Under mu_: ~ExecManager may be shutting this connection down.
    session->End();
    execution.reset();
    following_.erase(id);
    auto it = execs_.find(id);
    if (it != execs_.end() && !stopping_) {
      it->second.info.set_running(false);
      if (exit_code) it->second.info.set_exit_code(*exit_code);
      container_id = it->second.info.container_id();
    }
    if (exit_code && !container_id.empty()) ++publishing_;
    cv_.notify_all();
  }
  if (exit_code && !container_id.empty()) {
    Publish(container_id, "exec_die", {{"execID", id}, {"exitCode", std::to_string(*exit_code)}});
    std::lock_guard<std::mutex> lock(mu_);
    --publishing_;
    cv_.notify_all();
  }
}

absl::StatusOr<runtime::v1::ExecInfo> ExecManager::Inspect(const std::string& id) {
  std::lock_guard<std::mutex> lock(mu_);
  ASSIGN_OR_RETURN(Record * record, FindLocked(id));
  runtime::v1::ExecInfo info = record->info;
  info.set_can_remove(!info.running());
  return info;
}

absl::Status ExecManager::Resize(const std::string& id, uint32_t height, uint32_t width) {
  std::string socket_path;
  {
    std::lock_guard<std::mutex> lock(mu_);
    ASSIGN_OR_RETURN(Record * record, FindLocked(id));
    if (!record->info.running()) {
      return absl::FailedPreconditionError(absl::StrCat("Exec ", id, " is not running"));
    }
    socket_path = record->socket_path;
  }
  return shim_->Resize(socket_path, id, height, width);
}

std::vector<std::string> ExecManager::List(const std::string& container_id) {
  std::lock_guard<std::mutex> lock(mu_);
  std::vector<const Record*> found;
  for (const auto& [id, record] : execs_) {
    if (record.info.container_id() == container_id && !record.info.has_exit_code()) {
      found.push_back(&record);
    }
  }
  std::sort(found.begin(), found.end(),
            [](const Record* a, const Record* b) { return a->sequence < b->sequence; });
  std::vector<std::string> ids;
  for (const Record* record : found) ids.push_back(record->info.id());
  return ids;
}

void ExecManager::PruneLocked() {
  size_t finished = 0;
  const Record* oldest = nullptr;
  for (const auto& [id, record] : execs_) {
    if (!record.info.has_exit_code()) continue;
    ++finished;
    if (oldest == nullptr || record.sequence < oldest->sequence) oldest = &record;
  }
  if (finished > kMaxFinished && oldest != nullptr) execs_.erase(oldest->info.id());
}

}  // namespace berth::runtimed
