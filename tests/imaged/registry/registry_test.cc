// The registry client's parsing and auth logic, against an in-memory transport.
#include <catch2/catch.hpp>
#include <deque>

#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "common/digest.h"
#include "common/json.h"
#include "imaged/registry/client.h"
#include "imaged/registry/http.h"
#include "imaged/registry/manifest.h"
#include "imaged/registry/www_authenticate.h"

namespace berth::imaged::registry {
namespace {

// Answers requests from a queue of canned responses and records them.
class ScriptedTransport : public HttpTransport {
 public:
  absl::StatusOr<HttpResponse> Do(const HttpRequest& request, const BodySink* sink) override {
    requests.push_back(request);
    if (responses.empty()) return absl::UnavailableError("Get \"x\": no more responses");
    absl::StatusOr<HttpResponse> response = responses.front();
    responses.pop_front();
    if (response.ok() && sink != nullptr && response->status / 100 == 2) {
      absl::Status status = (*sink)(response->body);
      if (!status.ok()) return status;
      response->body.clear();
    }
    return response;
  }
  static HttpResponse Reply(int status, std::string body = "",
                            std::multimap<std::string, std::string> headers = {}) {
    HttpResponse response;
    response.status = status;
    response.body = std::move(body);
    response.headers = std::move(headers);
    return response;
  }
  std::string AuthorizationOf(size_t index) const {
    for (const auto& [name, value] : requests.at(index).headers) {
      if (name == "Authorization") return value;
    }
    return "";
  }

