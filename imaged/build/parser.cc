#include "imaged/build/parser.h"

#include <cctype>
#include <functional>
#include <map>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "common/json.h"
#include "common/status.h"

namespace berth::imaged::build {
namespace {

const char kNotStringArray[] =
    "when using JSON array syntax, arrays must be comprised of strings only";

bool IsSpace(char c) { return std::isspace(static_cast<unsigned char>(c)) != 0; }

std::string TrimLeft(absl::string_view s) {
  size_t i = 0;
  while (i < s.size() && IsSpace(s[i])) ++i;
  return std::string(s.substr(i));
}

std::string TrimSpace(absl::string_view s) {
  return std::string(absl::StripTrailingAsciiWhitespace(TrimLeft(s)));
}

std::string TrimNewline(absl::string_view s) {
  while (!s.empty() && (s.back() == '\n' || s.back() == '\r')) s.remove_suffix(1);
  return std::string(s);
}

bool IsComment(absl::string_view line) {
  std::string trimmed = TrimLeft(TrimNewline(line));
  return !trimmed.empty() && trimmed[0] == '#';
}

// Docker's reWhitespace: [\t\v\f\r ]+ (no newline: lines are already split).
bool IsSplitSpace(char c) { return c == ' ' || c == '\t' || c == '\v' || c == '\f' || c == '\r'; }

std::vector<std::string> SplitWhitespace(absl::string_view s, int max_parts) {
  std::vector<std::string> parts;
  size_t i = 0;
  while (i <= s.size()) {
    if (max_parts > 0 && static_cast<int>(parts.size()) == max_parts - 1) {
      parts.emplace_back(s.substr(i));
      break;
    }
    size_t j = i;
    while (j < s.size() && !IsSplitSpace(s[j])) ++j;
    parts.emplace_back(s.substr(i, j - i));
    if (j == s.size()) break;
    while (j < s.size() && IsSplitSpace(s[j])) ++j;
    i = j;
  }
  return parts;
}

// Leading "--flag" words; returns the rest of the line (Docker's
// extractBuilderFlags, which removes quotes and backslashes in flags).
std::string ExtractFlags(const std::string& line, std::vector<std::string>* flags) {
  enum { kSpaces, kWord, kQuote } phase = kSpaces;
  std::string word;
  char quote = 0;
  bool blank_ok = false;
  for (size_t pos = 0; pos <= line.size(); ++pos) {
    char c = pos < line.size() ? line[pos] : 0;
    if (phase == kSpaces) {
      if (pos == line.size()) break;
      if (IsSpace(c)) continue;
      if (c != '-' || pos + 1 == line.size() || line[pos + 1] != '-') return line.substr(pos);
      phase = kWord;
    }
    if (pos == line.size()) {
      if (word != "--" && (blank_ok || !word.empty())) flags->push_back(word);
      break;
    }
    if (phase == kWord) {
      if (IsSpace(c)) {
        phase = kSpaces;
        if (word == "--") return line.substr(pos);
        if (blank_ok || !word.empty()) flags->push_back(word);
        word.clear();
        blank_ok = false;
        continue;
      }
      if (c == '\'' || c == '"') {
        quote = c;
        blank_ok = true;
        phase = kQuote;
        continue;
      }
      if (c == '\\') {
        if (pos + 1 == line.size()) continue;
        c = line[++pos];
      }
      word.push_back(c);
      continue;
    }
    // kQuote
    if (c == quote) {
      phase = kWord;
      continue;
    }
    if (c == '\\') {
      if (pos + 1 == line.size()) {
        phase = kWord;
        continue;
      }
      c = line[++pos];
    }
    word.push_back(c);
  }
  return "";
}

struct ArgsResult {
  std::vector<std::string> args;
  bool json = false;
};

// JSON array of strings. NotFound when the text is not a JSON array at all
// (the caller falls back to shell form), InvalidArgument for an array of
// something else.
absl::StatusOr<ArgsResult> ParseJsonArgs(const std::string& rest) {
  std::string text = TrimLeft(rest);
  if (!absl::StartsWith(text, "[")) return absl::NotFoundError("not JSON");
  absl::StatusOr<Json> parsed = ParseJson(text);
  if (!parsed.ok() || !parsed->is_array()) return absl::NotFoundError("not JSON");
  ArgsResult result;
  result.json = true;
  for (const Json& item : *parsed) {
    if (!item.is_string()) return absl::InvalidArgumentError(kNotStringArray);
    result.args.push_back(item.get<std::string>());
  }
  return result;
}

absl::StatusOr<ArgsResult> ParseMaybeJson(const std::string& rest, char) {
  ArgsResult result;
  if (rest.empty()) return result;
  absl::StatusOr<ArgsResult> json = ParseJsonArgs(rest);
  if (json.ok()) return json;
  if (!absl::IsNotFound(json.status())) return json.status();
  result.args.push_back(rest);
  return result;
}

absl::StatusOr<ArgsResult> ParseStringsWhitespaceDelimited(const std::string& rest, char) {
  ArgsResult result;
  if (rest.empty()) return result;
  result.args = SplitWhitespace(rest, 0);
  return result;
}

absl::StatusOr<ArgsResult> ParseMaybeJsonToList(const std::string& rest, char escape) {
  absl::StatusOr<ArgsResult> json = ParseJsonArgs(rest);
  if (json.ok()) return json;
  if (!absl::IsNotFound(json.status())) return json.status();
  return ParseStringsWhitespaceDelimited(rest, escape);
}

absl::StatusOr<ArgsResult> ParseString(const std::string& rest, char) {
  ArgsResult result;
  if (!rest.empty()) result.args.push_back(rest);
  return result;
}

// ENV and LABEL: "k=v k2=v2" or the legacy "k value with spaces".
absl::StatusOr<ArgsResult> ParseNameVal(const std::string& rest, const std::string& key,
                                        char escape) {
  ArgsResult result;
  std::vector<std::string> words = ParseWords(rest, escape);
  if (words.empty()) return result;
  if (words[0].find('=') == std::string::npos) {
    std::vector<std::string> parts = SplitWhitespace(rest, 2);
    if (parts.size() < 2) {
      return absl::InvalidArgumentError(absl::StrCat(key, " must have two arguments"));
    }
    result.args = {parts[0], parts[1]};
    return result;
  }
  for (const std::string& word : words) {
    size_t eq = word.find('=');
    if (eq == std::string::npos) {
      return absl::InvalidArgumentError(absl::StrCat("Syntax error - can't find = in \"", word,
                                                     "\". Must be of the form: name=value"));
    }
    result.args.push_back(word.substr(0, eq));
    result.args.push_back(word.substr(eq + 1));
  }
  return result;
}

absl::StatusOr<ArgsResult> ParseNameOrNameVal(const std::string& rest, char escape) {
  ArgsResult result;
  result.args = ParseWords(rest, escape);
  return result;
}

absl::StatusOr<ArgsResult> ParseHealthConfig(const std::string& rest, char escape) {
  ArgsResult result;
  size_t sep = 0;
  while (sep < rest.size() && !IsSpace(rest[sep])) ++sep;
  size_t next = sep;
  while (next < rest.size() && IsSpace(rest[next])) ++next;
  if (sep == 0) return result;
  ASSIGN_OR_RETURN(ArgsResult command, ParseMaybeJson(rest.substr(next), escape));
  result.args.push_back(rest.substr(0, sep));
  result.args.insert(result.args.end(), command.args.begin(), command.args.end());
  result.json = command.json;
  return result;
}

using ArgsParser = std::function<absl::StatusOr<ArgsResult>(const std::string&, char)>;

const std::map<std::string, ArgsParser>& Dispatch() {
  static const auto* table = new std::map<std::string, ArgsParser>{
      {"add", ParseMaybeJsonToList},
      {"arg", ParseNameOrNameVal},
      {"cmd", ParseMaybeJson},
      {"copy", ParseMaybeJsonToList},
      {"entrypoint", ParseMaybeJson},
      {"env", [](const std::string& r, char e) { return ParseNameVal(r, "ENV", e); }},
      {"expose", ParseStringsWhitespaceDelimited},
      {"from", ParseStringsWhitespaceDelimited},
      {"healthcheck", ParseHealthConfig},
      {"label", [](const std::string& r, char e) { return ParseNameVal(r, "LABEL", e); }},
      {"maintainer", ParseString},
      {"run", ParseMaybeJson},
      {"shell", ParseMaybeJson},
      {"stopsignal", ParseString},
      {"user", ParseString},
      {"volume", ParseMaybeJsonToList},
      {"workdir", ParseString},
  };
  return *table;
}

absl::StatusOr<Node> NodeFromLine(const std::string& line, char escape) {
  Node node;
  node.original = line;
  std::vector<std::string> parts = SplitWhitespace(TrimSpace(line), 2);
  node.name = absl::AsciiStrToLower(parts[0]);
  std::string rest;
  if (parts.size() == 2) rest = TrimSpace(ExtractFlags(parts[1], &node.flags));
  if (node.name == "onbuild") {
    if (!rest.empty()) {
      ASSIGN_OR_RETURN(Node child, NodeFromLine(rest, escape));
      node.children.push_back(std::move(child));
    }
    return node;
  }
  auto parser = Dispatch().find(node.name);
  // Unknown instructions are reported by ParseInstructions with their line.
  if (parser == Dispatch().end()) return node;
  ASSIGN_OR_RETURN(ArgsResult args, parser->second(rest, escape));
  node.args = std::move(args.args);
  node.json = args.json;
  return node;
}

// Parser directives: `# key=value` lines at the very top. The first line that
// is not a known directive ends them, so later ones are plain comments.
class Directives {
 public:
  absl::Status Consider(absl::string_view line) {
    if (done_) return absl::OkStatus();
    std::string key, value;
    if (!Match(line, &key, &value)) {
      done_ = true;
      return absl::OkStatus();
    }
    key = absl::AsciiStrToLower(key);
    if (key != "escape" && key != "syntax" && key != "check") {
      done_ = true;
      return absl::OkStatus();
    }
    if (!seen_.insert({key, value}).second) {
      return absl::InvalidArgumentError(
          absl::StrCat("only one ", key, " parser directive can be used"));
    }
    if (key == "escape") {
      if (value != "`" && value != "\\") {
        return absl::InvalidArgumentError(
            absl::StrCat("invalid escape token '", value, "' does not match ` or \\"));
      }
      escape_ = value[0];
    } else if (key == "syntax") {
      syntax_ = value;
    }
    return absl::OkStatus();
  }
  char escape() const { return escape_; }
  const std::string& syntax() const { return syntax_; }

