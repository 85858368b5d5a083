#include "apiserver/http/server.h"

#include <fcntl.h>
#include <poll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <boost/asio/local/stream_protocol.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http.hpp>
#include <cerrno>
#include <cstdlib>
#include <limits>
#include <optional>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "common/log.h"
#include "common/status.h"

namespace berth::apiserver {
namespace {

namespace net = boost::asio;
namespace http = boost::beast::http;
using UnixSocket = net::local::stream_protocol::socket;

constexpr size_t kHeaderLimit = 64 * 1024;

class FdDisconnectWatch : public DisconnectWatch {
 public:
  FdDisconnectWatch(int fd, std::function<void()> on_gone) : wake_fd_(eventfd(0, EFD_CLOEXEC)) {
    thread_ = std::thread([this, fd, on_gone = std::move(on_gone)] {
      struct pollfd fds[2] = {{fd, POLLRDHUP, 0}, {wake_fd_, POLLIN, 0}};
      while (true) {
        int n = poll(fds, 2, -1);
        if (n < 0 && errno == EINTR) continue;
        if (n < 0 || (fds[1].revents & POLLIN)) return;
        if (fds[0].revents & (POLLRDHUP | POLLHUP | POLLERR | POLLNVAL)) {
          on_gone();
          return;
        }
      }
    });
  }
  ~FdDisconnectWatch() override {
    uint64_t one = 1;
    if (write(wake_fd_, &one, sizeof(one)) < 0) {
      // The thread then ends with the connection; nothing else to do.
    }
    thread_.join();
    close(wake_fd_);
  }

 private:
  int wake_fd_;
  std::thread thread_;
};

class Connection : public Exchange {
 public:
  Connection(int fd, const HeaderList& default_headers)
      : socket_(io_), default_headers_(default_headers) {
    socket_.assign(net::local::stream_protocol(), fd);
  }

  int fd() { return socket_.native_handle(); }

  void Serve(const App& app) {
    // Beast reads at most the buffer's free capacity per recv (512 bytes for a
    // fresh buffer): a build context or an image load would take a system call
    // per half kilobyte.
    buffer_.reserve(64 * 1024);
    while (true) {
      parser_.emplace();
      // Not boost::none: Boost 1.74 compares Content-Length against an empty
      // optional as "exceeded". Handlers apply their own limits.
      parser_->body_limit(std::numeric_limits<std::uint64_t>::max());
      parser_->header_limit(kHeaderLimit);
      boost::beast::error_code ec;
      http::read_header(socket_, buffer_, *parser_, ec);
      if (ec) {
        if (ec != http::error::end_of_stream && ec != net::error::eof &&
            ec != net::error::connection_reset) {
          // Malformed request: say so and hang up, as Go's server does.
          SPDLOG_INFO("bad request: {}", ec.message());
          SendHead(
              "HTTP/1.1 400 Bad Request\r\nContent-Type: text/plain; charset=utf-8\r\n"
              "Connection: close\r\nContent-Length: 11\r\n\r\nBad Request");
        }
        return;
      }
      if (!PrepareRequest()) return;
      app(*this);
      if (!started_) Reply(500, "application/json", "{\"message\":\"no response\"}\n");
      if (chunked_open_) EndChunked();
      if (raw_ || close_after_ || broken_) return;
      if (!parser_->is_done() && !DrainBody()) return;
    }
  }

  const Request& request() const override { return request_; }
  Request& mutable_request() override { return request_; }

  absl::StatusOr<std::string> ReadBody(size_t limit) override {
    std::string body;
    char buf[64 * 1024];
    while (true) {
      ASSIGN_OR_RETURN(size_t n, ReadBodySome(buf, sizeof(buf)));
      if (n == 0) return body;
      if (body.size() + n > limit) {
        return absl::InvalidArgumentError(
            absl::StrCat("request body is larger than ", limit, " bytes"));
      }
      body.append(buf, n);
    }
  }

