#include "imaged/build/memo.h"

#include <algorithm>

namespace berth::imaged::build {

std::optional<MemoizedBuild> BuildMemo::Find(const std::string& key, const StoreGenerations& now) {
  std::lock_guard<std::mutex> lock(mutex_);
  auto it = builds_.find(key);
  if (it == builds_.end()) return std::nullopt;
  if (it->second.generations != now) {
    builds_.erase(it);
    order_.erase(std::find(order_.begin(), order_.end(), key));
    return std::nullopt;
  }
  return it->second;
}

void BuildMemo::Remember(const std::string& key, MemoizedBuild build) {
  std::lock_guard<std::mutex> lock(mutex_);
  auto [it, added] = builds_.insert_or_assign(key, std::move(build));
  if (!added) order_.erase(std::find(order_.begin(), order_.end(), key));
  order_.push_back(key);
  if (order_.size() > kCapacity) {
    builds_.erase(order_.front());
    order_.pop_front();
  }
}

size_t BuildMemo::size() {
  std::lock_guard<std::mutex> lock(mutex_);
  return builds_.size();
}

}  // namespace berth::imaged::build
