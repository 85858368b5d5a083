// In-process stand-ins for imaged, runtimed and an HTTP exchange, so that the
// handlers run without daemons or sockets.
#pragma once

#include <condition_variable>
#include <deque>
#include <map>
#include <mutex>
#include <string>
#include <vector>

#include "apiserver/backends/backends.h"
#include "apiserver/http/exchange.h"

namespace berth::apiserver::testing {

namespace rt = ::berth::runtime::v1;
namespace img = ::berth::image::v1;

// A server stream fed by the test: Push messages, then Close with a status.
// Read blocks until something arrives; Cancel ends it with CANCELLED.
template <typename T>
class QueueStream : public ReadStream<T> {
 public:
  void Push(T message) {
    std::lock_guard<std::mutex> lock(mutex_);
    queue_.push_back(std::move(message));
    cv_.notify_all();
  }
  void Close(absl::Status status = absl::OkStatus()) {
    std::lock_guard<std::mutex> lock(mutex_);
    if (!closed_) status_ = status;
    closed_ = true;
    cv_.notify_all();
  }
  bool Read(T* message) override {
    std::unique_lock<std::mutex> lock(mutex_);
    cv_.wait(lock, [this] { return !queue_.empty() || closed_; });
    if (queue_.empty()) return false;
    *message = std::move(queue_.front());
    queue_.pop_front();
    return true;
  }
  absl::Status Finish() override {
    std::lock_guard<std::mutex> lock(mutex_);
    return status_;
  }
  void Cancel() override {
    std::lock_guard<std::mutex> lock(mutex_);
    cancelled_ = true;
    if (!closed_) status_ = absl::CancelledError("cancelled");
    closed_ = true;
    queue_.clear();
    cv_.notify_all();
  }
  bool cancelled() {
    std::lock_guard<std::mutex> lock(mutex_);
    return cancelled_;
  }

 private:
  std::mutex mutex_;
  std::condition_variable cv_;
  std::deque<T> queue_;
  bool closed_ = false;
  bool cancelled_ = false;
  absl::Status status_;
};

// Forwards to a QueueStream the test keeps (the handler owns the wrapper).
template <typename T>
class SharedStream : public ReadStream<T> {
 public:
  explicit SharedStream(std::shared_ptr<QueueStream<T>> s) : s_(std::move(s)) {}
  bool Read(T* m) override { return s_->Read(m); }
  absl::Status Finish() override { return s_->Finish(); }
  void Cancel() override { s_->Cancel(); }

 private:
  std::shared_ptr<QueueStream<T>> s_;
};

// Attach to a container running `cat`: stdin comes back as stdout, and
// closing stdin ends the output.
class CatAttachSession : public AttachSession {
 public:
  explicit CatAttachSession(std::shared_ptr<QueueStream<rt::AttachResponse>> output)
      : output_(std::move(output)) {}
  bool Read(rt::AttachResponse* event) override { return output_->Read(event); }
  bool WriteStdin(const std::string& data) override {
    rt::AttachResponse event;
    event.mutable_output()->set_stream(rt::STDOUT);
    event.mutable_output()->set_data(data);
    output_->Push(event);
    return true;
  }
  bool CloseStdin() override {
    stdin_closed = true;
    output_->Close();
    return true;
  }
  absl::Status Finish() override { return output_->Finish(); }
  void Cancel() override { output_->Cancel(); }

  std::atomic<bool> stdin_closed{false};

 private:
  std::shared_ptr<QueueStream<rt::AttachResponse>> output_;
};

class FakeContainers : public ContainerBackend {
 public:
  // Every call fails with this status when it is set (e.g. runtimed down).
  absl::Status down;
  std::map<std::string, rt::Container> containers;  // by id
  rt::CreateContainerRequest last_create;
  rt::StopContainerRequest last_stop;
  rt::KillContainerRequest last_kill;
  std::string last_ps_args;
  rt::RemoveContainerRequest last_remove;
  rt::LogsRequest last_logs;
  rt::AttachOptions last_attach;
  std::vector<std::string> started;
  bool already_stopped = false;
  std::shared_ptr<QueueStream<rt::WaitContainerResponse>> wait_stream =
      std::make_shared<QueueStream<rt::WaitContainerResponse>>();
  std::shared_ptr<QueueStream<rt::LogEntry>> log_stream =
      std::make_shared<QueueStream<rt::LogEntry>>();
  std::shared_ptr<QueueStream<rt::AttachResponse>> attach_stream =
      std::make_shared<QueueStream<rt::AttachResponse>>();

  rt::Container& Add(const std::string& id, const std::string& name, const std::string& status,
                     const std::string& config_json = "{}") {
    rt::Container& c = containers[id];
    c.set_id(id);
    c.set_name(name);
    c.mutable_state()->set_status(status);
    c.set_config_json(config_json);
    // runtimed's default json-file driver; the none driver leaves it empty.
    c.set_log_path("/var/lib/berth/runtimed/" + id + "/" + id + "-json.log");
    return c;
  }

