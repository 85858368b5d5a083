#include <catch2/catch.hpp>

#include "apiserver/errors.h"
#include "apiserver/filters.h"
#include "apiserver/framing.h"
#include "apiserver/http/exchange.h"
#include "apiserver/router.h"
#include "apiserver/timefmt.h"
#include "apiserver/version.h"
#include "tests/apiserver/fakes.h"

namespace berth::apiserver {
namespace {

Router MakeRouter(std::string* hit) {
  Router router;
  auto route = [hit](const std::string& label) {
    return [hit, label](Exchange&, const std::string& name) {
      *hit = label + "|" + name;
      return absl::OkStatus();
    };
  };
  router.Add("GET", "/images/json", route("list"));
  router.Add("GET", "/images/{name}/json", route("inspect"));
  router.Add("GET", "/images/{name}/history", route("history"));
  router.Add("DELETE", "/images/{name}", route("delete"));
  router.Add("POST", "/images/{name}/tag", route("tag"));
  router.Add("GET", "/containers/{name}/json", route("cinspect"));
  router.Add("GET", "/_ping", route("ping"));
  return router;
}

std::string Route(const Router& router, const std::string& method, const std::string& path,
                  std::string* hit) {
  auto match = router.Find(method, path);
  if (!match) return "none";
  return match->name.empty() ? "literal" : match->name;
}

TEST_CASE("router matches unescaped references with / and :") {
  std::string hit;
  Router router = MakeRouter(&hit);
  CHECK(Route(router, "DELETE", "/images/example.com/bb:t1", &hit) == "example.com/bb:t1");
  CHECK(Route(router, "GET", "/images/sha256:abc/json", &hit) == "sha256:abc");
  CHECK(Route(router, "GET", "/images/a/b/history", &hit) == "a/b");
  CHECK(Route(router, "POST", "/images/busybox:latest/tag", &hit) == "busybox:latest");
  CHECK(Route(router, "GET", "/images/json", &hit) == "literal");
  CHECK(Route(router, "GET", "/containers/s1/json", &hit) == "s1");
}

TEST_CASE("router rejects unknown paths, methods and empty names") {
  std::string hit;
  Router router = MakeRouter(&hit);
  CHECK(Route(router, "GET", "/images//json", &hit) == "none");
  CHECK(Route(router, "HEAD", "/images/json", &hit) == "none");
  CHECK(Route(router, "GET", "/nothing", &hit) == "none");
  CHECK(Route(router, "POST", "/_ping", &hit) == "none");
}

TEST_CASE("router dispatches to the right handler") {
  std::string hit;
  Router router = MakeRouter(&hit);
  auto match = router.Find("GET", "/images/library/busybox:1/history");
  REQUIRE(match);
  testing::FakeExchange exchange("GET", "/images/library/busybox:1/history");
  REQUIRE((*match->handler)(exchange, match->name).ok());
  CHECK(hit == "history|library/busybox:1");
}

TEST_CASE("version prefix is stripped and checked") {
  auto v = StripApiVersion("/v1.41/containers/json");
  REQUIRE(v.ok());
  CHECK(v->version == "1.41");
  CHECK(v->path == "/containers/json");

  v = StripApiVersion("/containers/json");
  REQUIRE(v.ok());
  CHECK(v->version == "1.50");
  CHECK(v->path == "/containers/json");

  v = StripApiVersion("/v1.24/_ping");
  REQUIRE(v.ok());
  CHECK(v->version == "1.24");

  v = StripApiVersion("/v1.99/version");
  REQUIRE(!v.ok());
  CHECK(v.status().code() == absl::StatusCode::kInvalidArgument);
  CHECK(v.status().message() ==
        "client version 1.99 is too new. Maximum supported API version is 1.50");

  v = StripApiVersion("/v1.11/version");
  REQUIRE(!v.ok());
  CHECK(v.status().message().find("too old") != absl::string_view::npos);

  // Not a version: a path that happens to start with v.
  v = StripApiVersion("/volumes");
  REQUIRE(v.ok());
  CHECK(v->path == "/volumes");
}

TEST_CASE("versions compare numerically") {
  CHECK(CompareVersions("1.9", "1.10") < 0);
  CHECK(CompareVersions("1.50", "1.50") == 0);
  CHECK(CompareVersions("1.42", "1.41") > 0);
  CHECK(VersionAtLeast("1.44", "1.42"));
}

TEST_CASE("status codes map to HTTP through one table") {
  CHECK(HttpStatusFor(absl::StatusCode::kNotFound) == 404);
  CHECK(HttpStatusFor(absl::StatusCode::kAlreadyExists) == 409);
  CHECK(HttpStatusFor(absl::StatusCode::kFailedPrecondition) == 409);
  CHECK(HttpStatusFor(absl::StatusCode::kInvalidArgument) == 400);
  CHECK(HttpStatusFor(absl::StatusCode::kOutOfRange) == 400);
  CHECK(HttpStatusFor(absl::StatusCode::kPermissionDenied) == 403);
  CHECK(HttpStatusFor(absl::StatusCode::kUnimplemented) == 501);
  CHECK(HttpStatusFor(absl::StatusCode::kUnavailable) == 503);
  CHECK(HttpStatusFor(absl::StatusCode::kInternal) == 500);
  CHECK(HttpStatusFor(absl::StatusCode::kDeadlineExceeded) == 500);
  CHECK(ErrorBody("No such container: x") == "{\"message\":\"No such container: x\"}\n");
}

TEST_CASE("query parsing decodes and follows BoolValue") {
  Query q = Query::Parse("a=1&b=x%20y+z&c=&d=True&e=no&f=NONE&g=0&h=false&changes=A&changes=B");
  CHECK(q.Get("b") == "x y z");
  CHECK(q.GetBool("a"));
  CHECK(q.GetBool("d"));
  CHECK_FALSE(q.GetBool("c"));
  CHECK_FALSE(q.GetBool("e"));
  CHECK_FALSE(q.GetBool("f"));
  CHECK_FALSE(q.GetBool("g"));
  CHECK_FALSE(q.GetBool("h"));
  CHECK_FALSE(q.GetBool("missing"));
  CHECK(q.GetAll("changes") == std::vector<std::string>{"A", "B"});
  CHECK(UrlDecode("%7B%22a%22%3A1%7D") == "{\"a\":1}");
  CHECK(UrlDecode("100%") == "100%");
}

TEST_CASE("filters accept maps of sets and maps of lists") {
  auto sets = Filters::Parse(R"({"label":{"k=v":true,"off":false},"status":{"exited":true}})");
  REQUIRE(sets.ok());
  CHECK(sets->Get("label") == std::set<std::string>{"k=v"});
  CHECK(sets->Get("status") == std::set<std::string>{"exited"});

  auto lists = Filters::Parse(R"({"label": ["com.docker.compose.project=spy", "x"]})");
  REQUIRE(lists.ok());
  CHECK(lists->Get("label").size() == 2);
  CHECK(lists->MatchLabels({{"com.docker.compose.project", "spy"}, {"x", ""}}));
  CHECK_FALSE(lists->MatchLabels({{"com.docker.compose.project", "other"}, {"x", ""}}));
  CHECK_FALSE(lists->MatchLabels({{"com.docker.compose.project", "spy"}}));

  auto empty = Filters::Parse("");
  REQUIRE(empty.ok());
  CHECK(empty->empty());

  auto bad = Filters::Parse("{not json");
  REQUIRE(!bad.ok());
  CHECK(bad.status().code() == absl::StatusCode::kInvalidArgument);
  CHECK(bad.status().message().find("invalid filter") == 0);
  CHECK(!Filters::Parse(R"({"label":"k"})").ok());
  CHECK(!Filters::Parse(R"({"label":[1]})").ok());

  auto unknown = Filters::Parse(R"({"colour":{"red":true}})");
  REQUIRE(unknown.ok());
  absl::Status status = unknown->Validate({"label"});
  CHECK(status.message() == "invalid filter 'colour'");
}

TEST_CASE("path patterns follow Go's path.Match") {
  CHECK(PathMatch("busybox", "busybox"));
  CHECK(PathMatch("busy*", "busybox"));
  CHECK(PathMatch("busybox:*", "busybox:latest"));
  CHECK_FALSE(PathMatch("*", "example.com/bb"));
  CHECK(PathMatch("*/*", "example.com/bb"));
}

TEST_CASE("multiplexed frames carry stream id and big-endian length") {
  std::string frame = MuxFrame(StreamId::kStdout, "hi\n");
  CHECK(frame == std::string("\x01\x00\x00\x00\x00\x00\x00\x03hi\n", 11));
  std::string big(300, 'x');
  frame = MuxFrame(StreamId::kStderr, big);
  REQUIRE(frame.size() == 308);
  CHECK(frame[0] == 2);
  CHECK(static_cast<unsigned char>(frame[6]) == 1);
  CHECK(static_cast<unsigned char>(frame[7]) == 44);
  CHECK(JsonMessageLine({{"stream", "Loaded image: busybox:latest\n"}}) ==
        "{\"stream\":\"Loaded image: busybox:latest\\n\"}\r\n");
  CHECK(JsonErrorMessage("boom").dump() == R"({"error":"boom","errorDetail":{"message":"boom"}})");
  CHECK(StreamContentType(false, "1.50") == "application/vnd.docker.multiplexed-stream");
  CHECK(StreamContentType(true, "1.50") == "application/vnd.docker.raw-stream");
  CHECK(StreamContentType(false, "1.41") == "application/vnd.docker.raw-stream");
}

TEST_CASE("times are formatted like Go") {
  const int64_t t = 1700000000LL * 1000000000LL;
  CHECK(FormatRfc3339Nano(0) == "0001-01-01T00:00:00Z");
  CHECK(FormatRfc3339Nano(t) == "2023-11-14T22:13:20Z");
  CHECK(FormatRfc3339Nano(t + 500000000) == "2023-11-14T22:13:20.5Z");
  CHECK(FormatRfc3339Nano(t + 123456789) == "2023-11-14T22:13:20.123456789Z");
  CHECK(FormatRfc3339NanoFixed(t + 500000000) == "2023-11-14T22:13:20.500000000Z");
}

TEST_CASE("status text follows Docker's State.String") {
  const int64_t s = 1000000000LL;
  const int64_t now = 1700000000LL * s;
  CHECK(HumanDuration(s / 2) == "Less than a second");
  CHECK(HumanDuration(1 * s) == "1 second");
  CHECK(HumanDuration(3 * s) == "3 seconds");
  CHECK(HumanDuration(60 * s) == "About a minute");
  CHECK(HumanDuration(120 * s) == "2 minutes");
  CHECK(HumanDuration(3600 * s) == "About an hour");
  CHECK(HumanDuration(5 * 3600 * s) == "5 hours");
  CHECK(HumanDuration(72 * 3600 * s) == "3 days");
  CHECK(HumanDuration(21LL * 24 * 3600 * s) == "3 weeks");

  CHECK(StateText({"created", 0, 0, 0}, now) == "Created");
  CHECK(StateText({"running", 0, now - 3 * s, 0}, now) == "Up 3 seconds");
  CHECK(StateText({"paused", 0, now - 7200 * s, 0}, now) == "Up 2 hours (Paused)");
  CHECK(StateText({"running", 0, now - 3 * s, 0, "starting"}, now) ==
        "Up 3 seconds (health: starting)");
  CHECK(StateText({"running", 0, now - 3 * s, 0, "unhealthy"}, now) == "Up 3 seconds (unhealthy)");
  CHECK(StateText({"paused", 0, now - 3 * s, 0, "healthy"}, now) == "Up 3 seconds (Paused)");
  CHECK(StateText({"exited", 0, now - 300 * s, now - 120 * s}, now) == "Exited (0) 2 minutes ago");
  CHECK(StateText({"exited", 137, now - 300 * s, now - 5 * s}, now) ==
        "Exited (137) 5 seconds ago");
  CHECK(StateText({"dead", 0, 0, 0}, now) == "Dead");
  CHECK(StateText({"removing", 0, 0, 0}, now) == "Removal In Progress");
}

TEST_CASE("since and until are unix seconds with an optional fraction") {
  CHECK(*ParseUnixTimestamp("") == 0);
  CHECK(*ParseUnixTimestamp("1700000000") == 1700000000LL * 1000000000LL);
  CHECK(*ParseUnixTimestamp("1700000000.5") == 1700000000LL * 1000000000LL + 500000000);
  CHECK(*ParseUnixTimestamp("1700000000.000000001") == 1700000000LL * 1000000000LL + 1);
  CHECK(!ParseUnixTimestamp("yesterday").ok());
  CHECK(!ParseUnixTimestamp("1.1234567890").ok());
}

}  // namespace
}  // namespace berth::apiserver
