// Temp dirs for runtimed's tests (short paths: shim sockets live under them).
#pragma once

#include <stdlib.h>

#include <string>

#include "common/fs.h"

namespace berth::runtimed::testing {

class TempDir {
 public:
  TempDir() {
    path_ = "/tmp/rtdXXXXXX";
    if (mkdtemp(path_.data()) == nullptr) abort();
  }
  ~TempDir() { (void)RemoveAll(path_); }
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

}  // namespace berth::runtimed::testing
