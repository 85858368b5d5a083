// The real NftRunner, over libnftables (nft_run_cmd_from_buffer): no `nft`
// process per change, and the library's own parser reports errors.
#pragma once

#include <memory>

#include "absl/status/statusor.h"
#include "netd/firewall/firewall.h"

namespace berth::netd {

absl::StatusOr<std::unique_ptr<NftRunner>> NewLibNftRunner();

}  // namespace berth::netd
