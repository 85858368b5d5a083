#include "imaged/build/go_format.h"

#include <cstdio>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"

namespace berth::imaged::build {
namespace {

// Length of the valid UTF-8 sequence at s[i], 0 when invalid.
size_t Utf8Length(const std::string& s, size_t i) {
  unsigned char c = static_cast<unsigned char>(s[i]);
  size_t n = c < 0x80 ? 1 : (c >> 5) == 0x6 ? 2 : (c >> 4) == 0xE ? 3 : (c >> 3) == 0x1E ? 4 : 0;
  if (n == 0 || i + n > s.size()) return 0;
  for (size_t k = 1; k < n; ++k) {
    if ((static_cast<unsigned char>(s[i + k]) & 0xC0) != 0x80) return 0;
  }
  return n;
}

void AppendEscapedByte(unsigned char c, char quote, std::string* out) {
  switch (c) {
    case '\a':
      *out += "\\a";
      return;
    case '\b':
      *out += "\\b";
      return;
    case '\f':
      *out += "\\f";
      return;
    case '\n':
      *out += "\\n";
      return;
    case '\r':
      *out += "\\r";
      return;
    case '\t':
      *out += "\\t";
      return;
    case '\v':
      *out += "\\v";
      return;
    case '\\':
      *out += "\\\\";
      return;
    default:
      break;
  }
  if (c == static_cast<unsigned char>(quote)) {
    out->push_back('\\');
    out->push_back(quote);
    return;
  }
  if (c < 0x20 || c == 0x7F || c >= 0x80) {
    char buffer[8];
    std::snprintf(buffer, sizeof(buffer), "\\x%02x", c);
    *out += buffer;
    return;
  }
  out->push_back(static_cast<char>(c));
}

}  // namespace

std::string GoQuote(const std::string& s) {
  std::string out = "\"";
  for (size_t i = 0; i < s.size();) {
    unsigned char c = static_cast<unsigned char>(s[i]);
    if (c >= 0x80) {
      size_t n = Utf8Length(s, i);
      if (n > 1) {
        // Printable non-ASCII runes stay as they are, as strconv.Quote does.
        out.append(s, i, n);
        i += n;
        continue;
      }
    }
    AppendEscapedByte(c, '"', &out);
    ++i;
  }
  out += "\"";
  return out;
}

std::string GoQuoteSlice(const std::vector<std::string>& items) {
  std::vector<std::string> quoted;
  for (const std::string& item : items) quoted.push_back(GoQuote(item));
  return absl::StrCat("[", absl::StrJoin(quoted, " "), "]");
}

std::string GoSlice(const std::vector<std::string>& items) {
  return absl::StrCat("[", absl::StrJoin(items, " "), "]");
}

std::string GoQuoteRune(int64_t value) {
  if (value >= 0 && value < 0x80) {
    std::string out = "'";
    AppendEscapedByte(static_cast<unsigned char>(value), '\'', &out);
    return out + "'";
  }
  char buffer[32];
  if (value >= 0 && value <= 0xFFFF) {
    std::snprintf(buffer, sizeof(buffer), "'\\u%04x'", static_cast<unsigned>(value));
  } else if (value >= 0 && value <= 0x10FFFF) {
    std::snprintf(buffer, sizeof(buffer), "'\\U%08x'", static_cast<unsigned>(value));
  } else {
    return "'\\ufffd'";
  }
  return buffer;
}

namespace {

// Go's fmtFrac: v/10^prec with trailing zeros (and the dot) dropped.
std::string Fraction(uint64_t v, int prec, uint64_t* integer) {
  std::string digits;
  bool print = false;
  for (int i = 0; i < prec; ++i) {
    int digit = static_cast<int>(v % 10);
    print = print || digit != 0;
    if (print) digits.insert(digits.begin(), static_cast<char>('0' + digit));
    v /= 10;
  }
  *integer = v;
  return print ? "." + digits : "";
}

}  // namespace

std::string GoDuration(int64_t d) {
  if (d == 0) return "0s";
  bool negative = d < 0;
  uint64_t u = negative ? static_cast<uint64_t>(-(d + 1)) + 1 : static_cast<uint64_t>(d);
  std::string out;
  if (u < 1000000000ULL) {
    int prec = 0;
    std::string unit;
    if (u < 1000ULL) {
      return absl::StrCat(negative ? "-" : "", u, "ns");
    } else if (u < 1000000ULL) {
      prec = 3;
      unit = "\xC2\xB5s";
    } else {
      prec = 6;
      unit = "ms";
    }
    uint64_t integer = 0;
    std::string fraction = Fraction(u, prec, &integer);
    out = absl::StrCat(integer, fraction, unit);
  } else {
    uint64_t integer = 0;
    std::string fraction = Fraction(u, 9, &integer);
    out = absl::StrCat(integer % 60, fraction, "s");
    integer /= 60;
    if (integer > 0) {
      out = absl::StrCat(integer % 60, "m", out);
      integer /= 60;
      if (integer > 0) out = absl::StrCat(integer, "h", out);
    }
  }
  return negative ? "-" + out : out;
}

absl::StatusOr<int64_t> ParseGoDuration(const std::string& text) {
  auto invalid = [&] {
    return absl::InvalidArgumentError(absl::StrCat("time: invalid duration \"", text, "\""));
  };
  std::string s = text;
  bool negative = false;
  if (!s.empty() && (s[0] == '-' || s[0] == '+')) {
    negative = s[0] == '-';
    s.erase(0, 1);
  }
  if (s == "0") return 0;
  if (s.empty()) return invalid();
  long double total = 0;
  size_t i = 0;
  while (i < s.size()) {
    size_t start = i;
    long double value = 0;
    while (i < s.size() && s[i] >= '0' && s[i] <= '9') value = value * 10 + (s[i++] - '0');
    bool leading = i > start;
    bool trailing = false;
    if (i < s.size() && s[i] == '.') {
      ++i;
      long double scale = 0.1L;
      size_t fraction_start = i;
      while (i < s.size() && s[i] >= '0' && s[i] <= '9') {
        value += (s[i++] - '0') * scale;
        scale /= 10;
      }
      trailing = i > fraction_start;
    }
    if (!leading && !trailing) return invalid();
    size_t unit_start = i;
    while (i < s.size() && s[i] != '.' && (s[i] < '0' || s[i] > '9')) ++i;
    std::string unit = s.substr(unit_start, i - unit_start);
    if (unit.empty()) {
      return absl::InvalidArgumentError(
          absl::StrCat("time: missing unit in duration \"", text, "\""));
    }
    long double scale;
    if (unit == "ns") {
      scale = 1;
    } else if (unit == "us" || unit == "\xC2\xB5s" || unit == "\xCE\xBCs") {
      scale = 1e3L;
    } else if (unit == "ms") {
      scale = 1e6L;
    } else if (unit == "s") {
      scale = 1e9L;
    } else if (unit == "m") {
      scale = 60e9L;
    } else if (unit == "h") {
      scale = 3600e9L;
    } else {
      return absl::InvalidArgumentError(
          absl::StrCat("time: unknown unit \"", unit, "\" in duration \"", text, "\""));
    }
    total += value * scale;
    if (total > 9.2233720368547758e18L) return invalid();
  }
  int64_t result = static_cast<int64_t>(total + 0.5L);
  return negative ? -result : result;
}

}  // namespace berth::imaged::build
