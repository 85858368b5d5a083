#include "imaged/registry/client.h"

#include <chrono>
#include <thread>

#include "absl/strings/ascii.h"
#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_replace.h"
#include "absl/strings/str_split.h"
#include "common/digest.h"
#include "common/json.h"
#include "common/status.h"
#include "imaged/registry/manifest.h"

namespace berth::imaged::registry {
namespace {

const char* ReasonPhrase(int status) {
  switch (status) {
    case 400:
      return "Bad Request";
    case 401:
      return "Unauthorized";
    case 403:
      return "Forbidden";
    case 404:
      return "Not Found";
    case 405:
      return "Method Not Allowed";
    case 429:
      return "Too Many Requests";
    case 500:
      return "Internal Server Error";
    case 502:
      return "Bad Gateway";
    case 503:
      return "Service Unavailable";
    case 504:
      return "Gateway Timeout";
    default:
      return "";
  }
}

bool Retryable(const absl::StatusOr<HttpResponse>& response) {
  if (!response.ok()) return absl::IsUnavailable(response.status());
  return response->status >= 500 || response->status == 429;
}

// A transport error reaching the user is the registry's failure, not imaged's
// (Unavailable would read as "imaged is unavailable" in the apiserver).
absl::Status Surface(const absl::Status& status) {
  if (absl::IsUnavailable(status)) return absl::InternalError(status.message());
  return status;
}

}  // namespace

std::string UrlEncode(absl::string_view text) {
  std::string out;
  for (unsigned char c : text) {
    if (absl::ascii_isalnum(c) || c == '-' || c == '_' || c == '.' || c == '~') {
      out.push_back(static_cast<char>(c));
    } else {
      absl::StrAppend(&out, "%",
                      absl::AsciiStrToUpper(absl::BytesToHexString(
                          absl::string_view(reinterpret_cast<char*>(&c), 1))));
    }
  }
  return out;
}

std::string RepositoryScope(const std::string& repository, bool push) {
  return absl::StrCat("repository:", repository, push ? ":pull,push" : ":pull");
}

std::string RegistryErrorText(const HttpResponse& response) {
  auto json = ParseJson(response.body);
  if (json.ok() && json->is_object() && json->contains("errors") && (*json)["errors"].is_array() &&
      !(*json)["errors"].empty()) {
    std::vector<std::string> parts;
    for (const Json& error : (*json)["errors"]) {
      if (!error.is_object()) continue;
      std::string code = absl::AsciiStrToLower(
          absl::StrReplaceAll(error.value("code", std::string("unknown")), {{"_", " "}}));
      std::string message = error.value("message", "");
      parts.push_back(message.empty() ? code : absl::StrCat(code, ": ", message));
    }
    if (!parts.empty()) return absl::StrJoin(parts, ", ");
  }
  if (response.status == 401) return "unauthorized: authentication required";
  std::string text = absl::StrCat(response.status, " ", ReasonPhrase(response.status));
  absl::StripTrailingAsciiWhitespace(&text);
  return text;
}

absl::Status RegistryError(const HttpResponse& response, const std::string& context) {
  std::string message = absl::StrCat(context, ": ", RegistryErrorText(response));
  switch (response.status) {
    case 404:
      return absl::NotFoundError(message);
    case 401:
      return absl::UnauthenticatedError(message);
    case 403:
      return absl::PermissionDeniedError(message);
    default:
      if (response.status >= 400 && response.status < 500) {
        return absl::InvalidArgumentError(message);
      }
      return absl::InternalError(message);
  }
}

RegistryClient::RegistryClient(HttpTransport* http, Endpoint endpoint, Credentials credentials,
                               RetryPolicy retry)
    : http_(http),
      endpoint_(std::move(endpoint)),
      credentials_(std::move(credentials)),
      retry_(retry) {}

std::string RegistryClient::BasicAuthorization() const {
  return "Basic " + absl::Base64Escape(credentials_.username + ":" + credentials_.password);
}

std::string RegistryClient::CachedAuthorization(const std::string& scope) {
  std::lock_guard<std::mutex> lock(mutex_);
  auto it = authorizations_.find(scope);
  if (it != authorizations_.end()) return it->second;
  it = authorizations_.find("");
  return it == authorizations_.end() ? "" : it->second;
}

std::string RegistryClient::identity_token() {
  std::lock_guard<std::mutex> lock(mutex_);
  return refresh_token_;
}

absl::StatusOr<std::string> RegistryClient::TakeToken(const HttpResponse& response,
                                                      const std::string& realm) {
  auto json = ParseJson(response.body);
  if (!json.ok() || !json->is_object()) {
    return absl::InternalError("the token service " + realm + " answered no JSON");
  }
  std::string token = json->value("token", "");
  if (token.empty()) token = json->value("access_token", "");
  if (token.empty()) return absl::InternalError("the token service " + realm + " sent no token");
  std::string refresh = json->value("refresh_token", "");
  if (!refresh.empty()) {
    std::lock_guard<std::mutex> lock(mutex_);
    refresh_token_ = refresh;
  }
  return "Bearer " + token;
}

absl::StatusOr<std::string> RegistryClient::FetchTokenWithRefresh(const Challenge& challenge,
                                                                  const std::string& scope) {
  const std::string realm = challenge.Param("realm");
  std::string refresh = identity_token();
  if (refresh.empty()) refresh = credentials_.identity_token;
  std::vector<std::string> form = {"grant_type=refresh_token",
                                   "refresh_token=" + UrlEncode(refresh), "client_id=docker"};
  if (!challenge.Param("service").empty()) {
    form.push_back("service=" + UrlEncode(challenge.Param("service")));
  }
  if (!scope.empty()) form.push_back("scope=" + UrlEncode(scope));
  HttpRequest request;
  request.method = "POST";
  request.url = realm;
  request.ca_file = endpoint_.ca_file;
  request.headers.emplace_back("Content-Type", "application/x-www-form-urlencoded");
  request.body = absl::StrJoin(form, "&");
  absl::StatusOr<HttpResponse> response = http_->Do(request);
  if (!response.ok()) return Surface(response.status());
  if (response->status == 401 || response->status == 400) {
    return absl::UnauthenticatedError(
        absl::StrCat("the token service ", realm,
                     " refused the identity token: ", RegistryErrorText(*response)));
  }
  if (response->status != 200) {
    return RegistryError(*response, absl::StrCat("getting a token from ", realm));
  }
  return TakeToken(*response, realm);
}

absl::StatusOr<std::string> RegistryClient::FetchToken(const Challenge& challenge,
                                                       const std::string& scope) {
  if (!credentials_.registry_token.empty()) return credentials_.registry_token;
  std::string realm = challenge.Param("realm");
  if (realm.empty()) {
    return absl::InvalidArgumentError("bearer challenge without a realm from " + endpoint_.host);
  }
  if (!credentials_.identity_token.empty()) return FetchTokenWithRefresh(challenge, scope);
  HttpRequest request;
  request.ca_file = endpoint_.ca_file;
  std::string url = realm;
  std::vector<std::string> params;
  if (!challenge.Param("service").empty()) {
    params.push_back("service=" + UrlEncode(challenge.Param("service")));
  }
  for (absl::string_view one : absl::StrSplit(scope, ' ', absl::SkipEmpty())) {
    params.push_back("scope=" + UrlEncode(one));
  }
  if (!credentials_.username.empty()) {
    params.push_back("account=" + UrlEncode(credentials_.username));
    request.headers.emplace_back("Authorization", BasicAuthorization());
    if (offline_token_) {
      params.push_back("client_id=docker");
      params.push_back("offline_token=true");
    }
  }
  if (!params.empty()) {
    absl::StrAppend(&url, realm.find('?') == std::string::npos ? "?" : "&",
                    absl::StrJoin(params, "&"));
  }
  request.url = url;
  absl::StatusOr<HttpResponse> response = http_->Do(request);
  if (!response.ok()) return Surface(response.status());
  if (response->status != 200) {
    return RegistryError(*response, absl::StrCat("getting a token from ", realm));
  }
  return TakeToken(*response, realm);
}

absl::StatusOr<std::string> RegistryClient::Authorize(const std::vector<Challenge>& challenges,
                                                      const std::string& scope) {
  for (const Challenge& challenge : challenges) {
    if (challenge.scheme == "bearer") {
      ASSIGN_OR_RETURN(std::string value, FetchToken(challenge, scope));
      std::lock_guard<std::mutex> lock(mutex_);
      authorizations_[scope] = value;
      return value;
    }
  }
  for (const Challenge& challenge : challenges) {
    if (challenge.scheme == "basic") {
      if (credentials_.username.empty()) break;
      std::lock_guard<std::mutex> lock(mutex_);
      authorizations_[""] = BasicAuthorization();
      return authorizations_[""];
    }
  }
  return absl::UnauthenticatedError("no basic auth credentials");
}

absl::StatusOr<HttpResponse> RegistryClient::Send(HttpRequest request, const std::string& scope,
                                                  const BodySink* sink,
                                                  const HeadersHook* on_headers) {
  request.ca_file = endpoint_.ca_file;
  const bool replayable = request.body_source == nullptr;
  const bool retryable =
      replayable && sink == nullptr && (request.method == "GET" || request.method == "HEAD");
  const size_t base_headers = request.headers.size();
  bool answered_challenge = false;
  int attempt = 0;
  int backoff_ms = retry_.first_backoff_ms;
  while (true) {
    request.headers.resize(base_headers);
    std::string authorization = CachedAuthorization(scope);
    if (!authorization.empty()) request.headers.emplace_back("Authorization", authorization);
    absl::StatusOr<HttpResponse> response = on_headers != nullptr
                                                ? http_->Stream(request, *sink, *on_headers)
                                                : http_->Do(request, sink);
    ++attempt;
    if (retryable && attempt < retry_.attempts && Retryable(response)) {
      std::this_thread::sleep_for(std::chrono::milliseconds(backoff_ms));
      backoff_ms *= 2;
      continue;
    }
    if (!response.ok()) return Surface(response.status());
    if (response->status != 401 || answered_challenge || !replayable) return response;
    std::vector<Challenge> challenges;
    auto range = response->headers.equal_range("www-authenticate");
    for (auto it = range.first; it != range.second; ++it) {
      for (Challenge& challenge : ParseWwwAuthenticate(it->second)) {
        challenges.push_back(std::move(challenge));
      }
    }
    // Without credentials a Basic challenge cannot be answered: the 401 stands.
    absl::StatusOr<std::string> answer = Authorize(challenges, scope);
    if (!answer.ok()) {
      // Docker's words: `Head "<url>": no basic auth credentials`.
      if (absl::IsUnauthenticated(answer.status())) {
        return absl::UnauthenticatedError(absl::StrCat(request.method == "HEAD" ? "Head" : "Get",
                                                       " \"", request.url,
                                                       "\": ", answer.status().message()));
      }
      return answer.status();
    }
    answered_challenge = true;
  }
}

absl::Status RegistryClient::Login() {
  offline_token_ = true;
  HttpRequest request;
  request.url = endpoint_.BaseUrl() + "/v2/";
  ASSIGN_OR_RETURN(HttpResponse response, Send(request, ""));
  if (response.status == 200) return absl::OkStatus();
  if (response.status == 401) {
    return absl::UnauthenticatedError(
        absl::StrCat("login attempt to ", request.url, " failed with status: 401 Unauthorized"));
  }
  return RegistryError(response, absl::StrCat("login attempt to ", request.url, " failed"));
}

absl::StatusOr<RegistryClient::FetchedManifest> RegistryClient::GetManifest(
    const std::string& repository, const std::string& reference) {
  HttpRequest request;
  request.url = absl::StrCat(endpoint_.BaseUrl(), "/v2/", repository, "/manifests/", reference);
  request.headers.emplace_back("Accept", ManifestAcceptHeader());
  ASSIGN_OR_RETURN(HttpResponse response, Send(request, RepositoryScope(repository, false)));
  std::string name = absl::StrCat(endpoint_.host, "/", repository,
                                  absl::StartsWith(reference, "sha256:") ? "@" : ":", reference);
  if (response.status == 404) {
    return absl::NotFoundError(
        absl::StrCat("manifest for ", name, " not found: ", RegistryErrorText(response)));
  }
  if (response.status != 200) {
    return RegistryError(response, absl::StrCat("Error response from registry for ", name));
  }
  FetchedManifest manifest;
  manifest.media_type = response.Header("content-type");
  manifest.body = std::move(response.body);
  manifest.digest = Sha256Digest(manifest.body);
  if (absl::StartsWith(reference, "sha256:") && manifest.digest != reference) {
    return absl::InvalidArgumentError(absl::StrCat("manifest verification failed for digest ",
                                                   reference, ": got ", manifest.digest));
  }
  return manifest;
}

absl::Status RegistryClient::FetchBlob(const std::string& repository, const std::string& digest,
                                       const BodySink& sink) {
  int64_t start = 0;
  return FetchBlobFrom(repository, digest, 0, &start, sink);
}

absl::Status RegistryClient::FetchBlobFrom(const std::string& repository, const std::string& digest,
                                           int64_t offset, int64_t* start, const BodySink& sink) {
  HttpRequest request;
  request.url = absl::StrCat(endpoint_.BaseUrl(), "/v2/", repository, "/blobs/", digest);
  if (offset > 0) request.headers.emplace_back("Range", absl::StrCat("bytes=", offset, "-"));
  *start = 0;
  HeadersHook on_headers = [&](const HttpResponse& head) -> absl::Status {
    if (head.status != 206) return absl::OkStatus();
    // "bytes <first>-<last>/<total>": anything but our offset cannot be
    // appended to what we have.
    const std::string content_range = head.Header("content-range");
    absl::string_view range(content_range);
    int64_t first = -1;
    if (absl::ConsumePrefix(&range, "bytes ")) {
      absl::string_view number = range.substr(0, range.find('-'));
      if (!absl::SimpleAtoi(number, &first)) first = -1;
    }
    if (first != offset) {
      return absl::UnavailableError(absl::StrCat("fetching blob ", digest, ": the registry sent ",
                                                 "an unexpected range \"", content_range, "\""));
    }
    *start = offset;
    return absl::OkStatus();
  };
  ASSIGN_OR_RETURN(HttpResponse response,
                   Send(request, RepositoryScope(repository, false), &sink, &on_headers));
  if (response.status == 200 || response.status == 206) return absl::OkStatus();
  if (response.status >= 500) {
    // Transient for the caller, which retries the whole blob.
    return absl::UnavailableError(
        absl::StrCat("fetching blob ", digest, ": ", RegistryErrorText(response)));
  }
  return RegistryError(response, absl::StrCat("fetching blob ", digest));
}

absl::StatusOr<bool> RegistryClient::BlobExists(const std::string& repository,
                                                const std::string& digest) {
  HttpRequest request;
  request.method = "HEAD";
  request.url = absl::StrCat(endpoint_.BaseUrl(), "/v2/", repository, "/blobs/", digest);
  ASSIGN_OR_RETURN(HttpResponse response, Send(request, RepositoryScope(repository, true)));
  if (response.status == 200) return true;
  if (response.status == 404) return false;
  return RegistryError(response, absl::StrCat("checking blob ", digest));
}

absl::StatusOr<bool> RegistryClient::MountBlob(const std::string& repository,
                                               const std::string& digest,
                                               const std::string& from_repository) {
  HttpRequest request;
  request.method = "POST";
  request.url = absl::StrCat(endpoint_.BaseUrl(), "/v2/", repository,
                             "/blobs/uploads/?mount=", UrlEncode(digest),
                             "&from=", UrlEncode(from_repository));
  std::string scope =
      absl::StrCat(RepositoryScope(repository, true), " ", RepositoryScope(from_repository, false));
  ASSIGN_OR_RETURN(HttpResponse response, Send(request, scope));
  if (response.status == 201) return true;
  if (response.status == 202) {
    // The registry opened an upload instead; cancel it rather than leave it.
    std::string location = response.Header("location");
    if (!location.empty()) {
      HttpRequest cancel;
      cancel.method = "DELETE";
      cancel.url = ResolveUrl(request.url, location);
      Send(cancel, RepositoryScope(repository, true)).IgnoreError();
    }
    return false;
  }
  return RegistryError(response, absl::StrCat("mounting blob ", digest));
}

absl::Status RegistryClient::UploadBlob(const std::string& repository, const std::string& digest,
                                        ByteSource& content, int64_t size) {
  const std::string scope = RepositoryScope(repository, true);
  HttpRequest start;
  start.method = "POST";
  start.url = absl::StrCat(endpoint_.BaseUrl(), "/v2/", repository, "/blobs/uploads/");
  ASSIGN_OR_RETURN(HttpResponse started, Send(start, scope));
  if (started.status != 202) {
    return RegistryError(started, absl::StrCat("starting the upload of ", digest));
  }
  std::string location = started.Header("location");
  if (location.empty()) {
    return absl::InternalError("the registry started an upload without a Location");
  }
  HttpRequest put;
  put.method = "PUT";
  put.url = ResolveUrl(start.url, location);
  absl::StrAppend(&put.url, put.url.find('?') == std::string::npos ? "?" : "&",
                  "digest=", UrlEncode(digest));
  put.headers.emplace_back("Content-Type", "application/octet-stream");
  put.body_source = &content;
  put.body_size = size;
  ASSIGN_OR_RETURN(HttpResponse finished, Send(put, scope));
  if (finished.status != 201 && finished.status != 204) {
    return RegistryError(finished, absl::StrCat("uploading blob ", digest));
  }
  return absl::OkStatus();
}

absl::Status RegistryClient::UploadBlobChunked(
    const std::string& repository, const std::function<absl::StatusOr<std::string>()>& next_chunk,
    const std::function<std::string()>& digest) {
  const std::string scope = RepositoryScope(repository, true);
  HttpRequest start;
  start.method = "POST";
  start.url = absl::StrCat(endpoint_.BaseUrl(), "/v2/", repository, "/blobs/uploads/");
  ASSIGN_OR_RETURN(HttpResponse started, Send(start, scope));
  if (started.status != 202) return RegistryError(started, "starting a chunked upload");
  std::string url = ResolveUrl(start.url, started.Header("location"));
  if (started.Header("location").empty()) {
    return absl::InternalError("the registry started an upload without a Location");
  }
  int64_t offset = 0;
  while (true) {
    ASSIGN_OR_RETURN(std::string chunk, next_chunk());
    if (chunk.empty()) break;
    HttpRequest patch;
    patch.method = "PATCH";
    patch.url = url;
    const int64_t end = offset + static_cast<int64_t>(chunk.size()) - 1;
    patch.headers.emplace_back("Content-Type", "application/octet-stream");
    patch.headers.emplace_back("Content-Range", absl::StrCat(offset, "-", end));
    patch.body = std::move(chunk);
    ASSIGN_OR_RETURN(HttpResponse patched, Send(patch, scope));
    if (patched.status != 202) {
      return RegistryError(patched, absl::StrCat("uploading bytes ", offset, "-", end));
    }
    // The registry says what it holds; anything else than all we sent would
    // leave a hole in the blob.
    std::string held = patched.Header("range");
    if (!held.empty() && held != absl::StrCat("0-", end) && held != absl::StrCat("bytes=0-", end)) {
      return absl::InternalError(
          absl::StrCat("the registry holds ", held, " of the upload, not 0-", end));
    }
    if (!patched.Header("location").empty()) {
      url = ResolveUrl(url, patched.Header("location"));
    }
    offset = end + 1;
  }
  HttpRequest put;
  put.method = "PUT";
  put.url = url;
  const std::string blob_digest = digest();
  absl::StrAppend(&put.url, put.url.find('?') == std::string::npos ? "?" : "&",
                  "digest=", UrlEncode(blob_digest));
  put.headers.emplace_back("Content-Type", "application/octet-stream");
  ASSIGN_OR_RETURN(HttpResponse finished, Send(put, scope));
  if (finished.status != 201 && finished.status != 204) {
    return RegistryError(finished, absl::StrCat("uploading blob ", blob_digest));
  }
  return absl::OkStatus();
}

absl::StatusOr<std::string> RegistryClient::PutManifest(const std::string& repository,
                                                        const std::string& tag,
                                                        const std::string& media_type,
                                                        const std::string& body) {
  HttpRequest request;
  request.method = "PUT";
  request.url = absl::StrCat(endpoint_.BaseUrl(), "/v2/", repository, "/manifests/", tag);
  request.headers.emplace_back("Content-Type", media_type);
  request.body = body;
  ASSIGN_OR_RETURN(HttpResponse response, Send(request, RepositoryScope(repository, true)));
  if (response.status != 201 && response.status != 200 && response.status != 202) {
    return RegistryError(response, absl::StrCat("pushing the manifest of ", repository, ":", tag));
  }
  std::string digest = Sha256Digest(body);
  std::string reported = response.Header("docker-content-digest");
  if (!reported.empty() && reported != digest) {
    return absl::InternalError(
        absl::StrCat("the registry stored the manifest as ", reported, ", expected ", digest));
  }
  return digest;
}

}  // namespace berth::imaged::registry
