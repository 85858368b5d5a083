#include "imaged/build/shell_lex.h"

#include <cctype>

#include "absl/strings/str_cat.h"
#include "common/status.h"

namespace berth::imaged::build {
namespace {

constexpr int kEof = -1;

// Words as the shell splits them: text from variables splits on whitespace,
// quoted text never does, and "" still makes an (empty) word.
class Words {
 public:
  void AddChar(char c) {
    if (std::isspace(static_cast<unsigned char>(c))) {
      if (in_word_) words_.push_back(std::move(word_));
      word_.clear();
      in_word_ = false;
      return;
    }
    AddRawChar(c);
  }
  void AddRawChar(char c) {
    word_.push_back(c);
    in_word_ = true;
  }
  void AddString(const std::string& s) {
    for (char c : s) AddChar(c);
  }
  void AddRawString(const std::string& s) {
    word_ += s;
    in_word_ = true;
  }
  std::vector<std::string> Get() {
    if (in_word_ || !word_.empty()) {
      words_.push_back(std::move(word_));
      word_.clear();
      in_word_ = false;
    }
    return std::move(words_);
  }

 private:
  std::vector<std::string> words_;
  std::string word_;
  bool in_word_ = false;
};

class Scanner {
 public:
  Scanner(const std::string& text, char escape, const std::vector<std::string>& env)
      : text_(text), escape_(escape), env_(env) {}

  absl::Status Process(std::string* result, std::vector<std::string>* words) {
    return ProcessStopOn(kEof, result, words);
  }

 private:
  int Peek() const { return pos_ < text_.size() ? static_cast<unsigned char>(text_[pos_]) : kEof; }
  int Next() { return pos_ < text_.size() ? static_cast<unsigned char>(text_[pos_++]) : kEof; }

  bool GetEnv(const std::string& name, std::string* value) const {
    for (const std::string& entry : env_) {
      size_t eq = entry.find('=');
      std::string key = eq == std::string::npos ? entry : entry.substr(0, eq);
      if (key == name) {
        *value = eq == std::string::npos ? "" : entry.substr(eq + 1);
        return true;
      }
    }
    value->clear();
    return false;
  }

  absl::Status ProcessStopOn(int stop, std::string* result, std::vector<std::string>* words_out) {
    Words words;
    while (Peek() != kEof) {
      int c = Peek();
      if (stop != kEof && c == stop) {
        Next();
        if (words_out != nullptr) *words_out = words.Get();
        return absl::OkStatus();
      }
      if (c == '\'' || c == '"' || c == '$') {
        std::string part;
        if (c == '\'') {
          RETURN_IF_ERROR(SingleQuote(&part));
        } else if (c == '"') {
          RETURN_IF_ERROR(DoubleQuote(&part));
        } else {
          RETURN_IF_ERROR(Dollar(&part));
        }
        *result += part;
        if (c == '$') {
          words.AddString(part);
        } else {
          words.AddRawString(part);
        }
        continue;
      }
      c = Next();
      if (c == escape_) {
        c = Next();
        // An escape token at the very end disappears.
        if (c == kEof) break;
        words.AddRawChar(static_cast<char>(c));
      } else {
        words.AddChar(static_cast<char>(c));
      }
      result->push_back(static_cast<char>(c));
    }
    if (stop != kEof) {
      return absl::InvalidArgumentError(absl::StrCat(
          "unexpected end of statement while looking for matching ", std::string(1, stop)));
    }
    if (words_out != nullptr) *words_out = words.Get();
    return absl::OkStatus();
  }

  absl::Status SingleQuote(std::string* out) {
    Next();
    for (;;) {
      int c = Next();
      if (c == kEof) {
        return absl::InvalidArgumentError(
            "unexpected end of statement while looking for matching single-quote");
      }
      if (c == '\'') return absl::OkStatus();
      out->push_back(static_cast<char>(c));
    }
  }