  absl::StatusOr<size_t> ReadBodySome(char* buf, size_t size) override {
    while (!parser_->is_done()) {
      auto& body = parser_->get().body();
      body.data = buf;
      body.size = size;
      boost::beast::error_code ec;
      http::read_some(socket_, buffer_, *parser_, ec);
      if (ec == http::error::need_buffer) ec = {};
      if (ec) {
        broken_ = true;
        return absl::InvalidArgumentError(absl::StrCat("reading the request body: ", ec.message()));
      }
      size_t got = size - body.size;
      if (got > 0) return got;
    }
    return 0;
  }

  void Reply(int status, const std::string& content_type, const std::string& body) override {
    if (!BeginResponse()) return;
    std::string head = StatusLine(status);
    AppendHeaders(&head, content_type);
    bool no_body = status == 204 || status == 304 || (status >= 100 && status < 200);
    if (!no_body) absl::StrAppend(&head, "Content-Length: ", body.size(), "\r\n");
    head += "\r\n";
    if (!no_body && request_.method != "HEAD") head += body;
    SendHead(head);
  }

  bool StartChunked(int status, const std::string& content_type) override {
    if (!BeginResponse()) return false;
    std::string head = StatusLine(status);
    AppendHeaders(&head, content_type);
    head += "Transfer-Encoding: chunked\r\n\r\n";
    chunked_open_ = true;
    return SendHead(head);
  }

  bool WriteChunk(absl::string_view data) override {
    if (data.empty()) return !broken_;
    return SendAll(absl::StrCat(absl::Hex(data.size()), "\r\n", data, "\r\n"));
  }

  bool EndChunked() override {
    chunked_open_ = false;
    return SendAll("0\r\n\r\n");
  }

  bool StartRaw(int status, const std::string& content_type) override {
    if (!BeginResponse()) return false;
    raw_ = true;
    std::string head =
        status == 101 ? std::string("HTTP/1.1 101 UPGRADED\r\n") : StatusLine(status);
    pending_headers_.emplace_back("Content-Type", content_type);
    if (status == 101) {
      pending_headers_.emplace_back("Connection", "Upgrade");
      pending_headers_.emplace_back("Upgrade", "tcp");
    }
    close_after_ = true;
    AppendHeaders(&head, "");
    head += "\r\n";
    return SendHead(head);
  }

  bool WriteRaw(absl::string_view data) override { return SendAll(data); }

  long ReadRaw(char* buf, size_t size) override {
    // Bytes the client sent right after the request head were already read
    // into the parser's buffer.
    if (buffer_.size() > 0) {
      size_t n = std::min(size, buffer_.size());
      net::buffer_copy(net::buffer(buf, n), buffer_.data());
      buffer_.consume(n);
      return static_cast<long>(n);
    }
    while (true) {
      ssize_t n = recv(fd(), buf, size, 0);
      if (n < 0 && errno == EINTR) continue;
      return n;
    }
  }

  void CloseRaw() override { shutdown(fd(), SHUT_RDWR); }

  bool response_started() const override { return started_; }

  void SetHeader(const std::string& name, const std::string& value) override {
    pending_headers_.emplace_back(name, value);
  }

  std::unique_ptr<DisconnectWatch> WatchDisconnect(std::function<void()> on_gone) override {
    return std::make_unique<FdDisconnectWatch>(fd(), std::move(on_gone));
  }

 private:
  bool PrepareRequest() {
    auto& message = parser_->get();
    request_ = Request();
    request_.method = std::string(message.method_string());
    std::string target(message.target());
    size_t question = target.find('?');
    request_.path = UrlDecode(target.substr(0, question));
    if (question != std::string::npos) request_.query = Query::Parse(target.substr(question + 1));
    for (const auto& field : message) {
      request_.headers[absl::AsciiStrToLower(std::string(field.name_string()))] =
          std::string(field.value());
    }
    started_ = false;
    raw_ = false;
    chunked_open_ = false;
    close_after_ = !message.keep_alive();
    pending_headers_.clear();
    return true;
  }