 private:
  // ^#\s*([a-zA-Z][a-zA-Z0-9]*)\s*=\s*(.+?)\s*$
  static bool Match(absl::string_view line, std::string* key, std::string* value) {
    size_t i = 0;
    if (line.empty() || line[0] != '#') return false;
    ++i;
    while (i < line.size() && IsSpace(line[i])) ++i;
    if (i == line.size() || !std::isalpha(static_cast<unsigned char>(line[i]))) return false;
    size_t start = i;
    while (i < line.size() && std::isalnum(static_cast<unsigned char>(line[i]))) ++i;
    *key = std::string(line.substr(start, i - start));
    while (i < line.size() && IsSpace(line[i])) ++i;
    if (i == line.size() || line[i] != '=') return false;
    ++i;
    *value = TrimSpace(line.substr(i));
    if (value->empty()) {
      // Go's regexp gives "(.+?)" the last blank when only blanks follow '='.
      if (i == line.size()) return false;
      *value = std::string(1, line.back());
    }
    return true;
  }

  bool done_ = false;
  char escape_ = '\\';
  std::string syntax_;
  std::map<std::string, std::string> seen_;
};

// Removes a trailing escape token (plus blanks after it); false when the line
// does not continue.
bool TrimContinuation(std::string* line, char escape) {
  size_t end = line->size();
  while (end > 0 && ((*line)[end - 1] == ' ' || (*line)[end - 1] == '\t')) --end;
  if (end == 0 || (*line)[end - 1] != escape) return false;
  line->resize(end - 1);
  return true;
}

}  // namespace

absl::Status ParseErrorAt(int line, const absl::Status& status) {
  return absl::Status(status.code(),
                      absl::StrCat("Dockerfile parse error line ", line, ": ", status.message()));
}

std::vector<std::string> ParseWords(const std::string& rest, char escape) {
  enum { kSpaces, kWord, kQuote } phase = kSpaces;
  std::vector<std::string> words;
  std::string word;
  char quote = 0;
  bool blank_ok = false;
  for (size_t pos = 0; pos <= rest.size(); ++pos) {
    char c = pos < rest.size() ? rest[pos] : 0;
    if (phase == kSpaces) {
      if (pos == rest.size()) break;
      if (IsSpace(c)) continue;
      phase = kWord;
    }
    if (pos == rest.size()) {
      if (blank_ok || !word.empty()) words.push_back(word);
      break;
    }
    if (phase == kWord) {
      if (IsSpace(c)) {
        phase = kSpaces;
        if (blank_ok || !word.empty()) words.push_back(word);
        word.clear();
        blank_ok = false;
        continue;
      }
      if (c == '\'' || c == '"') {
        quote = c;
        blank_ok = true;
        phase = kQuote;
      }
      if (c == escape) {
        if (pos + 1 == rest.size()) continue;
        // The escape stays in the word (the lexer removes it later), and
        // protects what follows, a quote included.
        word.push_back(c);
        c = rest[++pos];
      }
      word.push_back(c);
      continue;
    }
    if (c == quote) phase = kWord;
    // Nothing can be escaped inside single quotes.
    if (c == escape && quote != '\'') {
      if (pos + 1 == rest.size()) {
        phase = kWord;
        continue;
      }
      word.push_back(c);
      c = rest[++pos];
    }
    word.push_back(c);
  }
  return words;
}

absl::StatusOr<Node> ParseLine(const std::string& line, char escape_token) {
  return NodeFromLine(line, escape_token);
}

absl::StatusOr<ParsedDockerfile> ParseDockerfile(absl::string_view text) {
  ParsedDockerfile result;
  Directives directives;
  std::vector<std::string> lines = absl::StrSplit(text, '\n');
  // A final newline does not make an extra line.
  if (!lines.empty() && lines.back().empty()) lines.pop_back();
  if (!lines.empty() && absl::StartsWith(lines[0], "\xEF\xBB\xBF")) lines[0].erase(0, 3);

  // Docker strips leading whitespace of the first line of an instruction,
  // then drops comment lines (and applies directives only while at the top).
  auto process = [&](const std::string& raw, bool strip_left, std::string* out) {
    std::string token = TrimNewline(raw);
    if (strip_left) token = TrimLeft(token);
    absl::Status status = directives.Consider(token);
    *out = IsComment(token) ? "" : token;
    return status;
  };

  size_t i = 0;
  int current_line = 0;
  while (i < lines.size()) {
    std::string line;
    absl::Status status = process(lines[i++], true, &line);
    if (!status.ok()) return ParseErrorAt(current_line + 1, status);
    ++current_line;
    int start_line = current_line;
    bool continues = TrimContinuation(&line, directives.escape());
    if (!continues && line.empty()) continue;
    bool empty_continuation = false;
    while (continues && i < lines.size()) {
      const std::string& raw = lines[i++];
      std::string next;
      status = process(raw, false, &next);
      ++current_line;
      if (!status.ok()) return ParseErrorAt(current_line, status);
      if (IsComment(raw)) continue;
      if (TrimLeft(next).empty()) {
        empty_continuation = true;
        continue;
      }
      continues = TrimContinuation(&next, directives.escape());
      line += next;
    }
    if (empty_continuation) {
      result.warnings.push_back("[WARNING]: Empty continuation line found in:\n    " + line);
    }
    absl::StatusOr<Node> node = NodeFromLine(line, directives.escape());
    if (!node.ok()) return ParseErrorAt(start_line, node.status());
    node->start_line = start_line;
    node->end_line = current_line;
    for (Node& child : node->children) {
      child.start_line = start_line;
      child.end_line = current_line;
    }
    result.nodes.push_back(std::move(*node));
  }
  if (!result.warnings.empty()) {
    result.warnings.push_back(
        "[WARNING]: Empty continuation lines will become errors in a future release.");
  }
  if (result.nodes.empty()) {
    return absl::InvalidArgumentError("the Dockerfile cannot be empty");
  }
  result.escape_token = directives.escape();
  result.syntax = directives.syntax();
  return result;
}

}  // namespace berth::imaged::build
