#include "imaged/registry/www_authenticate.h"

#include "absl/strings/ascii.h"

namespace berth::imaged::registry {
namespace {

bool IsTokenChar(char c) {
  return absl::ascii_isalnum(static_cast<unsigned char>(c)) ||
         std::string("!#$%&'*+-.^_`|~/").find(c) != std::string::npos;
}

class Scanner {
 public:
  explicit Scanner(absl::string_view text) : text_(text) {}
  bool done() const { return pos_ >= text_.size(); }
  char peek() const { return done() ? '\0' : text_[pos_]; }
  void SkipSpace() {
    while (!done() && (text_[pos_] == ' ' || text_[pos_] == '\t')) ++pos_;
  }
  std::string Token() {
    size_t start = pos_;
    while (!done() && IsTokenChar(text_[pos_])) ++pos_;
    return std::string(text_.substr(start, pos_ - start));
  }
  std::string Quoted() {
    std::string out;
    ++pos_;  // the opening quote
    while (!done() && text_[pos_] != '"') {
      if (text_[pos_] == '\\' && pos_ + 1 < text_.size()) ++pos_;
      out.push_back(text_[pos_++]);
    }
    if (!done()) ++pos_;
    return out;
  }
  void Advance() { ++pos_; }
  size_t pos() const { return pos_; }
  void Reset(size_t pos) { pos_ = pos; }

 private:
  absl::string_view text_;
  size_t pos_ = 0;
};

}  // namespace

std::vector<Challenge> ParseWwwAuthenticate(absl::string_view header) {
  std::vector<Challenge> challenges;
  Scanner scan(header);
  while (true) {
    scan.SkipSpace();
    while (scan.peek() == ',') {
      scan.Advance();
      scan.SkipSpace();
    }
    if (scan.done()) break;
    std::string scheme = scan.Token();
    if (scheme.empty()) {
      scan.Advance();
      continue;
    }
    Challenge challenge;
    challenge.scheme = absl::AsciiStrToLower(scheme);
    // Parameters until the next scheme: a token followed by something other
    // than '=' after a comma starts a new challenge.
    while (true) {
      scan.SkipSpace();
      while (scan.peek() == ',') {
        scan.Advance();
        scan.SkipSpace();
      }
      if (scan.done()) break;
      size_t start = scan.pos();
      std::string name = scan.Token();
      scan.SkipSpace();
      if (name.empty() || scan.peek() != '=') {
        scan.Reset(start);
        break;
      }
      scan.Advance();
      scan.SkipSpace();
      std::string value = scan.peek() == '"' ? scan.Quoted() : scan.Token();
      challenge.params[absl::AsciiStrToLower(name)] = value;
    }
    challenges.push_back(std::move(challenge));
    if (!scan.done() && !IsTokenChar(scan.peek())) scan.Advance();
  }
  return challenges;
}

}  // namespace berth::imaged::registry
