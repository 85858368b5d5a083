// Keeping the shim small: what creating a container or an exec touched once
// (heap, code pages of the static binary) is given back to the kernel, so a
// shim's resident set is what its event loop uses.
#pragma once

namespace berth::runtime {

void ReleaseUnusedMemory();

}  // namespace berth::runtime
