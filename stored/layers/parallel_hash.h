// sha256 of a stream computed on a thread of its own, so that the diff ID of
// a layer is hashed while the extraction thread parses the tar and writes
// files, instead of in between.
#pragma once

#include <condition_variable>
#include <cstdint>
#include <deque>
#include <mutex>
#include <string>
#include <thread>

#include "common/digest.h"

namespace berth::layers {

class ParallelSha256 {
 public:
  ParallelSha256();
  // Waits for the queued data (the caller's buffers must outlive it).
  ~ParallelSha256();
  ParallelSha256(const ParallelSha256&) = delete;
  ParallelSha256& operator=(const ParallelSha256&) = delete;

  // Queues data, hashed in order with the rest. The caller must leave the
  // bytes untouched until Wait(ticket) returned.
  uint64_t Update(const void* data, size_t size);
  // Returns once the data of `ticket` (and all before it) was hashed.
  void Wait(uint64_t ticket);
  // "sha256:<hex>" of everything queued. Update cannot be used afterwards.
  std::string Finish();

 private:
  void Run();

  Sha256 hash_;
  std::mutex mu_;
  std::condition_variable changed_;
  struct Piece {
    const void* data;
    size_t size;
  };
  std::deque<Piece> queue_;
  uint64_t queued_ = 0;  // Tickets handed out.
  uint64_t hashed_ = 0;  // Tickets hashed.
  bool stopping_ = false;
  std::thread thread_;
};

}  // namespace berth::layers
