#include "netd/ipam/address.h"

#include <arpa/inet.h>

#include <cstdio>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"

namespace berth::netd {

absl::StatusOr<uint32_t> ParseIpv4(const std::string& text) {
  in_addr address;
  if (inet_pton(AF_INET, text.c_str(), &address) != 1) {
    return absl::InvalidArgumentError(absl::StrCat("invalid IPv4 address: ", text));
  }
  return ntohl(address.s_addr);
}

std::string FormatIpv4(uint32_t address) {
  return absl::StrCat(address >> 24, ".", (address >> 16) & 0xff, ".", (address >> 8) & 0xff, ".",
                      address & 0xff);
}

std::string Subnet::ToString() const { return absl::StrCat(FormatIpv4(base), "/", prefix_length); }

absl::StatusOr<Subnet> ParseSubnet(const std::string& text, bool allow_host_bits) {
  const size_t slash = text.find('/');
  int prefix = 0;
  if (slash == std::string::npos || !absl::SimpleAtoi(text.substr(slash + 1), &prefix) ||
      prefix < 0 || prefix > 32) {
    return absl::InvalidArgumentError(absl::StrCat("invalid CIDR address: ", text));
  }
  absl::StatusOr<uint32_t> address = ParseIpv4(text.substr(0, slash));
  if (!address.ok())
    return absl::InvalidArgumentError(absl::StrCat("invalid CIDR address: ", text));
  Subnet subnet{*address, prefix};
  subnet.base = *address & subnet.Mask();
  if (!allow_host_bits && subnet.base != *address) {
    return absl::InvalidArgumentError(
        absl::StrCat("invalid subnet ", text, ": it should be ", subnet.ToString()));
  }
  return subnet;
}

absl::StatusOr<uint32_t> ParseCidrAddress(const std::string& text) {
  const size_t slash = text.find('/');
  return ParseIpv4(text.substr(0, slash));
}

std::string MacForAddress(uint32_t address) {
  std::string raw = {'\x02',
                     '\x42',
                     static_cast<char>(address >> 24),
                     static_cast<char>((address >> 16) & 0xff),
                     static_cast<char>((address >> 8) & 0xff),
                     static_cast<char>(address & 0xff)};
  return raw;
}

std::string FormatMac(const std::string& raw) {
  std::string out;
  for (size_t i = 0; i < raw.size(); ++i) {
    absl::StrAppend(&out, i == 0 ? "" : ":",
                    absl::StrFormat("%02x", static_cast<unsigned char>(raw[i])));
  }
  return out;
}

absl::StatusOr<std::string> ParseMac(const std::string& text) {
  unsigned int b[6];
  char tail;
  if (sscanf(text.c_str(), "%2x:%2x:%2x:%2x:%2x:%2x%c", &b[0], &b[1], &b[2], &b[3], &b[4], &b[5],
             &tail) != 6) {
    return absl::InvalidArgumentError(absl::StrCat("invalid MAC address: ", text));
  }
  std::string raw;
  for (unsigned int byte : b) raw.push_back(static_cast<char>(byte));
  return raw;
}

}  // namespace berth::netd
