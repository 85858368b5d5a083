#include "stored/layers/parallel_hash.h"

#include <catch2/catch.hpp>
#include <random>
#include <string>
#include <vector>

#include "common/digest.h"

namespace berth::layers {
namespace {

std::string RandomBytes(size_t n, unsigned seed) {
  std::mt19937 rng(seed);
  std::string out(n, '\0');
  for (char& c : out) c = static_cast<char>(rng());
  return out;
}

TEST_CASE("the parallel hash equals the sequential one, in order", "[layers]") {
  const std::string data = RandomBytes(3 * 1024 * 1024 + 17, 1);
  for (size_t chunk : {size_t{1}, size_t{4096}, size_t{100000}, data.size()}) {
    INFO("chunk " << chunk);
    ParallelSha256 hash;
    for (size_t offset = 0; offset < data.size(); offset += chunk) {
      hash.Update(data.data() + offset, std::min(chunk, data.size() - offset));
    }
    CHECK(hash.Finish() == Sha256Digest(data));
  }
  ParallelSha256 empty;
  CHECK(empty.Finish() == Sha256Digest(""));
}

TEST_CASE("a buffer reused after Wait is hashed with the content it had", "[layers]") {
  // Two buffers refilled in turn, as the extractor does: each refill waits
  // for the ticket of that buffer's previous content.
  const std::string data = RandomBytes(1 << 20, 2);
  const size_t chunk = 1000;
  std::vector<char> buffers[2] = {std::vector<char>(chunk), std::vector<char>(chunk)};
  uint64_t tickets[2] = {0, 0};
  ParallelSha256 hash;
  size_t turn = 0;
  for (size_t offset = 0; offset < data.size(); offset += chunk, turn ^= 1) {
    hash.Wait(tickets[turn]);
    const size_t n = std::min(chunk, data.size() - offset);
    std::copy(data.begin() + offset, data.begin() + offset + n, buffers[turn].begin());
    tickets[turn] = hash.Update(buffers[turn].data(), n);
  }
  CHECK(hash.Finish() == Sha256Digest(data));
}

TEST_CASE("destroying the hasher with data queued waits for it", "[layers]") {
  std::string data = RandomBytes(8 << 20, 3);
  {
    ParallelSha256 hash;
    for (size_t offset = 0; offset < data.size(); offset += 1 << 20) {
      hash.Update(data.data() + offset, 1 << 20);
    }
  }
  // Freed only now: the worker must not have been reading it (ASan-visible
  // otherwise, and a crash rather than a hang here).
  data.clear();
  data.shrink_to_fit();
  SUCCEED();
}

}  // namespace
}  // namespace berth::layers
