// A client of one registry (OCI distribution spec / Docker registry API v2):
// manifests, blobs, uploads, and the auth dance in front of them. A 401 with
// a Basic challenge is answered with the user's credentials; a Bearer
// challenge sends the client to the token service named in it (realm,
// service, scope) and the token it returns is cached per scope. Idempotent
// requests are retried with back-off on 5xx and dropped connections.
//
// Thread-safe: the layers of one image are transferred concurrently through
// one client.
#pragma once

#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "imaged/byte_source.h"
#include "imaged/registry/http.h"
#include "imaged/registry/www_authenticate.h"

namespace berth::imaged::registry {

struct Credentials {
  std::string username;
  std::string password;
  // An OAuth refresh token (docker login to a token service).
  std::string identity_token;
  // A bearer token to use as it is.
  std::string registry_token;

  bool empty() const {
    return username.empty() && password.empty() && identity_token.empty() && registry_token.empty();
  }
};

struct Endpoint {
  // "127.0.0.1:5000", "registry-1.docker.io".
  std::string host;
  // "http" or "https".
  std::string scheme = "https";
  // Extra CA to trust (certs.d/<host>/ca.crt); empty for the system's.
  std::string ca_file;

  std::string BaseUrl() const { return scheme + "://" + host; }
};

// The retry policy: attempts in all, and the first back-off (doubled each time).
struct RetryPolicy {
  int attempts = 3;
  int first_backoff_ms = 200;
};

class RegistryClient {
 public:
  // http is not owned and must outlive the client.
  RegistryClient(HttpTransport* http, Endpoint endpoint, Credentials credentials,
                 RetryPolicy retry = RetryPolicy());

  const Endpoint& endpoint() const { return endpoint_; }

  // docker login: GET /v2/ with the credentials. Unauthenticated when the
  // registry refuses them. A token service asked at login is asked for a
  // refresh token as well (offline_token=true, as Docker does); when it
  // sends one, that is the identity token the client keeps instead of the
  // password.
  absl::Status Login();
  // The refresh token the token service sent last (empty if none).
  std::string identity_token();

  struct FetchedManifest {
    std::string media_type;
    std::string body;
    // sha256 of the body (verified against the reference when it is a digest).
    std::string digest;
  };
  // reference: a tag or "sha256:<hex>". NotFound "manifest unknown" when absent.
  absl::StatusOr<FetchedManifest> GetManifest(const std::string& repository,
                                              const std::string& reference);
  // Streams a blob to sink. The caller verifies the digest (it sees every byte).
  absl::Status FetchBlob(const std::string& repository, const std::string& digest,
                         const BodySink& sink);
  // Streams the blob from byte offset on (a Range request when offset > 0).
  // *start is where the body that reaches sink begins: offset when the
  // registry honoured the range, 0 when it sent the whole blob. It is set
  // before the first byte reaches sink.
  absl::Status FetchBlobFrom(const std::string& repository, const std::string& digest,
                             int64_t offset, int64_t* start, const BodySink& sink);
  absl::StatusOr<bool> BlobExists(const std::string& repository, const std::string& digest);
  // Asks the registry to link a blob from another repository. True when it
  // did; false when it started an ordinary upload instead (then UploadBlob).
  absl::StatusOr<bool> MountBlob(const std::string& repository, const std::string& digest,
                                 const std::string& from_repository);
  // A monolithic upload: POST for a session, then PUT ?digest= with the bytes.
  absl::Status UploadBlob(const std::string& repository, const std::string& digest,
                          ByteSource& content, int64_t size);
  // A chunked upload: POST for a session, each chunk PATCHed with its
  // Content-Range, then PUT ?digest= without a body. next_chunk returns the
  // next bytes, empty at the end; digest is asked for after the last chunk
  // (the caller may compute it while it produces them, as when compressing).
  absl::Status UploadBlobChunked(const std::string& repository,
                                 const std::function<absl::StatusOr<std::string>()>& next_chunk,
                                 const std::function<std::string()>& digest);
  // Returns the manifest's digest (Docker-Content-Digest, or computed).
  absl::StatusOr<std::string> PutManifest(const std::string& repository, const std::string& tag,
                                          const std::string& media_type, const std::string& body);

 private:
  // Sends request with the authorization cached for scope; on a 401 answers
  // the challenge once and resends (not for a streamed request body).
  // Retries idempotent requests without a sink on 5xx and transport errors.
  absl::StatusOr<HttpResponse> Send(HttpRequest request, const std::string& scope,
                                    const BodySink* sink = nullptr,
                                    const HeadersHook* on_headers = nullptr);
  absl::StatusOr<std::string> Authorize(const std::vector<Challenge>& challenges,
                                        const std::string& scope);
  absl::StatusOr<std::string> FetchToken(const Challenge& challenge, const std::string& scope);
  // OAuth2 (RFC 6749) refresh-token grant: POST to the realm with the
  // identity token, as Docker does once it has one.
  absl::StatusOr<std::string> FetchTokenWithRefresh(const Challenge& challenge,
                                                    const std::string& scope);
  // The token in a token service's answer; keeps a refresh token it carries.
  absl::StatusOr<std::string> TakeToken(const HttpResponse& response, const std::string& realm);
  std::string CachedAuthorization(const std::string& scope);
  std::string BasicAuthorization() const;

  HttpTransport* http_;
  Endpoint endpoint_;
  Credentials credentials_;
  RetryPolicy retry_;
  std::mutex mutex_;
  bool offline_token_ = false;
  std::string refresh_token_;
  // Authorization header values by scope ("" for Basic, valid for all).
  std::map<std::string, std::string> authorizations_;
};

// Docker's text for a registry error response: "manifest unknown: manifest
// unknown" from {"errors":[{"code":"MANIFEST_UNKNOWN","message":"..."}]},
// else the HTTP status line.
std::string RegistryErrorText(const HttpResponse& response);
// The status for an unexpected registry response (404 NotFound, 401
// Unauthenticated, 403 PermissionDenied, 4xx InvalidArgument, else Internal),
// its message prefixed with context.
absl::Status RegistryError(const HttpResponse& response, const std::string& context);

std::string UrlEncode(absl::string_view text);
// "repository:<name>:pull" / "repository:<name>:pull,push".
std::string RepositoryScope(const std::string& repository, bool push);

}  // namespace berth::imaged::registry
