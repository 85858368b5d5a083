// Where imaged puts layers: stored unpacks them (imaged is unprivileged and
// never unpacks a layer itself). Behind an interface so that the image logic
// is tested with an in-memory fake; GrpcLayerSink talks to berth-stored.
#pragma once

#include <cstdint>
#include <functional>
#include <string>

#include "absl/status/statusor.h"
#include "imaged/byte_source.h"

namespace berth::imaged {

struct LayerStat {
  bool exists = false;
  // Bytes unpacked.
  int64_t size = 0;
};

struct LayerHeader {
  std::string chain_id;
  // Empty for a base layer.
  std::string parent_chain_id;
  // "sha256:<hex>" of the uncompressed tar; the sink refuses a layer whose
  // content does not match.
  std::string diff_id;
  // Set when the parent may still be being applied (a pull applies layers
  // concurrently): the sink unpacks the layer without the parent, calls this
  // once the tar is sent, and publishes the layer only after it returned OK;
  // an error from it abandons the layer (nothing of it stays) and is the
  // apply's result.
  std::function<absl::Status()> wait_for_parent;
};

class LayerSink {
 public:
  virtual ~LayerSink() = default;
  virtual absl::StatusOr<LayerStat> StatLayer(const std::string& chain_id) = 0;
  // Streams tar (plain or compressed) to the sink; returns the unpacked size.
  virtual absl::StatusOr<int64_t> ApplyLayer(const LayerHeader& header, ByteSource& tar) = 0;
  virtual absl::Status RemoveLayer(const std::string& chain_id) = 0;
};

}  // namespace berth::imaged
