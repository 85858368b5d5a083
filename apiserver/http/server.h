// A small synchronous HTTP/1.1 server on a listening unix socket: one thread
// per connection, Beast for parsing and framing, keep-alive, chunked request
// bodies streamed to the handler, and connection take-over for Docker's
// hijacked attach streams. What a request means is the App's business.
#pragma once

#include <atomic>
#include <condition_variable>
#include <functional>
#include <mutex>
#include <set>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "apiserver/http/exchange.h"

namespace berth::apiserver {

using App = std::function<void(Exchange& exchange)>;
using HeaderList = std::vector<std::pair<std::string, std::string>>;

class HttpServer {
 public:
  // Serves connections accepted on listen_fd (taken over: closed on Stop).
  // default_headers go on every response (Api-Version, Server, ...).
  HttpServer(int listen_fd, App app, HeaderList default_headers);
  ~HttpServer();
  HttpServer(const HttpServer&) = delete;
  HttpServer& operator=(const HttpServer&) = delete;

  void Start();
  // Stops accepting, shuts down open connections and waits up to grace for
  // their threads. Returns false if some did not finish in time.
  bool Stop(std::chrono::milliseconds grace = std::chrono::milliseconds(5000));

 private:
  void AcceptLoop();
  void ServeConnection(int fd);

  int listen_fd_;
  int wake_fd_;
  App app_;
  HeaderList default_headers_;
  std::thread accept_thread_;
  std::atomic<bool> stopping_{false};
  std::mutex mutex_;
  std::condition_variable idle_;
  std::set<int> connections_;
};

// Binds and listens on a unix socket at path (replacing a stale socket file),
// mode 0660, group gid when gid >= 0.
absl::StatusOr<int> ListenUnix(const std::string& path, int gid);

// The listening socket handed over by a supervisor, systemd style
// (LISTEN_FDS >= 1 and LISTEN_PID == our pid: fd 3), or -1 when there is none.
// Clears the variables so that children do not inherit them.
int InheritedListener();

// Parses --host: "unix:///path" -> "/path".
absl::StatusOr<std::string> UnixPathFromHost(const std::string& host);

}  // namespace berth::apiserver
