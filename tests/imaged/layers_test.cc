#include "imaged/layers.h"

#include <catch2/catch.hpp>

#include "common/digest.h"
#include "tests/imaged/test_util.h"

namespace berth::imaged {
namespace {

TEST_CASE("chain IDs follow the OCI formula", "[layers]") {
  std::string a = Sha256Digest("a"), b = Sha256Digest("b"), c = Sha256Digest("c");
  CHECK(ChainIds({}).empty());
  CHECK(ChainIds({a}) == std::vector<std::string>{a});
  std::vector<std::string> chains = ChainIds({a, b, c});
  REQUIRE(chains.size() == 3);
  CHECK(chains[0] == a);
  CHECK(chains[1] == Sha256Digest(a + " " + b));
  CHECK(chains[2] == Sha256Digest(chains[1] + " " + c));
  // A known value, computed independently with sha256sum:
  //   printf 'sha256:ca97...48bb sha256:3e23...009d' | sha256sum
  CHECK(ChainIds({a, b})[1] ==
        "sha256:51c0c8ace48498d6f5fee6b0592cc06f2da0f3cbe09c5a34a97dce85c3889676");
}

TEST_CASE("compression is recognised by its magic", "[layers]") {
  CHECK(DetectCompression("\x1f\x8b\x08") == Compression::kGzip);
  CHECK(DetectCompression("BZh91AY") == Compression::kBzip2);
  CHECK(DetectCompression(std::string("\xfd"
                                      "7zXZ\0",
                                      6)) == Compression::kXz);
  CHECK(DetectCompression("\x28\xb5\x2f\xfd") == Compression::kZstd);
  CHECK(DetectCompression("bin/busybox") == Compression::kNone);
  CHECK(DetectCompression("") == Compression::kNone);
}

TEST_CASE("Decompress yields the plain tar of a gzip layer", "[layers]") {
  std::string plain = testing::TarBuilder().File("a", "hello").Finish();
  std::string gzip = testing::TarBuilder(/*gzip=*/true).File("a", "hello").Finish();
  REQUIRE(DetectCompression(gzip) == Compression::kGzip);
  auto source = Decompress(std::make_unique<StringSource>(gzip));
  REQUIRE(source.ok());
  auto digest = DigestStream(**source);
  REQUIRE(digest.ok());
  CHECK(digest->digest == Sha256Digest(plain));
  // Plain data passes through unchanged.
  auto same = Decompress(std::make_unique<StringSource>(plain));
  REQUIRE(same.ok());
  CHECK(DigestStream(**same)->digest == Sha256Digest(plain));
  // Truncated gzip is an error, not a short layer.
  auto truncated = Decompress(std::make_unique<StringSource>(gzip.substr(0, gzip.size() / 2)));
  if (truncated.ok()) CHECK_FALSE(DigestStream(**truncated).ok());
}

}  // namespace
}  // namespace berth::imaged
