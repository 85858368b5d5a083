// Deletes directories that were already moved out of sight (renamed into the
// state's tmp/), on a thread of its own.
//
// Removing a container's writable layer is a rename (atomic: the root
// filesystem is gone for everyone) and then a recursive delete, which the
// removal need not wait for: docker run --rm waits for the removal. A crash
// before the delete finishes leaves the directory in tmp/, which stored's
// startup (Storage::Reconcile) deletes with the other staging leftovers.
#pragma once

#include <condition_variable>
#include <deque>
#include <mutex>
#include <string>
#include <thread>

namespace berth::stored {

class TrashReaper {
 public:
  TrashReaper();
  // Deletes what is still queued, then returns.
  ~TrashReaper();
  TrashReaper(const TrashReaper&) = delete;
  TrashReaper& operator=(const TrashReaper&) = delete;

  // Queues `path` (a directory nobody uses any more) for deletion.
  void Reap(std::string path);
  // Returns once everything queued so far is deleted.
  void Drain();

 private:
  void Run();

  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<std::string> queue_;
  bool busy_ = false;
  bool stop_ = false;
  std::thread worker_;
};

}  // namespace berth::stored
