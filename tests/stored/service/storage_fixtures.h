// What the in-process Storage tests share: layers whose chain IDs are derived
// as OCI derives them (so stacks are consistent), a Storage opened in a
// directory, and a count of what a directory holds.
#pragma once

#include <dirent.h>

#include <catch2/catch.hpp>
#include <memory>
#include <string>
#include <vector>

#include "common/digest.h"
#include "stored/service/storage.h"
#include "tests/stored/test_tar.h"

namespace berth::stored {

struct TestLayer {
  std::string tar;
  ApplyLayerHeader header;
};

inline TestLayer MakeLayer(const std::vector<testing::TarEntry>& entries,
                           const std::string& parent = "") {
  TestLayer layer;
  layer.tar = testing::MakeTar(entries);
  layer.header.diff_id = Sha256Digest(layer.tar);
  layer.header.parent_chain_id = parent;
  layer.header.chain_id =
      parent.empty() ? layer.header.diff_id : Sha256Digest(parent + " " + layer.header.diff_id);
  return layer;
}

inline std::unique_ptr<Storage> OpenStorage(const std::string& dir) {
  auto storage = Storage::Open(dir, rootfs::NewKernelMounter());
  INFO(storage.status().ToString());
  REQUIRE(storage.ok());
  return std::move(*storage);
}

// Entries of `dir` other than the dot files; 0 when it does not exist.
inline size_t Entries(const std::string& dir) {
  size_t n = 0;
  if (DIR* d = opendir(dir.c_str())) {
    while (dirent* e = readdir(d)) n += e->d_name[0] != '.';
    closedir(d);
  }
  return n;
}

}  // namespace berth::stored