  // Reads what is left of the request body so that the client, which is
  // still sending it, sees the response, and the next request starts clean.
  bool DrainBody() {
    char buf[64 * 1024];
    while (true) {
      absl::StatusOr<size_t> n = ReadBodySome(buf, sizeof(buf));
      if (!n.ok()) return false;
      if (*n == 0) return true;
    }
  }

  bool BeginResponse() {
    if (started_) {
      SPDLOG_WARN("{} {}: handler tried to send a second response", request_.method, request_.path);
      return false;
    }
    started_ = true;
    if (!parser_->is_done() && !DrainBody()) close_after_ = true;
    return true;
  }

  static std::string StatusLine(int status) {
    std::string reason(http::obsolete_reason(static_cast<http::status>(status)));
    return absl::StrCat("HTTP/1.1 ", status, " ", reason, "\r\n");
  }

  void AppendHeaders(std::string* head, const std::string& content_type) {
    for (const auto& [name, value] : default_headers_) {
      absl::StrAppend(head, name, ": ", value, "\r\n");
    }
    if (!content_type.empty()) absl::StrAppend(head, "Content-Type: ", content_type, "\r\n");
    for (const auto& [name, value] : pending_headers_) {
      absl::StrAppend(head, name, ": ", value, "\r\n");
    }
    absl::StrAppend(head, "Date: ", HttpDate(), "\r\n");
    if (close_after_ && !raw_) absl::StrAppend(head, "Connection: close\r\n");
  }

  static std::string HttpDate() {
    char buf[64];
    time_t now = time(nullptr);
    struct tm tm;
    gmtime_r(&now, &tm);
    strftime(buf, sizeof(buf), "%a, %d %b %Y %H:%M:%S GMT", &tm);
    return buf;
  }

  bool SendHead(absl::string_view data) { return SendAll(data); }

  bool SendAll(absl::string_view data) {
    if (broken_) return false;
    size_t done = 0;
    while (done < data.size()) {
      ssize_t n = send(fd(), data.data() + done, data.size() - done, MSG_NOSIGNAL);
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) {
        broken_ = true;
        return false;
      }
      done += static_cast<size_t>(n);
    }
    return true;
  }

  net::io_context io_;
  UnixSocket socket_;
  const HeaderList& default_headers_;
  boost::beast::flat_buffer buffer_;
  std::optional<http::request_parser<http::buffer_body>> parser_;
  Request request_;
  HeaderList pending_headers_;
  bool started_ = false;
  bool raw_ = false;
  bool chunked_open_ = false;
  bool close_after_ = false;
  bool broken_ = false;
};

}  // namespace

HttpServer::HttpServer(int listen_fd, App app, HeaderList default_headers)
    : listen_fd_(listen_fd),
      wake_fd_(eventfd(0, EFD_CLOEXEC)),
      app_(std::move(app)),
      default_headers_(std::move(default_headers)) {}

HttpServer::~HttpServer() {
  Stop();
  close(wake_fd_);
}

void HttpServer::Start() {
  accept_thread_ = std::thread([this] { AcceptLoop(); });
}

void HttpServer::AcceptLoop() {
  struct pollfd fds[2] = {{listen_fd_, POLLIN, 0}, {wake_fd_, POLLIN, 0}};
  while (!stopping_) {
    int n = poll(fds, 2, -1);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 || (fds[1].revents & POLLIN)) return;
    if (!(fds[0].revents & POLLIN)) continue;
    int fd = accept4(listen_fd_, nullptr, nullptr, SOCK_CLOEXEC);
    if (fd < 0) {
      if (errno != EINTR && errno != EAGAIN && errno != ECONNABORTED) {
        SPDLOG_WARN("accept: {}", strerror(errno));
        // Out of descriptors and the like: do not spin.
        usleep(100 * 1000);
      }
      continue;
    }
    {
      std::lock_guard<std::mutex> lock(mutex_);
      connections_.insert(fd);
    }
    std::thread([this, fd] { ServeConnection(fd); }).detach();
  }
}

