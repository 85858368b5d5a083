#include "netd/firewall/libnft_runner.h"

#include <nftables/libnftables.h>

#include <mutex>

#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"

namespace berth::netd {
namespace {

class LibNftRunner final : public NftRunner {
 public:
  explicit LibNftRunner(nft_ctx* ctx) : ctx_(ctx) {}
  ~LibNftRunner() override { nft_ctx_free(ctx_); }

  absl::StatusOr<std::string> Run(const std::string& script) override {
    // A context is not safe to share between threads.
    std::lock_guard<std::mutex> lock(mu_);
    const int rc = nft_run_cmd_from_buffer(ctx_, script.c_str());
    std::string output = nft_ctx_get_output_buffer(ctx_);
    std::string error = nft_ctx_get_error_buffer(ctx_);
    if (rc != 0) {
      absl::string_view message = absl::StripTrailingAsciiWhitespace(error);
      return absl::InternalError(
          absl::StrCat("nftables: ", message.empty() ? "transaction failed" : message));
    }
    return output;
  }

 private:
  std::mutex mu_;
  nft_ctx* const ctx_;
};

}  // namespace

absl::StatusOr<std::unique_ptr<NftRunner>> NewLibNftRunner() {
  nft_ctx* ctx = nft_ctx_new(NFT_CTX_DEFAULT);
  if (ctx == nullptr) return absl::InternalError("nftables: cannot create a context");
  // Buffered: output and errors come back to the caller, never to stdout.
  if (nft_ctx_buffer_output(ctx) != 0 || nft_ctx_buffer_error(ctx) != 0) {
    nft_ctx_free(ctx);
    return absl::InternalError("nftables: cannot buffer output");
  }
  return std::unique_ptr<NftRunner>(new LibNftRunner(ctx));
}

}  // namespace berth::netd
