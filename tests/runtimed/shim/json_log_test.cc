#include "runtimed/shim/json_log.h"

#include <zlib.h>

#include <catch2/catch.hpp>
#include <cstdlib>
#include <vector>

#include "absl/strings/str_split.h"
#include "common/fs.h"
#include "common/json.h"

namespace berth::runtime {
namespace {

TEST_CASE("log entries are Docker's json-file lines") {
  timespec t = {1700000000, 120000000};
  CHECK(FormatRfc3339Nano(t) == "2023-11-14T22:13:20.12Z");
  CHECK(FormatRfc3339Nano({1700000000, 0}) == "2023-11-14T22:13:20Z");
  CHECK(FormatLogEntry("a\"b\\<&>\t\x01\n", "stdout", t) ==
        "{\"log\":\"a\\\"b\\\\\\u003c\\u0026\\u003e\\t\\u0001\\n\",\"stream\":\"stdout\","
        "\"time\":\"2023-11-14T22:13:20.12Z\"}\n");
  // Valid UTF-8 passes, invalid bytes become U+FFFD.
  CHECK(FormatLogEntry("h\xC3\xA9\xFF", "stderr", t).find("h\xC3\xA9\\ufffd") != std::string::npos);
}

struct TempDir {
  TempDir() {
    char tmpl[] = "/tmp/jlXXXXXX";
    REQUIRE(mkdtemp(tmpl) != nullptr);
    path = tmpl;
  }
  ~TempDir() { RemoveAll(path).IgnoreError(); }
  std::string path;
};

std::vector<Json> Entries(const std::string& path) {
  std::vector<Json> entries;
  absl::StatusOr<std::string> content = ReadFile(path);
  REQUIRE(content.ok());
  for (absl::string_view line : absl::StrSplit(*content, '\n', absl::SkipEmpty())) {
    absl::StatusOr<Json> json = ParseJson(std::string(line));
    REQUIRE(json.ok());
    entries.push_back(*json);
  }
  return entries;
}

TEST_CASE("the writer splits at newlines, caps long lines and flushes partial ones") {
  TempDir dir;
  JsonLogWriter writer(dir.path + "/log", 0, 0);
  REQUIRE(writer.Open().ok());
  REQUIRE(writer.Write(1, "one\ntw").ok());
  REQUIRE(writer.Write(2, "err").ok());
  REQUIRE(writer.Write(1, "o\n").ok());
  REQUIRE(writer.Write(1, std::string(JsonLogWriter::kMaxLine + 10, 'x')).ok());
  REQUIRE(writer.Flush(1).ok());
  REQUIRE(writer.Flush(2).ok());
  std::vector<Json> entries = Entries(dir.path + "/log");
  REQUIRE(entries.size() == 5);
  CHECK(entries[0]["log"] == "one\n");
  CHECK(entries[1]["log"] == "two\n");
  CHECK(entries[2]["log"].get<std::string>().size() == JsonLogWriter::kMaxLine);
  CHECK(entries[3]["log"] == std::string(10, 'x'));
  CHECK(entries[4]["log"] == "err");
  CHECK(entries[4]["stream"] == "stderr");
}

TEST_CASE("the writer rotates at max size") {
  TempDir dir;
  std::string path = dir.path + "/log";
  JsonLogWriter writer(path, 200, 3);
  REQUIRE(writer.Open().ok());
  for (int i = 0; i < 10; ++i) REQUIRE(writer.Write(1, "line " + std::to_string(i) + "\n").ok());
  CHECK(PathExists(path + ".1"));
  CHECK(PathExists(path + ".2"));
  CHECK_FALSE(PathExists(path + ".3"));
  std::vector<Json> last = Entries(path);
  REQUIRE_FALSE(last.empty());
  CHECK(last.back()["log"] == "line 9\n");
  CHECK(ReadFile(path)->size() <= 200);
}

// The uncompressed content of a gzip file, and its header's extra field.
std::string Gunzip(const std::string& path, std::string* extra = nullptr) {
  absl::StatusOr<std::string> data = ReadFile(path);
  REQUIRE(data.ok());
  z_stream stream = {};
  REQUIRE(inflateInit2(&stream, 15 + 16) == Z_OK);
  gz_header header = {};
  unsigned char extra_field[256] = {};
  header.extra = extra_field;
  header.extra_max = sizeof(extra_field);
  inflateGetHeader(&stream, &header);
  stream.next_in = reinterpret_cast<Bytef*>(data->data());
  stream.avail_in = static_cast<uInt>(data->size());
  std::string out;
  int rc;
  do {
    char buffer[4096];
    stream.next_out = reinterpret_cast<Bytef*>(buffer);
    stream.avail_out = sizeof(buffer);
    rc = inflate(&stream, Z_NO_FLUSH);
    REQUIRE((rc == Z_OK || rc == Z_STREAM_END));
    out.append(buffer, sizeof(buffer) - stream.avail_out);
  } while (rc != Z_STREAM_END);
  inflateEnd(&stream);
  if (extra != nullptr) extra->assign(reinterpret_cast<char*>(extra_field), header.extra_len);
  return out;
}

TEST_CASE("a compressed rotation gzips each rotated file as <log>.N.gz") {
  TempDir dir;
  std::string path = dir.path + "/log";
  std::string first_rotated;
  {
    JsonLogWriter writer(path, 200, 3, LogFormat::kJsonFile, /*compress=*/true);
    REQUIRE(writer.Open().ok());
    for (int i = 0; i < 2; ++i) REQUIRE(writer.Write(1, "line " + std::to_string(i) + "\n").ok());
    first_rotated = *ReadFile(path);
    REQUIRE(writer.Write(1, "line 2\n").ok());
    writer.WaitCompression();
    CHECK_FALSE(PathExists(path + ".1"));
    REQUIRE(PathExists(path + ".1.gz"));
    std::string extra;
    CHECK(Gunzip(path + ".1.gz", &extra) == first_rotated);
    absl::StatusOr<Json> meta = ParseJson(extra);
    REQUIRE(meta.ok());
    std::string last_line =
        first_rotated.substr(first_rotated.rfind('\n', first_rotated.size() - 2) + 1);
    CHECK(meta->value("lastTime", "") == (*ParseJson(last_line))["time"].get<std::string>());
    for (int i = 3; i < 12; ++i) REQUIRE(writer.Write(1, "line " + std::to_string(i) + "\n").ok());
  }
  // The chain shifts the compressed files; max-file 3 keeps two of them.
  CHECK(PathExists(path + ".1.gz"));
  CHECK(PathExists(path + ".2.gz"));
  CHECK_FALSE(PathExists(path + ".3.gz"));
  CHECK_FALSE(PathExists(path + ".1"));
  CHECK_FALSE(PathExists(path + ".2"));
  CHECK_FALSE(PathExists(path + ".1.gz.tmp"));
}

}  // namespace
}  // namespace berth::runtime
