#include "imaged/registry/http.h"

#include <curl/curl.h>

#include <mutex>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "common/status.h"

namespace berth::imaged::registry {
namespace {

// Docker's wording for transport errors: `Get "http://host/v2/": <reason>`.
std::string MethodWord(const std::string& method) {
  if (method.empty()) return method;
  return absl::StrCat(std::string(1, method[0]), absl::AsciiStrToLower(method.substr(1)));
}

struct Transfer {
  const HttpRequest* request;
  const BodySink* sink;
  const HeadersHook* on_headers;
  CURL* curl;
  HttpResponse* response;
  absl::Status error;
  // Headers of the last response only: a redirect's headers are dropped.
  bool headers_done = false;
  bool streaming = false;
  static constexpr size_t kMaxBufferedBody = 4 << 20;

  static size_t OnHeader(char* data, size_t size, size_t count, void* user) {
    auto* transfer = static_cast<Transfer*>(user);
    size_t length = size * count;
    absl::string_view line(data, length);
    if (absl::StartsWith(line, "HTTP/")) {
      transfer->response->headers.clear();
      return length;
    }
    size_t colon = line.find(':');
    if (colon != absl::string_view::npos) {
      std::string name = absl::AsciiStrToLower(line.substr(0, colon));
      std::string value(absl::StripAsciiWhitespace(line.substr(colon + 1)));
      transfer->response->headers.emplace(std::move(name), std::move(value));
    }
    return length;
  }

  static size_t OnBody(char* data, size_t size, size_t count, void* user) {
    auto* transfer = static_cast<Transfer*>(user);
    size_t length = size * count;
    if (!transfer->headers_done) {
      long code = 0;
      curl_easy_getinfo(transfer->curl, CURLINFO_RESPONSE_CODE, &code);
      transfer->streaming = transfer->sink != nullptr && code >= 200 && code < 300;
      transfer->headers_done = true;
      if (transfer->streaming && transfer->on_headers != nullptr) {
        transfer->response->status = static_cast<int>(code);
        absl::Status status = (*transfer->on_headers)(*transfer->response);
        if (!status.ok()) {
          transfer->error = status;
          return 0;
        }
      }
    }
    if (transfer->streaming) {
      absl::Status status = (*transfer->sink)(absl::string_view(data, length));
      if (!status.ok()) {
        transfer->error = status;
        return 0;
      }
      return length;
    }
    if (transfer->response->body.size() + length > kMaxBufferedBody) {
      transfer->error = absl::InvalidArgumentError("response body too large");
      return 0;
    }
    transfer->response->body.append(data, length);
    return length;
  }