  absl::StatusOr<rt::Container> Find(const std::string& ref) {
    if (!down.ok()) return down;
    for (auto& [id, c] : containers) {
      if (c.name() == ref || id == ref || (ref.size() >= 3 && id.rfind(ref, 0) == 0)) return c;
    }
    return absl::NotFoundError("No such container: " + ref);
  }

  absl::StatusOr<rt::CreateContainerResponse> CreateContainer(
      const rt::CreateContainerRequest& request) override {
    if (!down.ok()) return down;
    last_create = request;
    for (auto& [id, c] : containers) {
      if (!request.name().empty() && c.name() == request.name()) {
        return absl::AlreadyExistsError("Conflict. The container name \"/" + request.name() +
                                        "\" is already in use by container \"" + id +
                                        "\". You have to remove (or rename) that container to "
                                        "be able to reuse that name.");
      }
    }
    rt::CreateContainerResponse response;
    response.set_id(std::string(64, 'c'));
    rt::Container& c = Add(response.id(), request.name().empty() ? "auto_name" : request.name(),
                           "created", request.config_json());
    c.set_image_id(request.image().id());
    return response;
  }
  absl::Status StartContainer(const std::string& id) override {
    if (!down.ok()) return down;
    started.push_back(id);
    return absl::OkStatus();
  }
  absl::StatusOr<rt::StopContainerResponse> StopContainer(
      const rt::StopContainerRequest& request) override {
    if (!down.ok()) return down;
    last_stop = request;
    auto c = Find(request.id());
    if (!c.ok()) return c.status();
    rt::StopContainerResponse response;
    response.set_already_stopped(already_stopped);
    return response;
  }
  absl::Status RestartContainer(const rt::RestartContainerRequest& request) override {
    return Find(request.id()).status();
  }
  absl::Status PauseContainer(const std::string& id) override {
    auto found = Find(id);
    if (!found.ok()) return found.status();
    rt::Container* c = &containers[found->id()];
    if (c->state().status() == "paused") {
      return absl::FailedPreconditionError("Container " + c->id() + " is already paused");
    }
    if (c->state().status() != "running") {
      return absl::FailedPreconditionError("Container " + c->id() + " is not running");
    }
    c->mutable_state()->set_status("paused");
    return absl::OkStatus();
  }
  absl::Status UnpauseContainer(const std::string& id) override {
    auto found = Find(id);
    if (!found.ok()) return found.status();
    rt::Container* c = &containers[found->id()];
    if (c->state().status() != "paused") {
      return absl::FailedPreconditionError("Container " + c->id() + " is not paused");
    }
    c->mutable_state()->set_status("running");
    return absl::OkStatus();
  }
  absl::StatusOr<rt::TopContainerResponse> TopContainer(
      const rt::TopContainerRequest& request) override {
    auto found = Find(request.id());
    if (!found.ok()) return found.status();
    const rt::Container* c = &*found;
    if (c->state().status() != "running") {
      return absl::FailedPreconditionError("Container " + c->id() + " is not running");
    }
    last_ps_args = request.ps_args();
    rt::TopContainerResponse top;
    for (const char* title : {"UID", "PID", "CMD"}) top.add_titles(title);
    auto* p = top.add_processes();
    for (const char* field : {"root", "42", "sleep 100"}) p->add_fields(field);
    return top;
  }
  absl::Status KillContainer(const rt::KillContainerRequest& request) override {
    last_kill = request;
    return Find(request.id()).status();
  }
  absl::Status RemoveContainer(const rt::RemoveContainerRequest& request) override {
    last_remove = request;
    auto c = Find(request.id());
    if (!c.ok()) return c.status();
    if (c->state().status() == "running" && !request.force()) {
      return absl::FailedPreconditionError("You cannot remove a running container " + c->id() +
                                           ". Stop the container before attempting removal or "
                                           "force remove");
    }
    return absl::OkStatus();
  }
  absl::StatusOr<rt::Container> GetContainer(const std::string& id) override { return Find(id); }
  absl::StatusOr<std::vector<rt::Container>> ListContainers(bool all) override {
    if (!down.ok()) return down;
    std::vector<rt::Container> out;
    for (auto& [id, c] : containers) out.push_back(c);
    return out;
  }
  std::unique_ptr<ReadStream<rt::WaitContainerResponse>> WaitContainer(
      const rt::WaitContainerRequest& request) override {
    if (!down.ok()) {
      auto s = std::make_unique<QueueStream<rt::WaitContainerResponse>>();
      s->Close(down);
      return s;
    }
    auto c = Find(request.id());
    if (!c.ok()) {
      auto s = std::make_unique<QueueStream<rt::WaitContainerResponse>>();
      s->Close(c.status());
      return s;
    }
    return std::make_unique<SharedStream<rt::WaitContainerResponse>>(wait_stream);
  }
  std::unique_ptr<AttachSession> Attach(const rt::AttachOptions& options) override {
    last_attach = options;
    auto session = std::make_unique<CatAttachSession>(attach_stream);
    attach_session = session.get();
    rt::AttachResponse registered;
    registered.mutable_registered();
    attach_stream->Push(registered);
    return session;
  }
  std::unique_ptr<ReadStream<rt::LogEntry>> Logs(const rt::LogsRequest& request) override {
    last_logs = request;
    return std::make_unique<SharedStream<rt::LogEntry>>(log_stream);
  }
  absl::Status ResizeTty(const rt::ResizeTtyRequest& request) override {
    return Find(request.id()).status();
  }

