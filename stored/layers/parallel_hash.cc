#include "stored/layers/parallel_hash.h"

namespace berth::layers {

ParallelSha256::ParallelSha256() : thread_([this] { Run(); }) {}

ParallelSha256::~ParallelSha256() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stopping_ = true;
  }
  changed_.notify_all();
  thread_.join();
}

uint64_t ParallelSha256::Update(const void* data, size_t size) {
  std::lock_guard<std::mutex> lock(mu_);
  queue_.push_back({data, size});
  changed_.notify_all();
  return ++queued_;
}

void ParallelSha256::Wait(uint64_t ticket) {
  std::unique_lock<std::mutex> lock(mu_);
  changed_.wait(lock, [&] { return hashed_ >= ticket; });
}

std::string ParallelSha256::Finish() {
  uint64_t last;
  {
    std::lock_guard<std::mutex> lock(mu_);
    last = queued_;
  }
  Wait(last);
  // The worker touches hash_ only for queued pieces, and all are done.
  return hash_.Finish();
}

void ParallelSha256::Run() {
  std::unique_lock<std::mutex> lock(mu_);
  while (true) {
    changed_.wait(lock, [&] { return stopping_ || !queue_.empty(); });
    // Drained before stopping: the destructor promises the queued data is
    // no longer read once it returns.
    if (queue_.empty()) return;
    Piece piece = queue_.front();
    queue_.pop_front();
    lock.unlock();
    hash_.Update(piece.data, piece.size);
    lock.lock();
    ++hashed_;
    changed_.notify_all();
  }
}

}  // namespace berth::layers
