#include "common/reference.h"

#include <catch2/catch.hpp>
#include <string>

namespace berth {
namespace {

struct NormalizeCase {
  const char* input;
  const char* full;
  const char* familiar;
};

TEST_CASE("ParseNormalized + TagNameOnly match Docker's normalisation", "[reference]") {
  const NormalizeCase cases[] = {
      {"busybox", "docker.io/library/busybox:latest", "busybox:latest"},
      {"busybox:1.36", "docker.io/library/busybox:1.36", "busybox:1.36"},
      {"library/busybox", "docker.io/library/busybox:latest", "busybox:latest"},
      {"docker.io/busybox", "docker.io/library/busybox:latest", "busybox:latest"},
      {"index.docker.io/library/busybox", "docker.io/library/busybox:latest", "busybox:latest"},
      {"user/app:v1", "docker.io/user/app:v1", "user/app:v1"},
      {"docker.io/library/a/b", "docker.io/library/a/b:latest", "library/a/b:latest"},
      {"example.com:5000/a/b:v1", "example.com:5000/a/b:v1", "example.com:5000/a/b:v1"},
      {"localhost/app", "localhost/app:latest", "localhost/app:latest"},
      {"localhost:5000/app:x", "localhost:5000/app:x", "localhost:5000/app:x"},
      {"Example.com/app", "Example.com/app:latest", "Example.com/app:latest"},
      {"[::1]:5000/app", "[::1]:5000/app:latest", "[::1]:5000/app:latest"},
      {"a_b.c__d-e---f", "docker.io/library/a_b.c__d-e---f:latest", "a_b.c__d-e---f:latest"},
      {"busybox:Tag_1.x-y", "docker.io/library/busybox:Tag_1.x-y", "busybox:Tag_1.x-y"},
  };
  for (const NormalizeCase& c : cases) {
    INFO(c.input);
    auto ref = Reference::ParseNormalized(c.input);
    REQUIRE(ref.ok());
    Reference tagged = ref->TagNameOnly();
    CHECK(tagged.String() == c.full);
    CHECK(tagged.FamiliarString() == c.familiar);
  }
}

TEST_CASE("digest references keep their digest and get no tag", "[reference]") {
  std::string hex(64, 'a');
  auto ref = Reference::ParseNormalized("busybox@sha256:" + hex);
  REQUIRE(ref.ok());
  CHECK(ref->has_digest());
  CHECK_FALSE(ref->has_tag());
  CHECK(ref->TagNameOnly().String() == "docker.io/library/busybox@sha256:" + hex);
  CHECK(ref->FamiliarString() == "busybox@sha256:" + hex);
  CHECK(ref->Name() == "docker.io/library/busybox");
  CHECK(ref->FamiliarName() == "busybox");

  auto both = Reference::ParseNormalized("example.com/x:v2@sha256:" + hex);
  REQUIRE(both.ok());
  CHECK(both->tag() == "v2");
  CHECK(both->digest() == "sha256:" + hex);
}

struct ErrorCase {
  std::string input;
  std::string message;
};

TEST_CASE("invalid references are rejected with Docker's words", "[reference]") {
  const ErrorCase cases[] = {
      {"", "invalid reference format"},
      {"Busybox", "invalid reference format: repository name must be lowercase"},
      {"user/Busybox:v1", "invalid reference format: repository name must be lowercase"},
      {"busybox:", "invalid reference format"},
      {"busybox:-tag", "invalid reference format"},
      {"busy box", "invalid reference format"},
      {"-busybox", "invalid reference format"},
      {"busybox_", "invalid reference format"},
      {"a//b", "invalid reference format"},
      {"busybox:" + std::string(129, 't'), "invalid reference format"},
      {"busybox@sha256:abc", "invalid reference format"},
      {"busybox@sha256:" + std::string(32, 'a'), "invalid checksum digest format"},
      {std::string(64, 'a'), "invalid repository name (" + std::string(64, 'a') +
                                 "), cannot specify 64-byte hexadecimal strings"},
      {"x/" + std::string(260, 'a'), "repository name must not be more than 255 characters"},
      {std::string(5000, 'a'), "invalid reference format"},
  };
  for (const ErrorCase& c : cases) {
    INFO(c.input);
    auto ref = Reference::ParseNormalized(c.input);
    REQUIRE_FALSE(ref.ok());
    CHECK(ref.status().code() == absl::StatusCode::kInvalidArgument);
    CHECK(std::string(ref.status().message()) == c.message);
  }
}

TEST_CASE("Parse does not normalise", "[reference]") {
  auto ref = Reference::Parse("busybox:1");
  REQUIRE(ref.ok());
  CHECK(ref->domain().empty());
  CHECK(ref->path() == "busybox");
  CHECK(ref->String() == "busybox:1");
  auto upper = Reference::Parse("Busybox");
  REQUIRE_FALSE(upper.ok());
  CHECK(std::string(upper.status().message()) ==
        "invalid reference format: repository name must be lowercase");
  CHECK(std::string(Reference::Parse("").status().message()) ==
        "repository name must have at least one component");
}

TEST_CASE("WithTag replaces the tag and validates it", "[reference]") {
  auto ref = Reference::ParseNormalized("example.com/a:v1");
  REQUIRE(ref.ok());
  auto retagged = ref->WithTag("v2");
  REQUIRE(retagged.ok());
  CHECK(retagged->String() == "example.com/a:v2");
  auto bad = ref->WithTag("-x");
  REQUIRE_FALSE(bad.ok());
  CHECK(std::string(bad.status().message()) == "invalid tag format");
}

TEST_CASE("IsFullHexId and IsValidTag", "[reference]") {
  CHECK(IsFullHexId(std::string(64, 'f')));
  CHECK_FALSE(IsFullHexId(std::string(63, 'f')));
  CHECK_FALSE(IsFullHexId(std::string(64, 'F')));
  CHECK(IsValidTag("latest"));
  CHECK(IsValidTag("_x"));
  CHECK_FALSE(IsValidTag(".x"));
  CHECK_FALSE(IsValidTag(""));
}

}  // namespace
}  // namespace berth
