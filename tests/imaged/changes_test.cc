#include "imaged/changes.h"

#include <catch2/catch.hpp>

namespace berth::imaged {
namespace {

Json Apply(const std::vector<std::string>& changes) {
  Json config = Json::object();
  absl::Status status = ApplyChanges(changes, &config);
  INFO(status.ToString());
  REQUIRE(status.ok());
  return config;
}

TEST_CASE("CMD and ENTRYPOINT take JSON and shell form", "[changes]") {
  CHECK(Apply({"CMD [\"sh\", \"-c\", \"echo hi\"]"})["Cmd"] ==
        Json::array({"sh", "-c", "echo hi"}));
  CHECK(Apply({"CMD echo hi"})["Cmd"] == Json::array({"/bin/sh", "-c", "echo hi"}));
  CHECK(Apply({"cmd [\"sh\"]"})["Cmd"] == Json::array({"sh"}));
  Json entry = Apply({"ENTRYPOINT [\"/bin/busybox\"]"});
  CHECK(entry["Entrypoint"] == Json::array({"/bin/busybox"}));
  CHECK(entry["Cmd"].is_null());
  Json both = Apply({"CMD [\"ls\"]", "ENTRYPOINT /bin/busybox"});
  CHECK(both["Entrypoint"] == Json::array({"/bin/sh", "-c", "/bin/busybox"}));
  CHECK(both["Cmd"] == Json::array({"ls"}));
}

TEST_CASE("ENV and LABEL set key/value pairs, with quotes and the legacy form", "[changes]") {
  Json config = Apply({"ENV A=1 B=\"two words\"", "ENV A=3", "ENV LEGACY some value"});
  CHECK(config["Env"] == Json::array({"A=3", "B=two words", "LEGACY=some value"}));
  Json labels = Apply({"LABEL a=b \"c d\"='e f'", "LABEL a=z"});
  CHECK(labels["Labels"] == Json{{"a", "z"}, {"c d", "e f"}});
  Json bad = Json::object();
  CHECK(absl::IsInvalidArgument(ApplyChanges({"ENV =x y=1"}, &bad)));
}

TEST_CASE("EXPOSE, USER, WORKDIR, VOLUME, STOPSIGNAL, ONBUILD", "[changes]") {
  Json config =
      Apply({"EXPOSE 80 53/udp 8000-8001", "USER nobody:nogroup", "WORKDIR /srv", "WORKDIR app",
             "VOLUME [\"/data\"]", "VOLUME /a /b", "STOPSIGNAL SIGINT", "ONBUILD RUN echo hi"});
  CHECK(config["ExposedPorts"] == Json{{"80/tcp", Json::object()},
                                       {"53/udp", Json::object()},
                                       {"8000/tcp", Json::object()},
                                       {"8001/tcp", Json::object()}});
  CHECK(config["User"] == "nobody:nogroup");
  CHECK(config["WorkingDir"] == "/srv/app");
  CHECK(config["Volumes"] ==
        Json{{"/data", Json::object()}, {"/a", Json::object()}, {"/b", Json::object()}});
  CHECK(config["StopSignal"] == "SIGINT");
  CHECK(config["OnBuild"] == Json::array({"RUN echo hi"}));
  Json bad = Json::object();
  CHECK(absl::IsInvalidArgument(ApplyChanges({"EXPOSE 99999"}, &bad)));
  CHECK(absl::IsInvalidArgument(ApplyChanges({"ONBUILD ONBUILD RUN x"}, &bad)));
}

TEST_CASE("HEALTHCHECK NONE and CMD", "[changes]") {
  CHECK(Apply({"HEALTHCHECK NONE"})["Healthcheck"]["Test"] == Json::array({"NONE"}));
  CHECK(Apply({"HEALTHCHECK CMD true"})["Healthcheck"]["Test"] ==
        Json::array({"CMD-SHELL", "true"}));
  CHECK(Apply({"HEALTHCHECK CMD [\"true\"]"})["Healthcheck"]["Test"] ==
        Json::array({"CMD", "true"}));
}

TEST_CASE("instructions that are not changes are refused in Docker's words", "[changes]") {
  for (const char* change : {"RUN echo hi", "FROM busybox", "ADD . /", "COPY a b", "BOGUS x"}) {
    Json config = Json::object();
    absl::Status status = ApplyChanges({change}, &config);
    INFO(change);
    REQUIRE(absl::IsInvalidArgument(status));
    std::string instruction = std::string(change).substr(0, std::string(change).find(' '));
    for (char& c : instruction) c = static_cast<char>(tolower(c));
    CHECK(std::string(status.message()) == instruction + " is not a valid change command");
  }
}

}  // namespace
}  // namespace berth::imaged