  static size_t OnRead(char* buffer, size_t size, size_t count, void* user) {
    auto* transfer = static_cast<Transfer*>(user);
    absl::StatusOr<size_t> n = transfer->request->body_source->Read(buffer, size * count);
    if (!n.ok()) {
      transfer->error = n.status();
      return CURL_READFUNC_ABORT;
    }
    return *n;
  }
};

}  // namespace

absl::StatusOr<HttpResponse> HttpTransport::Stream(const HttpRequest& request, const BodySink& sink,
                                                   const HeadersHook& on_headers) {
  ASSIGN_OR_RETURN(HttpResponse response, Do(request, nullptr));
  if (response.status / 100 != 2) return response;
  RETURN_IF_ERROR(on_headers(response));
  RETURN_IF_ERROR(sink(response.body));
  response.body.clear();
  return response;
}

CurlTransport::CurlTransport() = default;

absl::StatusOr<HttpResponse> CurlTransport::Do(const HttpRequest& request, const BodySink* sink) {
  return Perform(request, sink, nullptr);
}

absl::StatusOr<HttpResponse> CurlTransport::Stream(const HttpRequest& request, const BodySink& sink,
                                                   const HeadersHook& on_headers) {
  return Perform(request, &sink, &on_headers);
}

absl::StatusOr<HttpResponse> CurlTransport::Perform(const HttpRequest& request,
                                                    const BodySink* sink,
                                                    const HeadersHook* on_headers) {
  // On first use rather than at start: imaged must serve quickly, and most
  // engines never talk to a registry.
  static std::once_flag once;
  std::call_once(once, [] { curl_global_init(CURL_GLOBAL_DEFAULT); });
  CURL* curl = curl_easy_init();
  if (curl == nullptr) return absl::InternalError("curl_easy_init failed");
  HttpResponse response;
  Transfer transfer{&request, sink, on_headers, curl, &response, absl::OkStatus()};
  struct curl_slist* headers = nullptr;
  for (const auto& [name, value] : request.headers) {
    headers = curl_slist_append(headers, absl::StrCat(name, ": ", value).c_str());
  }
  // libcurl would otherwise send "Expect: 100-continue" and wait on uploads.
  headers = curl_slist_append(headers, "Expect:");
  curl_easy_setopt(curl, CURLOPT_URL, request.url.c_str());
  curl_easy_setopt(curl, CURLOPT_HTTPHEADER, headers);
  curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(curl, CURLOPT_FOLLOWLOCATION, 1L);
  curl_easy_setopt(curl, CURLOPT_MAXREDIRS, 10L);
  curl_easy_setopt(curl, CURLOPT_CONNECTTIMEOUT, 30L);
  // A stalled transfer (under 1 byte/s for 60 s) is a dropped connection.
  curl_easy_setopt(curl, CURLOPT_LOW_SPEED_LIMIT, 1L);
  curl_easy_setopt(curl, CURLOPT_LOW_SPEED_TIME, 60L);
  curl_easy_setopt(curl, CURLOPT_HEADERFUNCTION, &Transfer::OnHeader);
  curl_easy_setopt(curl, CURLOPT_HEADERDATA, &transfer);
  curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, &Transfer::OnBody);
  curl_easy_setopt(curl, CURLOPT_WRITEDATA, &transfer);
  curl_easy_setopt(curl, CURLOPT_USERAGENT, "berth/0.1 (linux)");
  // Layers are large: fewer, larger writes into the content store and reads
  // from it (the defaults are 16 and 64 KiB).
  curl_easy_setopt(curl, CURLOPT_BUFFERSIZE, 512L << 10);
  curl_easy_setopt(curl, CURLOPT_UPLOAD_BUFFERSIZE, 2L << 20);
  if (!request.ca_file.empty()) curl_easy_setopt(curl, CURLOPT_CAINFO, request.ca_file.c_str());
  if (request.method == "HEAD") {
    curl_easy_setopt(curl, CURLOPT_NOBODY, 1L);
  } else if (request.body_source != nullptr) {
    curl_easy_setopt(curl, CURLOPT_UPLOAD, 1L);
    curl_easy_setopt(curl, CURLOPT_CUSTOMREQUEST, request.method.c_str());
    curl_easy_setopt(curl, CURLOPT_READFUNCTION, &Transfer::OnRead);
    curl_easy_setopt(curl, CURLOPT_READDATA, &transfer);
    curl_easy_setopt(curl, CURLOPT_INFILESIZE_LARGE, static_cast<curl_off_t>(request.body_size));
  } else if (request.method != "GET") {
    curl_easy_setopt(curl, CURLOPT_CUSTOMREQUEST, request.method.c_str());
    curl_easy_setopt(curl, CURLOPT_POSTFIELDS, request.body.data());
    curl_easy_setopt(curl, CURLOPT_POSTFIELDSIZE_LARGE,
                     static_cast<curl_off_t>(request.body.size()));
  }
  CURLcode code = curl_easy_perform(curl);
  long status = 0;
  curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &status);
  curl_slist_free_all(headers);
  curl_easy_cleanup(curl);
  if (!transfer.error.ok()) return transfer.error;
  if (code != CURLE_OK) {
    return absl::UnavailableError(absl::StrCat(MethodWord(request.method), " \"", request.url,
                                               "\": ", curl_easy_strerror(code)));
  }
  response.status = static_cast<int>(status);
  return response;
}

std::string ResolveUrl(const std::string& base, const std::string& location) {
  if (absl::StartsWith(location, "http://") || absl::StartsWith(location, "https://")) {
    return location;
  }
  size_t scheme_end = base.find("://");
  size_t host_end = base.find('/', scheme_end == std::string::npos ? 0 : scheme_end + 3);
  std::string origin = host_end == std::string::npos ? base : base.substr(0, host_end);
  if (absl::StartsWith(location, "/")) return origin + location;
  size_t last_slash = base.rfind('/');
  return base.substr(0, last_slash + 1) + location;
}

}  // namespace berth::imaged::registry
