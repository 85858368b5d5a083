#include "imaged/build/dispatch.h"

#include <catch2/catch.hpp>

#include "imaged/build/go_format.h"

namespace berth::imaged::build {
namespace {

using Args = std::vector<std::string>;

Command Parsed(const std::string& line) {
  absl::StatusOr<Node> node = ParseLine(line, '\\');
  REQUIRE(node.ok());
  absl::StatusOr<Command> command = ParseCommand(*node);
  INFO(command.status().ToString());
  REQUIRE(command.ok());
  return *command;
}

struct Fixture {
  explicit Fixture(BuildArgValues options = {}, Json base = Json::object())
      : args(std::move(options)), state(args, '\\') {
    state.Begin("", base);
  }
  Step Run(const std::string& line) {
    absl::StatusOr<Step> step = state.Dispatch(Parsed(line));
    INFO(line << ": " << step.status().ToString());
    REQUIRE(step.ok());
    return *step;
  }
  std::string Fail(const std::string& line) {
    absl::StatusOr<Step> step = state.Dispatch(Parsed(line));
    REQUIRE_FALSE(step.ok());
    return std::string(step.status().message());
  }
  BuildArgs args;
  StageState state;
};

const std::string kPath = std::string("PATH=") + kDefaultPathEnv;

TEST_CASE("default PATH only when the base has none") {
  Fixture scratch;
  CHECK(scratch.state.config()["Env"] == Json::array({kPath}));
  Fixture based({}, Json{{"Env", {"PATH=/custom", "A=1"}}});
  CHECK(based.state.config()["Env"] == Json::array({"PATH=/custom", "A=1"}));
}

TEST_CASE("history of metadata steps in Docker's legacy format") {
  Fixture f;
  CHECK(f.Run("CMD [\"sh\"]").created_by == "/bin/sh -c #(nop)  CMD [\"sh\"]");
  CHECK(f.Run("CMD echo \"hi\"").created_by ==
        "/bin/sh -c #(nop)  CMD [\"/bin/sh\" \"-c\" \"echo \\\"hi\\\"\"]");
  CHECK(f.state.config()["Cmd"] == Json::array({"/bin/sh", "-c", "echo \"hi\""}));
  CHECK(f.Run("ENV A=1 B=\"two words\"").created_by == "/bin/sh -c #(nop)  ENV A=1 B=two words");
  CHECK(f.Run("LABEL a=b").created_by == "/bin/sh -c #(nop)  LABEL a=b");
  // Sorted as written, as Docker does.
  CHECK(f.Run("EXPOSE 80 53/udp").created_by == "/bin/sh -c #(nop)  EXPOSE 53/udp 80");
  CHECK(f.Run("VOLUME /data /logs").created_by == "/bin/sh -c #(nop)  VOLUME [/data /logs]");
  CHECK(f.Run("USER nobody").created_by == "/bin/sh -c #(nop)  USER nobody");
  CHECK(f.Run("STOPSIGNAL SIGINT").created_by == "/bin/sh -c #(nop)  STOPSIGNAL SIGINT");
  CHECK(f.Run("MAINTAINER me <me@x>").created_by == "/bin/sh -c #(nop)  MAINTAINER me <me@x>");
  CHECK(f.state.author() == "me <me@x>");
  CHECK(f.Run("ONBUILD RUN echo x").created_by == "/bin/sh -c #(nop)  ONBUILD RUN echo x");
  CHECK(f.Run("ARG V=1").created_by == "/bin/sh -c #(nop)  ARG V=1");
  CHECK(f.Run("ENTRYPOINT [\"top\", \"-b\"]").created_by ==
        "/bin/sh -c #(nop)  ENTRYPOINT [\"top\" \"-b\"]");
  CHECK(f.Run("HEALTHCHECK --interval=5m --retries=3 CMD curl -f x").created_by ==
        "/bin/sh -c #(nop)  HEALTHCHECK &{[\"CMD-SHELL\" \"curl -f x\"] \"5m0s\" \"0s\" \"0s\" "
        "\"0s\" '\\x03'}");
  Step workdir = f.Run("WORKDIR /app");
  CHECK(workdir.action == StepAction::kWorkdir);
  CHECK(workdir.created_by == "/bin/sh -c #(nop) WORKDIR /app");
  Step shell = f.Run("SHELL [\"/bin/bash\", \"-c\"]");
  CHECK(shell.created_by == "/bin/bash -c #(nop)  SHELL [/bin/bash -c]");
  CHECK(f.Run("USER root").created_by == "/bin/bash -c #(nop)  USER root");
  CHECK(f.Run("CMD ls").created_by == "/bin/bash -c #(nop)  CMD [\"/bin/bash\" \"-c\" \"ls\"]");
  CHECK(f.Run("USER root").action == StepAction::kMetadata);
}

TEST_CASE("image config of metadata steps") {
  Fixture f({}, Json{{"Env", {"PATH=/bin"}}, {"Cmd", {"sh"}}, {"Labels", {{"old", "1"}}}});
  f.Run("ENV A=1");
  f.Run("ENV A=2 B=$A");
  CHECK(f.state.config()["Env"] == Json::array({"PATH=/bin", "A=2", "B=1"}));
  f.Run("LABEL \"x y\"=\"z\" old=2");
  CHECK(f.state.config()["Labels"] == Json{{"old", "2"}, {"x y", "z"}});
  f.Run("EXPOSE 80 8000-8001/udp");
  CHECK(f.state.config()["ExposedPorts"] == Json{{"80/tcp", Json::object()},
                                                 {"8000/udp", Json::object()},
                                                 {"8001/udp", Json::object()}});
  f.Run("WORKDIR a");
  f.Run("WORKDIR b/../c");
  CHECK(f.state.config()["WorkingDir"] == "/a/c");
  f.Run("WORKDIR /x//y/");
  CHECK(f.state.config()["WorkingDir"] == "/x/y");
  f.Run("VOLUME [\"/v\"]");
  CHECK(f.state.config()["Volumes"] == Json{{"/v", Json::object()}});
  f.Run("HEALTHCHECK --timeout=3s CMD [\"check\"]");
  CHECK(f.state.config()["Healthcheck"] ==
        Json{{"Test", {"CMD", "check"}}, {"Timeout", 3000000000LL}});
  Step again = f.Run("HEALTHCHECK NONE");
  CHECK(again.notes == Args{"Note: overriding previous HEALTHCHECK: [CMD check]\n"});
  CHECK(f.state.config()["Healthcheck"] == Json{{"Test", {"NONE"}}});
  f.Run("ONBUILD ADD . /src");
  f.Run("ONBUILD RUN make");
  CHECK(f.state.config()["OnBuild"] == Json::array({"ADD . /src", "RUN make"}));
}

TEST_CASE("ENTRYPOINT resets an inherited CMD but not one from this Dockerfile") {
  Fixture inherited({}, Json{{"Cmd", {"sh"}}});
  inherited.Run("ENTRYPOINT [\"top\"]");
  CHECK(inherited.state.config()["Cmd"].is_null());
  CHECK(inherited.state.config()["Entrypoint"] == Json::array({"top"}));

  Fixture own({}, Json{{"Cmd", {"sh"}}});
  own.Run("CMD [\"-b\"]");
  own.Run("ENTRYPOINT top");
  CHECK(own.state.config()["Cmd"] == Json::array({"-b"}));
  CHECK(own.state.config()["Entrypoint"] == Json::array({"/bin/sh", "-c", "top"}));
  Step cleared = own.Run("ENTRYPOINT []");
  CHECK(own.state.config()["Entrypoint"].is_null());
  CHECK(cleared.created_by == "/bin/sh -c #(nop)  ENTRYPOINT []");
}

TEST_CASE("RUN history carries the build args in scope") {
  Fixture f({{"V", std::string("7")}, {"HTTP_PROXY", std::string("http://p")}});
  Step plain = f.Run("RUN echo hi");
  CHECK(plain.action == StepAction::kRun);
  // Only the undeclared proxy is in scope: it is used but not shown.
  CHECK(plain.created_by == "|0 /bin/sh -c echo hi");
  CHECK(plain.run_command == Args{"/bin/sh", "-c", "echo hi"});
  CHECK(plain.run_env == Args{kPath, "HTTP_PROXY=http://p"});
  f.Run("ARG V=1");
  f.Run("ARG W=2");
  Step with_args = f.Run("RUN [\"echo\", \"$V\"]");
  CHECK(with_args.created_by == "|2 V=7 W=2 echo $V");
  CHECK(with_args.run_command == Args{"echo", "$V"});
  CHECK(with_args.cache_text == with_args.created_by);
  // ENV overrides an ARG of the same name.
  f.Run("ENV W=env");
  CHECK(f.Run("RUN true").created_by == "|1 V=7 /bin/sh -c true");
}

TEST_CASE("expansion per instruction") {
  Fixture f({{"TAG", std::string("v2")}}, Json{{"Env", {"PATH=/bin", "HOME=/root"}}});
  f.Run("ARG TAG=v1");
  f.Run("ENV DIR=/opt/$TAG");
  CHECK(f.state.config()["Env"][2] == "DIR=/opt/v2");
  f.Run("WORKDIR ${DIR}/src");
  CHECK(f.state.config()["WorkingDir"] == "/opt/v2/src");
  f.Run("USER ${U:-app}");
  CHECK(f.state.config()["User"] == "app");
  f.Run("LABEL version=$TAG");
  CHECK(f.state.config()["Labels"]["version"] == "v2");
  f.Run("ENV PORTS=\"80 443\"");
  Step expose = f.Run("EXPOSE $PORTS");
  CHECK(expose.created_by == "/bin/sh -c #(nop)  EXPOSE 80 443");
  f.Run("VOLUME $HOME/data");
  CHECK(f.state.config()["Volumes"].contains("/root/data"));
  // RUN, CMD and ONBUILD are left to the shell.
  f.Run("CMD echo $HOME");
  CHECK(f.state.config()["Cmd"][2] == "echo $HOME");
  Step copy = f.Run("COPY --chown=$TAG:$TAG $DIR/a* ${DIR}/b/");
  CHECK(copy.action == StepAction::kCopy);
  CHECK(copy.copy.sources == Args{"/opt/v2/a*"});
  CHECK(copy.copy.dest == "/opt/v2/b/");
  CHECK(copy.copy.chown == "v2:v2");
  CHECK(copy.copy.workdir == "/opt/v2/src");
  CHECK(copy.cache_text == "COPY --chown=v2:v2 /opt/v2/a* /opt/v2/b/");
  CHECK(f.Fail("WORKDIR ${A") == "failed to process \"${A\": syntax error: missing '}'");
  CHECK(f.Fail("STOPSIGNAL SIGNOPE") == "Invalid signal: SIGNOPE");
  CHECK(f.Fail("EXPOSE 80/xyz") == "invalid proto: xyz");
  CHECK(f.Fail("COPY http://x/y /z") == "source can't be a URL for COPY");
  CHECK(f.Fail("COPY --chmod=999 a /z") ==
        "invalid chmod parameter: '999'. it should be octal string and between 0 and 07777");
  Step add = f.Run("ADD https://example.com/x.tgz /z");
  CHECK(add.copy.allow_remote_and_extract);
}

TEST_CASE("ARG without value takes the global ARG") {
  BuildArgs args({});
  args.AddMetaArg("VERSION", std::string("1.0"));
  StageState state(args, '\\');
  state.Begin("", Json::object());
  // Not declared in the stage: invisible.
  absl::StatusOr<std::string> before = state.Expand("v$VERSION");
  REQUIRE(before.ok());
  CHECK(*before == "v");
  REQUIRE(state.Dispatch(Parsed("ARG VERSION")).ok());
  absl::StatusOr<std::string> after = state.Expand("v$VERSION");
  REQUIRE(after.ok());
  CHECK(*after == "v1.0");
}

TEST_CASE("helpers") {
  CHECK(CleanPath("/a/../../b/./c/") == "/b/c");
  CHECK(CleanPath("a/../..") == "..");
  CHECK(CleanPath("") == ".");
  CHECK(NormalizeWorkdir("", "x") == "/x");
  CHECK(NormalizeWorkdir("/a", "/b") == "/b");
  CHECK(ValidateSignal("TERM").ok());
  CHECK(ValidateSignal("sigkill").ok());
  CHECK(ValidateSignal("9").ok());
  CHECK(ValidateSignal("SIGRTMIN+3").ok());
  CHECK_FALSE(ValidateSignal("0").ok());
  CHECK(CopyCreatedBy({"/bin/sh", "-c"}, "COPY", "file:abc", "/app") ==
        "/bin/sh -c #(nop) COPY file:abc in /app ");
  CHECK(ParseOctalMode("0755").value() == 0755);
  CHECK_FALSE(ParseOctalMode("8").ok());
}

TEST_CASE("Go formatting") {
  CHECK(GoQuote("a\"b\\c\n\t\x01") == "\"a\\\"b\\\\c\\n\\t\\x01\"");
  CHECK(GoQuote("h\xC3\xA9") == "\"h\xC3\xA9\"");
  CHECK(GoQuote("\xff") == "\"\\xff\"");
  CHECK(GoQuoteSlice({}) == "[]");
  CHECK(GoQuoteRune(0) == "'\\x00'");
  CHECK(GoQuoteRune(65) == "'A'");
  CHECK(GoQuoteRune(10) == "'\\n'");
  CHECK(GoDuration(0) == "0s");
  CHECK(GoDuration(1500000000LL) == "1.5s");
  CHECK(GoDuration(300000000000LL) == "5m0s");
  CHECK(GoDuration(3600000000000LL) == "1h0m0s");
  CHECK(GoDuration(90500000000LL) == "1m30.5s");
  CHECK(GoDuration(500000000LL) == "500ms");
  CHECK(GoDuration(1500LL) == "1.5\xC2\xB5s");
  CHECK(GoDuration(12LL) == "12ns");
  CHECK(ParseGoDuration("1h30m").value() == 5400000000000LL);
  CHECK(ParseGoDuration("1.5s").value() == 1500000000LL);
  CHECK(ParseGoDuration("-2ms").value() == -2000000LL);
  CHECK(ParseGoDuration("0").value() == 0);
  CHECK(ParseGoDuration("1d").status().message() == "time: unknown unit \"d\" in duration \"1d\"");
  CHECK(ParseGoDuration("x").status().message() == "time: invalid duration \"x\"");
}

}  // namespace
}  // namespace berth::imaged::build