  std::deque<absl::StatusOr<HttpResponse>> responses;
  std::vector<HttpRequest> requests;
};

Endpoint Local() { return Endpoint{"127.0.0.1:5000", "http", ""}; }
RetryPolicy Fast() { return RetryPolicy{3, 1}; }

}  // namespace

TEST_CASE("WWW-Authenticate challenges are parsed", "[registry]") {
  auto challenges = ParseWwwAuthenticate(
      "Bearer realm=\"https://auth.example/token\",service=\"registry.example\","
      "scope=\"repository:a/b:pull,push\"");
  REQUIRE(challenges.size() == 1);
  CHECK(challenges[0].scheme == "bearer");
  CHECK(challenges[0].Param("realm") == "https://auth.example/token");
  CHECK(challenges[0].Param("service") == "registry.example");
  CHECK(challenges[0].Param("scope") == "repository:a/b:pull,push");

  challenges = ParseWwwAuthenticate("Basic realm=\"Registry Realm\"");
  REQUIRE(challenges.size() == 1);
  CHECK(challenges[0].scheme == "basic");
  CHECK(challenges[0].Param("realm") == "Registry Realm");

  challenges = ParseWwwAuthenticate("Negotiate, BASIC Realm=x, Bearer realm=\"a\\\"b\"");
  REQUIRE(challenges.size() == 3);
  CHECK(challenges[0].scheme == "negotiate");
  CHECK(challenges[1].scheme == "basic");
  CHECK(challenges[1].Param("realm") == "x");
  CHECK(challenges[2].Param("realm") == "a\"b");
  CHECK(ParseWwwAuthenticate("").empty());
}

TEST_CASE("schema2 and OCI manifests are parsed", "[registry]") {
  Json body = {
      {"schemaVersion", 2},
      {"mediaType", kDockerManifest},
      {"config", {{"mediaType", kDockerConfig}, {"size", 10}, {"digest", Sha256Digest("c")}}},
      {"layers", {{{"mediaType", kDockerLayerGzip}, {"size", 20}, {"digest", Sha256Digest("l")}}}}};
  auto manifest = ParseManifest(kDockerManifest, body.dump(), "a:b");
  REQUIRE(manifest.ok());
  CHECK_FALSE(manifest->is_index);
  CHECK(manifest->config.digest == Sha256Digest("c"));
  CHECK(manifest->config.size == 10);
  REQUIRE(manifest->layers.size() == 1);
  CHECK(manifest->layers[0].size == 20);

  // OCI manifests may leave mediaType out: the Content-Type says what it is.
  body.erase("mediaType");
  manifest = ParseManifest("application/vnd.oci.image.manifest.v1+json; charset=utf-8", body.dump(),
                           "a:b");
  REQUIRE(manifest.ok());
  CHECK(manifest->media_type == kOciManifest);

  Json bad = body;
  bad["layers"][0]["digest"] = "md5:abc";
  CHECK(absl::IsInvalidArgument(ParseManifest(kOciManifest, bad.dump(), "a:b").status()));
  bad = body;
  bad["layers"][0].erase("size");
  CHECK(absl::IsInvalidArgument(ParseManifest(kOciManifest, bad.dump(), "a:b").status()));
  CHECK(absl::IsInvalidArgument(ParseManifest(kOciManifest, "{not json", "a:b").status()));
  CHECK(absl::IsInvalidArgument(ParseManifest("text/html", body.dump(), "a:b").status()));
}

TEST_CASE("schema 1 is refused with Docker's message", "[registry]") {
  auto manifest = ParseManifest(kSchema1Signed, R"({"schemaVersion":1,"name":"a"})", "old:1");
  REQUIRE(absl::IsInvalidArgument(manifest.status()));
  CHECK(absl::StrContains(manifest.status().message(), "schema 1 support has been removed"));
  CHECK(absl::StrContains(manifest.status().message(), "old:1"));
  CHECK_FALSE(ParseManifest("application/json", R"({"schemaVersion":1})", "x").ok());
}

TEST_CASE("platform selection in a manifest list", "[registry]") {
  auto entry = [](const std::string& arch, const std::string& variant, const std::string& seed) {
    Json platform = {{"os", "linux"}, {"architecture", arch}};
    if (!variant.empty()) platform["variant"] = variant;
    return Json{{"mediaType", kDockerManifest},
                {"size", 100},
                {"digest", Sha256Digest(seed)},
                {"platform", platform}};
  };
  Json body = {{"schemaVersion", 2},
               {"mediaType", kDockerManifestList},
               {"manifests",
                {entry("arm", "v6", "armv6"), entry("arm", "v7", "armv7"),
                 entry("arm64", "v8", "arm64"), entry("amd64", "", "amd64"),
                 Json{{"mediaType", kOciManifest},
                      {"size", 5},
                      {"digest", Sha256Digest("att")},
                      {"platform", {{"os", "unknown"}, {"architecture", "unknown"}}}}}}};
  auto index = ParseManifest(kDockerManifestList, body.dump(), "a");
  REQUIRE(index.ok());
  REQUIRE(index->is_index);
  REQUIRE(index->manifests.size() == 5);

  CHECK(SelectPlatform(*index, ParsePlatform("linux/amd64").value())->digest ==
        Sha256Digest("amd64"));
  CHECK(SelectPlatform(*index, ParsePlatform("linux/x86_64").value())->digest ==
        Sha256Digest("amd64"));
  CHECK(SelectPlatform(*index, ParsePlatform("linux/arm/v7").value())->digest ==
        Sha256Digest("armv7"));
  CHECK(SelectPlatform(*index, ParsePlatform("linux/arm/v6").value())->digest ==
        Sha256Digest("armv6"));
  // arm64's v8 is its default variant: asked for or not, it matches.
  CHECK(SelectPlatform(*index, ParsePlatform("linux/aarch64").value())->digest ==
        Sha256Digest("arm64"));
  CHECK(SelectPlatform(*index, ParsePlatform("linux/arm64/v8").value())->digest ==
        Sha256Digest("arm64"));
  auto missing = SelectPlatform(*index, ParsePlatform("linux/s390x").value());
  REQUIRE(absl::IsNotFound(missing.status()));
  CHECK(missing.status().message() ==
        "no matching manifest for linux/s390x in the manifest list entries");
  CHECK(ParsePlatform("").value().String() == HostPlatform().String());
  CHECK_FALSE(ParsePlatform("linux/arm/v7/extra").ok());
}

TEST_CASE("a Bearer challenge is answered with a token from the realm", "[registry]") {
  ScriptedTransport http;
  http.responses.push_back(ScriptedTransport::Reply(
      401, R"({"errors":[{"code":"UNAUTHORIZED","message":"authentication required"}]})",
      {{"www-authenticate",
        "Bearer realm=\"http://127.0.0.1:9/token\",service=\"reg\",scope=\"x\""}}));
  http.responses.push_back(ScriptedTransport::Reply(200, R"({"token":"T1"})"));
  http.responses.push_back(
      ScriptedTransport::Reply(200, "{}", {{"content-type", kDockerManifest}}));
  // The next request for the same scope reuses the token.
  http.responses.push_back(ScriptedTransport::Reply(200, "{}"));
  RegistryClient client(&http, Local(), Credentials{"user", "pw", "", ""}, Fast());
  auto manifest = client.GetManifest("a/b", "v1");
  REQUIRE(manifest.ok());
  CHECK(manifest->digest == Sha256Digest("{}"));
  REQUIRE(http.requests.size() == 3);
  CHECK(http.requests[0].url == "http://127.0.0.1:5000/v2/a/b/manifests/v1");
  CHECK(http.requests[1].url ==
        "http://127.0.0.1:9/token?service=reg&scope=repository%3Aa%2Fb%3Apull&account=user");
  CHECK(http.AuthorizationOf(1) == "Basic " + absl::Base64Escape("user:pw"));
  CHECK(http.AuthorizationOf(2) == "Bearer T1");
  REQUIRE(client.GetManifest("a/b", "v2").ok());
  CHECK(http.AuthorizationOf(3) == "Bearer T1");
}

TEST_CASE("identity tokens: given at login, then used as OAuth refresh tokens", "[registry]") {
  const std::string challenge = "Bearer realm=\"http://127.0.0.1:9/token\",service=\"reg\"";
  ScriptedTransport http;
  http.responses.push_back(ScriptedTransport::Reply(401, "", {{"www-authenticate", challenge}}));
  http.responses.push_back(
      ScriptedTransport::Reply(200, R"({"token":"T1","refresh_token":"R1","expires_in":60})"));
  http.responses.push_back(ScriptedTransport::Reply(200));
  RegistryClient login(&http, Local(), Credentials{"user", "pw", "", ""}, Fast());
  REQUIRE(login.Login().ok());
  CHECK(login.identity_token() == "R1");
  CHECK(absl::StrContains(http.requests[1].url, "client_id=docker&offline_token=true"));

  // Later: the identity token alone, exchanged for access tokens by POST,
  // again when the access token expires in the middle of a pull.
  http.requests.clear();
  http.responses.push_back(ScriptedTransport::Reply(
      401, "", {{"www-authenticate", challenge + ",scope=\"repository:a:pull\""}}));
  http.responses.push_back(ScriptedTransport::Reply(200, R"({"access_token":"A1"})"));
  http.responses.push_back(ScriptedTransport::Reply(200, "{}"));
  http.responses.push_back(ScriptedTransport::Reply(
      401, "", {{"www-authenticate", challenge + ",error=\"invalid_token\""}}));
  http.responses.push_back(ScriptedTransport::Reply(200, R"({"access_token":"A2"})"));
  http.responses.push_back(ScriptedTransport::Reply(200, "blob"));
  RegistryClient pull(&http, Local(), Credentials{"", "", "R1", ""}, Fast());
  REQUIRE(pull.GetManifest("a", "v1").ok());
  CHECK(http.requests[1].method == "POST");
  CHECK(http.requests[1].url == "http://127.0.0.1:9/token");
  CHECK(http.requests[1].body ==
        "grant_type=refresh_token&refresh_token=R1&client_id=docker&service=reg&"
        "scope=repository%3Aa%3Apull");
  CHECK(http.AuthorizationOf(2) == "Bearer A1");
  std::string blob;
  BodySink sink = [&](absl::string_view data) {
    blob.append(data.data(), data.size());
    return absl::OkStatus();
  };
  REQUIRE(pull.FetchBlob("a", "sha256:x", sink).ok());
  CHECK(blob == "blob");
  CHECK(http.AuthorizationOf(3) == "Bearer A1");
  CHECK(http.requests[4].method == "POST");
  CHECK(http.AuthorizationOf(5) == "Bearer A2");

  // A refused identity token is the user's to fix: log in again.
  http.requests.clear();
  http.responses.push_back(ScriptedTransport::Reply(401, "", {{"www-authenticate", challenge}}));
  http.responses.push_back(ScriptedTransport::Reply(401, R"({"error":"invalid_grant"})"));
  RegistryClient stale(&http, Local(), Credentials{"", "", "old", ""}, Fast());
  auto manifest = stale.GetManifest("a", "v1");
  REQUIRE(absl::IsUnauthenticated(manifest.status()));
  CHECK(absl::StrContains(manifest.status().message(), "refused the identity token"));
}

TEST_CASE("Basic challenges, refused logins and registry error texts", "[registry]") {
  ScriptedTransport http;
  http.responses.push_back(
      ScriptedTransport::Reply(401, "", {{"www-authenticate", "Basic realm=\"Registry Realm\""}}));
  http.responses.push_back(ScriptedTransport::Reply(200));
  RegistryClient good(&http, Local(), Credentials{"u", "p", "", ""}, Fast());
  CHECK(good.Login().ok());
  CHECK(http.AuthorizationOf(1) == "Basic " + absl::Base64Escape("u:p"));

  http.requests.clear();
  http.responses.push_back(
      ScriptedTransport::Reply(401, "", {{"www-authenticate", "Basic realm=\"Registry Realm\""}}));
  http.responses.push_back(ScriptedTransport::Reply(401));
  RegistryClient bad(&http, Local(), Credentials{"u", "wrong", "", ""}, Fast());
  absl::Status status = bad.Login();
  REQUIRE(absl::IsUnauthenticated(status));
  CHECK(status.message() ==
        "login attempt to http://127.0.0.1:5000/v2/ failed with status: 401 Unauthorized");

  // Without credentials the 401 stands (nothing to answer it with).
  http.requests.clear();
  http.responses.push_back(ScriptedTransport::Reply(
      401, R"({"errors":[{"code":"UNAUTHORIZED","message":"authentication required"}]})",
      {{"www-authenticate", "Basic realm=\"r\""}}));
  RegistryClient anonymous(&http, Local(), Credentials{}, Fast());
  auto manifest = anonymous.GetManifest("a", "latest");
  REQUIRE(absl::IsUnauthenticated(manifest.status()));
  CHECK(manifest.status().message() ==
        "Get \"http://127.0.0.1:5000/v2/a/manifests/latest\": no basic auth credentials");
  CHECK(http.requests.size() == 1);
  // A 401 without an error body still reads as Docker's.
  CHECK(RegistryErrorText(ScriptedTransport::Reply(401)) ==
        "unauthorized: authentication required");

  http.responses.push_back(ScriptedTransport::Reply(
      404, R"({"errors":[{"code":"MANIFEST_UNKNOWN","message":"manifest unknown"}]})"));
  manifest = anonymous.GetManifest("a", "nope");
  REQUIRE(absl::IsNotFound(manifest.status()));
  CHECK(manifest.status().message() ==
        "manifest for 127.0.0.1:5000/a:nope not found: manifest unknown: manifest unknown");
}

TEST_CASE("idempotent requests are retried on 5xx and dropped connections", "[registry]") {
  ScriptedTransport http;
  http.responses.push_back(ScriptedTransport::Reply(503));
  http.responses.push_back(absl::UnavailableError("Get \"u\": Connection reset by peer"));
  http.responses.push_back(ScriptedTransport::Reply(200));
  RegistryClient client(&http, Local(), Credentials{}, Fast());
  auto exists = client.BlobExists("a", Sha256Digest("x"));
  REQUIRE(exists.ok());
  CHECK(*exists);
  CHECK(http.requests.size() == 3);

  // Out of attempts: the last failure, as the registry's (not imaged's) problem.
  for (int i = 0; i < 3; ++i) {
    http.responses.push_back(absl::UnavailableError("Get \"u\": Connection refused"));
  }
  exists = client.BlobExists("a", Sha256Digest("x"));
  CHECK(absl::IsInternal(exists.status()));
  // Uploads are not replayed.
  http.requests.clear();
  http.responses.push_back(ScriptedTransport::Reply(503));
  CHECK_FALSE(client.PutManifest("a", "t", kDockerManifest, "{}").ok());
  CHECK(http.requests.size() == 1);
}

TEST_CASE("uploads follow the Location of the session", "[registry]") {
  ScriptedTransport http;
  http.responses.push_back(
      ScriptedTransport::Reply(202, "", {{"location", "/v2/a/blobs/uploads/u1?_state=s"}}));
  http.responses.push_back(ScriptedTransport::Reply(201));
  RegistryClient client(&http, Local(), Credentials{}, Fast());
  StringSource content("hello");
  REQUIRE(client.UploadBlob("a", Sha256Digest("hello"), content, 5).ok());
  REQUIRE(http.requests.size() == 2);
  CHECK(http.requests[0].method == "POST");
  CHECK(http.requests[0].url == "http://127.0.0.1:5000/v2/a/blobs/uploads/");
  CHECK(http.requests[1].method == "PUT");
  CHECK(http.requests[1].url == "http://127.0.0.1:5000/v2/a/blobs/uploads/u1?_state=s&digest=" +
                                    UrlEncode(Sha256Digest("hello")));
  CHECK(http.requests[1].body_size == 5);

  CHECK(ResolveUrl("http://h:1/v2/a/", "http://o/x") == "http://o/x");
  CHECK(ResolveUrl("http://h:1/v2/a/b", "/x?y") == "http://h:1/x?y");
  CHECK(ResolveUrl("http://h:1/v2/a/b", "c") == "http://h:1/v2/a/c");
}

}  // namespace berth::imaged::registry
