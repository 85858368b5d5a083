#include "common/digest.h"

#include <catch2/catch.hpp>

#include "common/ids.h"

namespace berth {

TEST_CASE("sha256 of known input", "[digest]") {
  CHECK(Sha256Digest("") ==
        "sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  Sha256 hasher;
  hasher.Update("hello ");
  hasher.Update("world");
  CHECK(hasher.FinishHex() == "b94d27b9934d3e08a52e52d7da7dabfac484efe37a5380ee9088f7ace2efcde9");
}

TEST_CASE("digest validation", "[digest]") {
  CHECK(IsSha256Digest(Sha256Digest("x")));
  CHECK_FALSE(IsSha256Digest("sha256:abc"));
  CHECK_FALSE(IsSha256Digest("sha512:" + std::string(64, 'a')));
  CHECK_FALSE(IsSha256Digest("sha256:" + std::string(64, 'A')));
  CHECK(DigestHex("sha256:abcd") == "abcd");
}

TEST_CASE("generated ids are 64 hex digits and distinct", "[ids]") {
  std::string a = GenerateId();
  std::string b = GenerateId();
  CHECK(a.size() == 64);
  CHECK(a != b);
  CHECK(a.find_first_not_of("0123456789abcdef") == std::string::npos);
  CHECK(a.substr(0, 12).find_first_not_of("0123456789") != std::string::npos);
}

}  // namespace berth
