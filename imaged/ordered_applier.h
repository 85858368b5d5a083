// How imaged applies the layers of one image, for a pull and for a load: up to
// a number of layers are unpacked by stored at once, and each is published
// only once the layer below it is (stored's parent_pending: see LayerHeader).
// A layer may be applied once its input is complete (a pull's download
// verified; a load's blob spooled). Workers take layers lowest first, so the
// lowest layer not yet applied is always being applied and every wait for a
// parent ends. The first failure stops the rest: layers not started are not
// started, and layers waiting for their parent give up (the sink then keeps
// nothing of them).
#pragma once

#include <condition_variable>
#include <cstddef>
#include <functional>
#include <mutex>
#include <vector>

#include "absl/status/status.h"

namespace berth::imaged {

// Runs fn(0..count-1) on up to workers threads, indices handed out in order;
// stops handing out work after the first failure, which it returns. An
// exception from fn is rethrown here once every thread has returned.
absl::Status RunConcurrently(size_t count, int workers,
                             const std::function<absl::Status(size_t index)>& fn);

// Layers unpacked at once: `configured` when set (> 0), else `limit` at most
// one per core (unpacking is CPU and disk bound).
int ApplyWorkers(int configured, int limit);

class OrderedApplier {
 public:
  // Applies layer `index`. wait_for_parent is null for the lowest layer;
  // above it, it returns OK once layer index-1 is applied and an error when
  // that will not happen: the apply hands it to the sink as
  // LayerHeader::wait_for_parent, or calls it itself before publishing.
  using ApplyFn =
      std::function<absl::Status(size_t index, std::function<absl::Status()> wait_for_parent)>;

  // `count` layers, none ready yet.
  OrderedApplier(size_t count, int workers);
  OrderedApplier(const OrderedApplier&) = delete;
  OrderedApplier& operator=(const OrderedApplier&) = delete;

  // The input of layer `index` is complete: it may be applied.
  void SetReady(size_t index);
  void SetAllReady();
  // No layer becomes ready any more (the input failed): a layer not ready
  // stops the applies.
  void EndInput();
  // Stops from outside (the client went away, a download failed).
  void Stop();
  // Whether the applies stopped before all were applied.
  bool stopped();

  // Applies every layer; returns when all are applied (OK) or the applies
  // stopped: then the first apply's error, or Aborted when they were stopped
  // from outside or an input never came. An exception from apply stops the
  // applies and is rethrown. Call once.
  absl::Status Run(const ApplyFn& apply);
  // Whether Run failed because an apply did (its error is the cause), rather
  // than because of Stop or a missing input.
  bool apply_failed();

 private:
  absl::Status ApplyOne(const ApplyFn& apply, size_t index);
  absl::Status WaitForApplied(size_t index);

  const int workers_;
  std::mutex mutex_;
  std::condition_variable changed_;
  // Guarded by mutex_:
  std::vector<bool> ready_;
  std::vector<bool> applied_;
  size_t applied_count_ = 0;
  bool input_ended_ = false;
  bool stopped_ = false;
  absl::Status apply_error_;
};

}  // namespace berth::imaged
