// One HTTP request/response exchange as the handlers see it. The production
// implementation sits on a Beast connection (http/server.cc); tests use an
// in-memory fake, so handler logic runs without sockets or daemons.
#pragma once

#include <functional>
#include <map>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace berth::apiserver {

// Query parameters in arrival order; a key may repeat (`changes=..&changes=..`).
class Query {
 public:
  Query() = default;
  // Parses "a=1&b=x%20y" (URL-decoding, '+' meaning space).
  static Query Parse(absl::string_view raw);

  void Add(std::string key, std::string value) {
    entries_.emplace_back(std::move(key), std::move(value));
  }
  bool Has(absl::string_view key) const;
  // The first value of key, or fallback when absent.
  std::string Get(absl::string_view key, absl::string_view fallback = "") const;
  std::vector<std::string> GetAll(absl::string_view key) const;
  // Moby's BoolValue: absent, "", "0", "no", "false", "none" are false.
  bool GetBool(absl::string_view key) const;

 private:
  std::vector<std::pair<std::string, std::string>> entries_;
};

std::string UrlDecode(absl::string_view in);

struct Request {
  std::string method;
  // The path with any /vX.Y prefix removed and without the query.
  std::string path;
  // Negotiated API version ("1.50" when the path had none).
  std::string api_version;
  Query query;
  // Header names lower-cased.
  std::map<std::string, std::string> headers;

  std::string Header(const std::string& lower_name) const {
    auto it = headers.find(lower_name);
    return it == headers.end() ? std::string() : it->second;
  }
};

// Stops watching for a disconnect when destroyed.
class DisconnectWatch {
 public:
  virtual ~DisconnectWatch() = default;
};

class Exchange {
 public:
  virtual ~Exchange() = default;

  virtual const Request& request() const = 0;
  // For the version middleware, which rewrites path and api_version.
  virtual Request& mutable_request() = 0;

  // Reads the whole request body; InvalidArgument when it exceeds limit.
  virtual absl::StatusOr<std::string> ReadBody(size_t limit) = 0;
  // Reads the next piece of the body into buf; 0 at the end of the body.
  virtual absl::StatusOr<size_t> ReadBodySome(char* buf, size_t size) = 0;

  // Adds a header to the response about to be sent.
  virtual void SetHeader(const std::string& name, const std::string& value) = 0;
  // A complete response with a Content-Length body (none for 204/304).
  virtual void Reply(int status, const std::string& content_type, const std::string& body) = 0;
  // A chunked response; headers are flushed immediately.
  virtual bool StartChunked(int status, const std::string& content_type) = 0;
  virtual bool WriteChunk(absl::string_view data) = 0;
  virtual bool EndChunked() = 0;

  // Takes the connection over as a raw byte stream after a response head with
  // the given status (101 with Upgrade headers, or 200 for a non-upgrading
  // client); the connection is closed after the exchange.
  virtual bool StartRaw(int status, const std::string& content_type) = 0;
  virtual bool WriteRaw(absl::string_view data) = 0;
  // Bytes from the client; 0 on EOF (the client half-closed), -1 on error.
  virtual long ReadRaw(char* buf, size_t size) = 0;
  // Shuts the connection down so that blocked ReadRaw calls return.
  virtual void CloseRaw() = 0;

  // True once any response bytes were sent (errors can no longer be a status).
  virtual bool response_started() const = 0;

  // Calls on_gone (from another thread) if the client disconnects while the
  // returned watch is alive. Used to cancel long polls the client abandoned.
  virtual std::unique_ptr<DisconnectWatch> WatchDisconnect(std::function<void()> on_gone) = 0;
};

}  // namespace berth::apiserver
