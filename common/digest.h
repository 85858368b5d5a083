// sha256 digests in the "sha256:<hex>" form that images and layers use.
#pragma once

#include <openssl/evp.h>

#include <string>
#include <string_view>

namespace berth {

class Sha256 {
 public:
  Sha256();
  ~Sha256();
  Sha256(const Sha256&) = delete;
  Sha256& operator=(const Sha256&) = delete;

  void Update(std::string_view data);
  void Update(const void* data, size_t size);
  // "sha256:<64 hex>". The hasher cannot be used afterwards.
  std::string Finish();
  // Only the 64 hex digits.
  std::string FinishHex();

 private:
  EVP_MD_CTX* ctx_;
};

// "sha256:<hex>" of data.
std::string Sha256Digest(std::string_view data);

// True for "sha256:" followed by 64 lowercase hex digits.
bool IsSha256Digest(std::string_view digest);

// The hex part of "sha256:<hex>" (or the input when it has no algorithm).
std::string_view DigestHex(std::string_view digest);

}  // namespace berth
