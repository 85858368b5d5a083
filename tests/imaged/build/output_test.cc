#include "imaged/build/output.h"

#include <catch2/catch.hpp>
#include <string>
#include <vector>

namespace berth::imaged::build {
namespace {

TEST_CASE("messages encoded as Go's encoding/json") {
  CHECK(StreamMessage(" ---> 085781908c6d\n") ==
        "{\"stream\":\" ---\\u003e 085781908c6d\\n\"}\r\n");
  CHECK(GoJsonString("a\"b\\c\t\x01<&>") == "\"a\\\"b\\\\c\\t\\u0001\\u003c\\u0026\\u003e\"");
  CHECK(GoJsonString("h\xC3\xA9") == "\"h\xC3\xA9\"");
  CHECK(GoJsonString("\xff") == "\"\\ufffd\"");
  CHECK(GoJsonString("\xE2\x80\xA8") == "\"\\u2028\"");
  CHECK(AuxIdMessage("sha256:abc") == "{\"aux\":{\"ID\":\"sha256:abc\"}}\r\n");
  CHECK(ErrorMessage("boom") == "{\"errorDetail\":{\"message\":\"boom\"},\"error\":\"boom\"}\r\n");
  CHECK(ErrorMessage("The command '/bin/sh -c false' returned a non-zero code: 1", 1) ==
        "{\"errorDetail\":{\"code\":1,\"message\":\"The command '/bin/sh -c false' returned a "
        "non-zero code: 1\"},\"error\":\"The command '/bin/sh -c false' returned a non-zero code: "
        "1\"}\r\n");
}

TEST_CASE("short IDs") {
  CHECK(ShortId("sha256:085781908c6d0123456789") == "085781908c6d");
  CHECK(ShortId("0123456789abcdef") == "0123456789ab");
  CHECK(ShortId("") == "");
}

TEST_CASE("cache key parts") {
  std::string key = CacheKey("sha256:p", "RUN x", "");
  CHECK(key.rfind("sha256:", 0) == 0);
  CHECK(key == CacheKey("sha256:p", "RUN x", ""));
  CHECK(key != CacheKey("sha256:q", "RUN x", ""));
  CHECK(key != CacheKey("sha256:p", "RUN y", ""));
  CHECK(CacheKey("", "COPY a b", "c1") != CacheKey("", "COPY a b", "c2"));
  // Parts cannot slide into each other.
  CHECK(CacheKey("ab", "c", "") != CacheKey("a", "bc", ""));
}

TEST_CASE("step lines, quiet mode") {
  std::string out;
  BuildOutput output(
      [&](const std::string& bytes) {
        out += bytes;
        return absl::OkStatus();
      },
      false);
  int writes = 0;
  BuildOutput counted(
      [&](const std::string& bytes) {
        out += bytes;
        ++writes;
        return absl::OkStatus();
      },
      false);
  REQUIRE(counted.StepLine(1, 3, "FROM busybox").ok());
  REQUIRE(counted.Stream(" ---> Using cache\n").ok());
  // Gathered until flushed, then one write.
  CHECK(out.empty());
  REQUIRE(counted.Flush().ok());
  REQUIRE(counted.Flush().ok());
  CHECK(writes == 1);
  CHECK(out ==
        "{\"stream\":\"Step 1/3 : FROM busybox\"}\r\n{\"stream\":\"\\n\"}\r\n"
        "{\"stream\":\" ---\\u003e Using cache\\n\"}\r\n");
  // An error writes what was gathered with it; so does the end.
  out.clear();
  REQUIRE(counted.Stream("partial\n").ok());
  REQUIRE(counted.Error("boom").ok());
  CHECK(writes == 2);
  CHECK(out ==
        "{\"stream\":\"partial\\n\"}\r\n{\"errorDetail\":{\"message\":\"boom\"},\"error\":"
        "\"boom\"}\r\n");
  out.clear();
  REQUIRE(output.Stream("done\n").ok());
  REQUIRE(output.Finish("sha256:abc").ok());
  CHECK(out == "{\"stream\":\"done\\n\"}\r\n");

  std::string quiet_out;
  BuildOutput quiet(
      [&](const std::string& bytes) {
        quiet_out += bytes;
        return absl::OkStatus();
      },
      true);
  REQUIRE(quiet.Stream("hidden\n").ok());
  REQUIRE(quiet.Aux("sha256:x").ok());
  CHECK(quiet_out.empty());
  REQUIRE(quiet.Finish("sha256:abc").ok());
  CHECK(quiet_out == "{\"stream\":\"sha256:abc\\n\"}\r\n");

  std::string failed_out;
  BuildOutput failed(
      [&](const std::string& bytes) {
        failed_out += bytes;
        return absl::OkStatus();
      },
      true);
  REQUIRE(failed.Stream("step output\n").ok());
  REQUIRE(failed.Error("boom").ok());
  CHECK(failed_out ==
        "{\"stream\":\"step output\\n\"}\r\n{\"errorDetail\":{\"message\":\"boom\"},\"error\":"
        "\"boom\"}\r\n");
}

TEST_CASE("FlushDue holds messages until the last write is kFlushInterval old") {
  absl::Time now = absl::FromUnixSeconds(1000);
  std::vector<std::string> writes;
  BuildOutput output(
      [&](const std::string& bytes) {
        writes.push_back(bytes);
        return absl::OkStatus();
      },
      false, [&] { return now; });
  REQUIRE(output.Stream("Step 2/3 : ENV A=1\n").ok());
  REQUIRE(output.FlushDue().ok());
  now += absl::Milliseconds(1);
  REQUIRE(output.Stream(" ---> Using cache\n").ok());
  REQUIRE(output.FlushDue().ok());
  CHECK(writes.empty());
  now += BuildOutput::kFlushInterval;
  REQUIRE(output.FlushDue().ok());
  REQUIRE(writes.size() == 1);
  CHECK(writes[0] == StreamMessage("Step 2/3 : ENV A=1\n") + StreamMessage(" ---> Using cache\n"));
  // Nothing gathered: nothing written, however late.
  now += absl::Seconds(5);
  REQUIRE(output.FlushDue().ok());
  CHECK(writes.size() == 1);
  // A flush restarts the interval.
  REQUIRE(output.Stream("Step 3/3 : CMD x\n").ok());
  REQUIRE(output.Flush().ok());
  REQUIRE(output.Stream(" ---> abc\n").ok());
  now += absl::Milliseconds(99);
  REQUIRE(output.FlushDue().ok());
  CHECK(writes.size() == 2);
  REQUIRE(output.Finish("sha256:abc").ok());
  CHECK(writes.size() == 3);
}

TEST_CASE("the end of the output goes to the last sink, with the status") {
  for (bool quiet : {false, true}) {
    std::vector<std::string> writes;
    std::vector<std::string> last;
    BuildOutput output(
        [&](const std::string& bytes) {
          writes.push_back(bytes);
          return absl::OkStatus();
        },
        quiet);
    output.set_last_sink([&](const std::string& bytes) {
      last.push_back(bytes);
      return absl::OkStatus();
    });
    REQUIRE(output.Stream("Step 1/1 : FROM x\n").ok());
    REQUIRE(output.Flush().ok());
    REQUIRE(output.Stream(" ---> abc\n").ok());
    REQUIRE(output.Finish("sha256:abc").ok());
    CHECK(writes.size() == (quiet ? 0 : 1));
    REQUIRE(last.size() == 1);
    CHECK(last[0] == (quiet ? StreamMessage("sha256:abc\n") : StreamMessage(" ---> abc\n")));
  }
  std::vector<std::string> last;
  BuildOutput failed([](const std::string&) { return absl::OkStatus(); }, false);
  failed.set_last_sink([&](const std::string& bytes) {
    last.push_back(bytes);
    return absl::OkStatus();
  });
  REQUIRE(failed.Stream("out\n").ok());
  REQUIRE(failed.Error("boom").ok());
  REQUIRE(last.size() == 1);
  CHECK(last[0] == StreamMessage("out\n") + ErrorMessage("boom"));
}

}  // namespace
}  // namespace berth::imaged::build