  CatAttachSession* attach_session = nullptr;
};

class FakeLoad : public LoadSession {
 public:
  FakeLoad(std::string* received, std::vector<img::Progress> progress, absl::Status end)
      : received_(received), progress_(std::move(progress)), end_(std::move(end)) {}
  bool Write(const std::string& chunk) override {
    received_->append(chunk);
    ++*chunks;
    return true;
  }
  void WritesDone() override {}
  bool Read(img::Progress* p) override {
    if (next_ >= progress_.size()) return false;
    *p = progress_[next_++];
    return true;
  }
  absl::Status Finish() override { return end_; }
  int* chunks = nullptr;

 private:
  std::string* received_;
  std::vector<img::Progress> progress_;
  absl::Status end_;
  size_t next_ = 0;
};

class FakeImport : public ImportSession {
 public:
  explicit FakeImport(std::string* received) : received_(received) {}
  bool Write(const std::string& chunk) override {
    received_->append(chunk);
    return true;
  }
  absl::StatusOr<std::string> Finish() override { return "sha256:" + std::string(64, 'e'); }

 private:
  std::string* received_;
};

class FakeImages : public ImageBackend {
 public:
  absl::Status down;
  std::map<std::string, img::Image> images;  // by reference or id
  std::string loaded;
  int load_chunks = 0;
  std::vector<img::Progress> load_progress;
  absl::Status load_end;
  std::string imported;
  img::ImportOptions last_import;
  img::TagImageRequest last_tag;
  img::RemoveImageRequest last_remove;

  absl::StatusOr<img::GetImageResponse> GetImage(const std::string& reference) override {
    if (!down.ok()) return down;
    auto it = images.find(reference);
    if (it == images.end()) return absl::NotFoundError("No such image: " + reference);
    img::GetImageResponse response;
    *response.mutable_image() = it->second;
    response.mutable_spec()->set_id(it->second.id());
    response.mutable_spec()->set_config_json(it->second.config_json());
    return response;
  }
  absl::StatusOr<std::vector<img::Image>> ListImages() override {
    if (!down.ok()) return down;
    std::map<std::string, img::Image> unique;
    for (auto& [ref, image] : images) unique[image.id()] = image;
    std::vector<img::Image> out;
    for (auto& [id, image] : unique) out.push_back(image);
    return out;
  }
  absl::StatusOr<std::unique_ptr<LoadSession>> LoadImages(bool quiet) override {
    if (!down.ok()) return down;
    auto session = std::make_unique<FakeLoad>(&loaded, load_progress, load_end);
    session->chunks = &load_chunks;
    return std::unique_ptr<LoadSession>(std::move(session));
  }
  absl::StatusOr<std::unique_ptr<ImportSession>> ImportImage(
      const img::ImportOptions& options) override {
    if (!down.ok()) return down;
    last_import = options;
    return std::unique_ptr<ImportSession>(std::make_unique<FakeImport>(&imported));
  }
  absl::Status TagImage(const img::TagImageRequest& request) override {
    last_tag = request;
    return GetImage(request.source()).status();
  }
  absl::StatusOr<img::RemoveImageResponse> RemoveImage(
      const img::RemoveImageRequest& request) override {
    last_remove = request;
    auto image = GetImage(request.reference());
    if (!image.ok()) return image.status();
    img::RemoveImageResponse response;
    response.add_items()->set_untagged(request.reference());
    response.add_items()->set_deleted(image->image().id());
    return response;
  }
  // Save: the archive to send for known names (looked up in images).
  std::string save_archive = "tar bytes";
  std::vector<std::string> last_save;
  std::unique_ptr<ReadStream<types::v1::Chunk>> SaveImages(
      const std::vector<std::string>& names) override {
    last_save = names;
    auto stream = std::make_unique<QueueStream<types::v1::Chunk>>();
    for (const std::string& name : names) {
      if (!images.count(name)) {
        stream->Close(absl::NotFoundError("No such image: " + name));
        return stream;
      }
    }
    for (size_t i = 0; i < save_archive.size(); i += 4) {
      types::v1::Chunk chunk;
      chunk.set_data(save_archive.substr(i, 4));
      stream->Push(chunk);
    }
    stream->Close();
    return stream;
  }
};

// An exchange in memory: the request is set by the test, the response is
// recorded.
class FakeExchange : public Exchange {
 public:
  FakeExchange(const std::string& method, const std::string& target, std::string body = "") {
    request_.method = method;
    size_t q = target.find('?');
    request_.path = target.substr(0, q);
    if (q != std::string::npos) request_.query = Query::Parse(target.substr(q + 1));
    request_.api_version = "1.50";
    body_ = std::move(body);
  }