void HttpServer::ServeConnection(int fd) {
  {
    Connection connection(fd, default_headers_);
    try {
      connection.Serve(app_);
    } catch (const std::exception& e) {
      SPDLOG_ERROR("connection failed: {}", e.what());
    }
    std::lock_guard<std::mutex> lock(mutex_);
    connections_.erase(fd);
    // Erased before the descriptor closes, so Stop never shuts down a reused
    // descriptor number.
  }
  idle_.notify_all();
}

bool HttpServer::Stop(std::chrono::milliseconds grace) {
  if (stopping_.exchange(true)) return true;
  uint64_t one = 1;
  if (write(wake_fd_, &one, sizeof(one)) < 0) SPDLOG_WARN("waking the accept loop failed");
  if (accept_thread_.joinable()) accept_thread_.join();
  close(listen_fd_);
  std::unique_lock<std::mutex> lock(mutex_);
  for (int fd : connections_) shutdown(fd, SHUT_RDWR);
  return idle_.wait_for(lock, grace, [this] { return connections_.empty(); });
}

absl::StatusOr<int> ListenUnix(const std::string& path, int gid) {
  struct sockaddr_un addr = {};
  addr.sun_family = AF_UNIX;
  if (path.size() >= sizeof(addr.sun_path)) {
    return absl::InvalidArgumentError(absl::StrCat("socket path too long: ", path));
  }
  path.copy(addr.sun_path, path.size());
  struct stat st;
  if (lstat(path.c_str(), &st) == 0) {
    if (!S_ISSOCK(st.st_mode)) {
      return absl::FailedPreconditionError(absl::StrCat(path, " exists and is not a socket"));
    }
    unlink(path.c_str());
  }
  int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return LastErrnoStatus("socket");
  if (bind(fd, reinterpret_cast<struct sockaddr*>(&addr), sizeof(addr)) < 0) {
    absl::Status status = LastErrnoStatus(absl::StrCat("bind ", path));
    close(fd);
    return status;
  }
  if (chmod(path.c_str(), 0660) < 0 || (gid >= 0 && chown(path.c_str(), -1, gid) < 0)) {
    absl::Status status = LastErrnoStatus(absl::StrCat("setting owner and mode of ", path));
    close(fd);
    return status;
  }
  if (listen(fd, 512) < 0) {
    absl::Status status = LastErrnoStatus("listen");
    close(fd);
    return status;
  }
  return fd;
}

int InheritedListener() {
  const char* fds = getenv("LISTEN_FDS");
  const char* pid = getenv("LISTEN_PID");
  int result = -1;
  if (fds != nullptr && pid != nullptr && atoi(fds) >= 1 && atol(pid) == getpid()) {
    // Only a listening socket will do; anything else is the parent's mistake
    // and must not be served as if it were one.
    int listening = 0;
    socklen_t length = sizeof(listening);
    if (getsockopt(3, SOL_SOCKET, SO_ACCEPTCONN, &listening, &length) == 0 && listening) {
      result = 3;
      fcntl(result, F_SETFD, FD_CLOEXEC);
    } else {
      SPDLOG_ERROR("LISTEN_FDS is set but fd 3 is not a listening socket; ignoring it");
    }
  }
  unsetenv("LISTEN_FDS");
  unsetenv("LISTEN_PID");
  unsetenv("LISTEN_FDNAMES");
  return result;
}

absl::StatusOr<std::string> UnixPathFromHost(const std::string& host) {
  constexpr absl::string_view kScheme = "unix://";
  if (!absl::StartsWith(host, kScheme) || host.size() == kScheme.size()) {
    return absl::InvalidArgumentError(
        absl::StrCat("unsupported --host \"", host, "\": expected unix:///path"));
  }
  return host.substr(kScheme.size());
}

}  // namespace berth::apiserver
