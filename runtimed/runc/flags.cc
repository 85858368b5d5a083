#include "runtimed/runc/flags.h"

#include "absl/strings/str_cat.h"

namespace berth::runc {

std::string ParsedFlags::Get(const std::string& name, const std::string& fallback) const {
  auto it = values.find(name);
  return it == values.end() ? fallback : it->second;
}

absl::StatusOr<ParsedFlags> ParseFlags(const std::vector<std::string>& args,
                                       const std::vector<FlagSpec>& specs) {
  ParsedFlags parsed;
  for (size_t i = 0; i < args.size(); ++i) {
    const std::string& arg = args[i];
    if (arg == "--") {
      parsed.positionals.insert(parsed.positionals.end(), args.begin() + i + 1, args.end());
      break;
    }
    if (arg.size() < 2 || arg[0] != '-') {
      parsed.positionals.push_back(arg);
      continue;
    }
    std::string name = arg.substr(arg[1] == '-' ? 2 : 1);
    std::string value;
    bool has_inline = false;
    if (size_t eq = name.find('='); eq != std::string::npos) {
      value = name.substr(eq + 1);
      name = name.substr(0, eq);
      has_inline = true;
    }
    const FlagSpec* spec = nullptr;
    for (const FlagSpec& candidate : specs) {
      if (candidate.name == name ||
          (!candidate.short_name.empty() && candidate.short_name == name)) {
        spec = &candidate;
      }
    }
    if (spec == nullptr) return absl::InvalidArgumentError("flag provided but not defined: " + arg);
    if (!spec->takes_value) {
      if (!has_inline || value == "true") parsed.bools.insert(spec->name);
      continue;
    }
    if (!has_inline) {
      if (i + 1 >= args.size()) {
        return absl::InvalidArgumentError(absl::StrCat("flag needs an argument: ", arg));
      }
      value = args[++i];
    }
    parsed.values[spec->name] = value;
  }
  return parsed;
}

}  // namespace berth::runc