  const Request& request() const override { return request_; }
  Request& mutable_request() override { return request_; }
  absl::StatusOr<std::string> ReadBody(size_t limit) override {
    std::string rest = body_.substr(body_pos_);
    body_pos_ = body_.size();
    if (rest.size() > limit) return absl::InvalidArgumentError("too large");
    return rest;
  }
  absl::StatusOr<size_t> ReadBodySome(char* buf, size_t size) override {
    // Small pieces, as a chunked upload would arrive.
    size_t n = std::min({size, body_.size() - body_pos_, size_t{1000}});
    memcpy(buf, body_.data() + body_pos_, n);
    body_pos_ += n;
    return n;
  }
  void SetHeader(const std::string& name, const std::string& value) override {
    headers[name] = value;
  }
  void Reply(int s, const std::string& ct, const std::string& b) override {
    Begin(s, ct);
    body += b;
  }
  bool StartChunked(int s, const std::string& ct) override {
    Begin(s, ct);
    chunked = true;
    return true;
  }
  bool WriteChunk(absl::string_view data) override {
    std::lock_guard<std::mutex> lock(mutex);
    chunks.emplace_back(data);
    body.append(data.data(), data.size());
    return !client_gone;
  }
  bool EndChunked() override {
    ended = true;
    return true;
  }
  bool StartRaw(int s, const std::string& ct) override {
    Begin(s, ct);
    raw = true;
    return true;
  }
  bool WriteRaw(absl::string_view data) override {
    std::lock_guard<std::mutex> lock(mutex);
    body.append(data.data(), data.size());
    return true;
  }
  long ReadRaw(char* buf, size_t size) override {
    std::unique_lock<std::mutex> lock(mutex);
    raw_cv.wait(lock, [&] { return raw_in_pos < raw_in.size() || raw_in_eof || raw_closed; });
    if (raw_in_pos >= raw_in.size()) return 0;
    size_t n = std::min(size, raw_in.size() - raw_in_pos);
    memcpy(buf, raw_in.data() + raw_in_pos, n);
    raw_in_pos += n;
    return static_cast<long>(n);
  }
  void CloseRaw() override {
    std::lock_guard<std::mutex> lock(mutex);
    raw_closed = true;
    raw_cv.notify_all();
  }
  bool response_started() const override { return status != 0; }

  class Watch : public DisconnectWatch {
   public:
    explicit Watch(FakeExchange* e) : e_(e) {}
    ~Watch() override {
      std::lock_guard<std::mutex> lock(e_->mutex);
      e_->on_gone = nullptr;
    }

   private:
    FakeExchange* e_;
  };
  std::unique_ptr<DisconnectWatch> WatchDisconnect(std::function<void()> fn) override {
    std::lock_guard<std::mutex> lock(mutex);
    on_gone = std::move(fn);
    watching = true;
    return std::make_unique<Watch>(this);
  }
  // The client goes away (e.g. `docker run -d` abandoning its wait).
  void Disconnect() {
    std::function<void()> fn;
    {
      std::lock_guard<std::mutex> lock(mutex);
      client_gone = true;
      fn = on_gone;
    }
    if (fn) fn();
  }

  void Begin(int s, const std::string& ct) {
    std::lock_guard<std::mutex> lock(mutex);
    status = s;
    content_type = ct;
  }

  std::mutex mutex;
  std::condition_variable raw_cv;
  int status = 0;
  std::string content_type;
  std::map<std::string, std::string> headers;
  std::string body;
  std::vector<std::string> chunks;
  bool chunked = false;
  bool ended = false;
  bool raw = false;
  std::string raw_in;
  size_t raw_in_pos = 0;
  bool raw_in_eof = false;
  bool raw_closed = false;
  bool watching = false;
  bool client_gone = false;
  std::function<void()> on_gone;

 private:
  Request request_;
  std::string body_;
  size_t body_pos_ = 0;
};

}  // namespace berth::apiserver::testing