  absl::Status DoubleQuote(std::string* out) {
    Next();
    for (;;) {
      int c = Peek();
      if (c == kEof) {
        return absl::InvalidArgumentError(
            "unexpected end of statement while looking for matching double-quote");
      }
      if (c == '"') {
        Next();
        return absl::OkStatus();
      }
      if (c == '$') {
        std::string value;
        RETURN_IF_ERROR(Dollar(&value));
        *out += value;
        continue;
      }
      c = Next();
      if (c == escape_) {
        int following = Peek();
        if (following == kEof) continue;
        // Inside double quotes only these can be escaped; other escapes stay.
        if (following == '"' || following == '$' || following == escape_) c = Next();
      }
      out->push_back(static_cast<char>(c));
    }
  }

  static bool IsSpecialParam(int c) {
    return c == '@' || c == '*' || c == '#' || c == '?' || c == '-' || c == '$' || c == '!' ||
           c == '0';
  }

  std::string Name() {
    std::string name;
    while (Peek() != kEof) {
      int c = Peek();
      if (name.empty() && std::isdigit(c)) {
        while (Peek() != kEof && std::isdigit(Peek())) name.push_back(static_cast<char>(Next()));
        return name;
      }
      if (name.empty() && IsSpecialParam(c)) return std::string(1, static_cast<char>(Next()));
      if (!std::isalnum(c) && c != '_') break;
      name.push_back(static_cast<char>(Next()));
    }
    return name;
  }

  absl::Status Dollar(std::string* out) {
    Next();
    if (Peek() != '{') {
      std::string name = Name();
      if (name.empty()) {
        *out = "$";
        return absl::OkStatus();
      }
      GetEnv(name, out);
      return absl::OkStatus();
    }
    Next();
    int c = Peek();
    if (c == kEof) return absl::InvalidArgumentError("syntax error: missing '}'");
    if (c == '{' || c == '}' || c == ':') {
      return absl::InvalidArgumentError("syntax error: bad substitution");
    }
    std::string name = Name();
    c = Next();
    if (c == '}') {
      GetEnv(name, out);
      return absl::OkStatus();
    }
    if (c == kEof) return absl::InvalidArgumentError("syntax error: missing '}'");
    bool colon = false;
    if (c == ':') {
      colon = true;
      c = Next();
    }
    if (c != '-' && c != '+' && c != '?') {
      if (colon) {
        return absl::InvalidArgumentError(absl::StrCat(
            "unsupported modifier (", std::string(1, static_cast<char>(c)), ") in substitution"));
      }
      return absl::InvalidArgumentError("missing ':' in substitution");
    }
    std::string word;
    absl::Status status = ProcessStopOn('}', &word, nullptr);
    if (!status.ok()) {
      if (Peek() == kEof) return absl::InvalidArgumentError("syntax error: missing '}'");
      return status;
    }
    std::string value;
    bool found = GetEnv(name, &value);
    // With the colon an empty value counts as unset, as in sh.
    bool set = colon ? !value.empty() : found;
    switch (c) {
      case '-':
        *out = set ? value : word;
        return absl::OkStatus();
      case '+':
        *out = set ? word : "";
        return absl::OkStatus();
      default:
        if (!set) {
          if (word.empty()) {
            word = found ? "is not allowed to be empty" : "is not allowed to be unset";
          }
          return absl::InvalidArgumentError(absl::StrCat(name, ": ", word));
        }
        *out = value;
        return absl::OkStatus();
    }
  }

  const std::string& text_;
  size_t pos_ = 0;
  int escape_;
  const std::vector<std::string>& env_;
};

}  // namespace

absl::StatusOr<std::string> ShellLex::ProcessWord(const std::string& word,
                                                  const std::vector<std::string>& env) const {
  Scanner scanner(word, escape_, env);
  std::string result;
  RETURN_IF_ERROR(scanner.Process(&result, nullptr));
  return result;
}

absl::StatusOr<std::vector<std::string>> ShellLex::ProcessWords(
    const std::string& word, const std::vector<std::string>& env) const {
  Scanner scanner(word, escape_, env);
  std::string result;
  std::vector<std::string> words;
  RETURN_IF_ERROR(scanner.Process(&result, &words));
  return words;
}

}  // namespace berth::imaged::build
