// HTTP for the registry client, behind an interface so the client's logic
// (auth challenges, error bodies, redirects of uploads) is tested with a fake;
// CurlTransport is the real one (libcurl: HTTP/1.1, TLS, redirects).
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "imaged/byte_source.h"

namespace berth::imaged::registry {

struct HttpRequest {
  std::string method = "GET";
  std::string url;
  std::vector<std::pair<std::string, std::string>> headers;
  // Request body: body_source when set (body_size bytes), else body.
  std::string body;
  ByteSource* body_source = nullptr;
  int64_t body_size = 0;
  // A CA bundle to trust instead of the system's (certs.d/<host>/ca.crt).
  std::string ca_file;
};

struct HttpResponse;
// Sees the status and headers of a response before its body is streamed to a
// sink (a 206 to a Range request changes where the body goes). An error
// aborts the transfer and is what Do returns.
using HeadersHook = std::function<absl::Status(const HttpResponse& response)>;

struct HttpResponse {
  int status = 0;
  // Names lower-cased; a repeated header keeps every value.
  std::multimap<std::string, std::string> headers;
  // The body, unless it was streamed to the caller's sink.
  std::string body;

  std::string Header(const std::string& lower_name) const {
    auto it = headers.find(lower_name);
    return it == headers.end() ? "" : it->second;
  }
};

// Receives the body of a successful (2xx) response as it arrives. An error
// aborts the transfer and is what Do returns.
using BodySink = std::function<absl::Status(absl::string_view data)>;

class HttpTransport {
 public:
  virtual ~HttpTransport() = default;
  // Performs one request, following redirects. When sink is set and the
  // final status is 2xx, the body goes to sink instead of response.body.
  // Transport failures (connection refused, TLS, truncated body) are errors;
  // any HTTP status is a response.
  virtual absl::StatusOr<HttpResponse> Do(const HttpRequest& request,
                                          const BodySink* sink = nullptr) = 0;
  // As Do with a sink, and on_headers is called once the final response's
  // headers are in, before a 2xx body goes to sink. This default buffers the
  // body (fine for fakes); CurlTransport streams.
  virtual absl::StatusOr<HttpResponse> Stream(const HttpRequest& request, const BodySink& sink,
                                              const HeadersHook& on_headers);
};

class CurlTransport : public HttpTransport {
 public:
  // libcurl is initialised (once per process) by the first request.
  CurlTransport();
  absl::StatusOr<HttpResponse> Do(const HttpRequest& request, const BodySink* sink) override;
  absl::StatusOr<HttpResponse> Stream(const HttpRequest& request, const BodySink& sink,
                                      const HeadersHook& on_headers) override;

 private:
  absl::StatusOr<HttpResponse> Perform(const HttpRequest& request, const BodySink* sink,
                                       const HeadersHook* on_headers);
};

// Resolves a Location header against the URL of the request it answered.
std::string ResolveUrl(const std::string& base, const std::string& location);

}  // namespace berth::imaged::registry
