#include "common/ids.h"

#include <sys/random.h>

#include <cerrno>

namespace berth {

std::string GenerateId() {
  static const char kHex[] = "0123456789abcdef";
  while (true) {
    unsigned char bytes[32];
    size_t got = 0;
    while (got < sizeof(bytes)) {
      ssize_t n = getrandom(bytes + got, sizeof(bytes) - got, 0);
      if (n < 0) {
        if (errno == EINTR) continue;
        // getrandom cannot fail once the pool is initialised; without it we
        // could not hand out unique IDs at all.
        __builtin_trap();
      }
      got += static_cast<size_t>(n);
    }
    std::string id;
    id.reserve(64);
    for (unsigned char b : bytes) {
      id.push_back(kHex[b >> 4]);
      id.push_back(kHex[b & 0xf]);
    }
    // A short ID made only of digits would be ambiguous with a number.
    if (id.substr(0, 12).find_first_not_of("0123456789") != std::string::npos) return id;
  }
}

}  // namespace berth
