#include "runtimed/runtime/seccomp.h"

#include <errno.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <seccomp.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>
#include <optional>
#include <set>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "common/digest.h"
#include "common/fs.h"
#include "common/status.h"

namespace berth::runtime {
namespace {

absl::Status FieldError(const std::string& field, const std::string& problem) {
  return absl::InvalidArgumentError(
      absl::StrCat("invalid config.json: linux.seccomp.", field, ": ", problem));
}

absl::StatusOr<std::string> StringField(const Json& obj, const char* key, const std::string& field,
                                        bool required) {
  auto it = obj.find(key);
  if (it == obj.end() || it->is_null()) {
    if (required) return FieldError(field, "is required");
    return std::string();
  }
  if (!it->is_string()) return FieldError(field, "must be a string");
  return it->get<std::string>();
}

absl::StatusOr<std::vector<std::string>> StringsField(const Json& obj, const char* key,
                                                      const std::string& field) {
  std::vector<std::string> out;
  auto it = obj.find(key);
  if (it == obj.end() || it->is_null()) return out;
  if (!it->is_array()) return FieldError(field, "must be an array of strings");
  for (const Json& item : *it) {
    if (!item.is_string()) return FieldError(field, "must be an array of strings");
    out.push_back(item.get<std::string>());
  }
  return out;
}

absl::StatusOr<std::optional<uint64_t>> UintField(const Json& obj, const char* key,
                                                  const std::string& field, uint64_t max) {
  auto it = obj.find(key);
  if (it == obj.end() || it->is_null()) return std::optional<uint64_t>();
  if (!it->is_number_unsigned() && !(it->is_number_integer() && it->get<int64_t>() >= 0)) {
    return FieldError(field, "must be an unsigned integer");
  }
  uint64_t value = it->get<uint64_t>();
  if (value > max) return FieldError(field, "out of range");
  return std::optional<uint64_t>(value);
}

struct ActionName {
  const char* name;
  uint32_t action;
  bool takes_errno;
};

constexpr ActionName kActions[] = {
    {"SCMP_ACT_KILL", SCMP_ACT_KILL, false},
    {"SCMP_ACT_KILL_THREAD", SCMP_ACT_KILL_THREAD, false},
    {"SCMP_ACT_KILL_PROCESS", SCMP_ACT_KILL_PROCESS, false},
    {"SCMP_ACT_TRAP", SCMP_ACT_TRAP, false},
    {"SCMP_ACT_ERRNO", SCMP_ACT_ERRNO(0), true},
    {"SCMP_ACT_TRACE", SCMP_ACT_TRACE(0), true},
    {"SCMP_ACT_ALLOW", SCMP_ACT_ALLOW, false},
    {"SCMP_ACT_LOG", SCMP_ACT_LOG, false},
};

// The libseccomp action for a name, with the errno (default EPERM) where the
// action carries one.
absl::StatusOr<uint32_t> ResolveAction(const std::string& name, std::optional<uint32_t> errno_ret,
                                       const std::string& field) {
  if (name == "SCMP_ACT_NOTIFY") return FieldError(field, "SCMP_ACT_NOTIFY is not supported");
  for (const ActionName& known : kActions) {
    if (name != known.name) continue;
    if (!known.takes_errno) {
      if (errno_ret) return FieldError(field, absl::StrCat(name, " does not take an errno"));
      return known.action;
    }
    uint32_t value = errno_ret.value_or(EPERM) & 0xffff;
    return name == "SCMP_ACT_ERRNO" ? SCMP_ACT_ERRNO(value) : SCMP_ACT_TRACE(value);
  }
  return FieldError(field, absl::StrCat("unknown action \"", name, "\""));
}

absl::StatusOr<scmp_compare> ResolveOperator(const std::string& name, const std::string& field) {
  static const std::pair<const char*, scmp_compare> kOperators[] = {
      {"SCMP_CMP_NE", SCMP_CMP_NE},
      {"SCMP_CMP_LT", SCMP_CMP_LT},
      {"SCMP_CMP_LE", SCMP_CMP_LE},
      {"SCMP_CMP_EQ", SCMP_CMP_EQ},
      {"SCMP_CMP_GE", SCMP_CMP_GE},
      {"SCMP_CMP_GT", SCMP_CMP_GT},
      {"SCMP_CMP_MASKED_EQ", SCMP_CMP_MASKED_EQ},
  };
  for (const auto& [known, op] : kOperators) {
    if (name == known) return op;
  }
  return FieldError(field, absl::StrCat("unknown operator \"", name, "\""));
}

absl::StatusOr<uint32_t> ResolveArchitecture(const std::string& name, const std::string& field) {
  // libseccomp names architectures without the prefix, in lower case.
  std::string short_name = name;
  if (absl::StartsWith(short_name, "SCMP_ARCH_")) short_name = short_name.substr(10);
  absl::AsciiStrToLower(&short_name);
  uint32_t token = seccomp_arch_resolve_name(short_name.c_str());
  if (token == 0) return FieldError(field, absl::StrCat("unknown architecture \"", name, "\""));
  return token;
}

absl::StatusOr<scmp_filter_attr> ResolveFlag(const std::string& name, const std::string& field) {
  if (name == "SECCOMP_FILTER_FLAG_TSYNC") return SCMP_FLTATR_CTL_TSYNC;
  if (name == "SECCOMP_FILTER_FLAG_LOG") return SCMP_FLTATR_CTL_LOG;
  if (name == "SECCOMP_FILTER_FLAG_SPEC_ALLOW") return SCMP_FLTATR_CTL_SSB;
  return FieldError(field, absl::StrCat("unsupported flag \"", name, "\""));
}

absl::Status LibError(int rc, const std::string& what) { return ErrnoStatus(-rc, what); }

// Releases a libseccomp context.
struct ContextDeleter {
  void operator()(void* context) const { seccomp_release(static_cast<scmp_filter_ctx>(context)); }
};
using ScopedContext = std::unique_ptr<void, ContextDeleter>;

}  // namespace

absl::StatusOr<Seccomp> ParseSeccomp(const Json& json) {
  if (!json.is_object()) return FieldError("", "must be an object");
  Seccomp seccomp;
  ASSIGN_OR_RETURN(seccomp.default_action,
                   StringField(json, "defaultAction", "defaultAction", /*required=*/true));
  ASSIGN_OR_RETURN(std::optional<uint64_t> default_errno,
                   UintField(json, "defaultErrnoRet", "defaultErrnoRet", UINT32_MAX));
  if (default_errno) seccomp.default_errno_ret = static_cast<uint32_t>(*default_errno);
  ASSIGN_OR_RETURN(seccomp.architectures, StringsField(json, "architectures", "architectures"));
  ASSIGN_OR_RETURN(seccomp.flags, StringsField(json, "flags", "flags"));
  auto syscalls = json.find("syscalls");
  if (syscalls != json.end() && !syscalls->is_null()) {
    if (!syscalls->is_array()) return FieldError("syscalls", "must be an array");
    for (size_t i = 0; i < syscalls->size(); ++i) {
      const Json& entry = (*syscalls)[i];
      std::string field = absl::StrCat("syscalls[", i, "]");
      if (!entry.is_object()) return FieldError(field, "must be an object");
      SeccompRule rule;
      ASSIGN_OR_RETURN(rule.names, StringsField(entry, "names", field + ".names"));
      if (rule.names.empty()) return FieldError(field + ".names", "must not be empty");
      ASSIGN_OR_RETURN(rule.action,
                       StringField(entry, "action", field + ".action", /*required=*/true));
      ASSIGN_OR_RETURN(std::optional<uint64_t> errno_ret,
                       UintField(entry, "errnoRet", field + ".errnoRet", UINT32_MAX));
      if (errno_ret) rule.errno_ret = static_cast<uint32_t>(*errno_ret);
      auto args = entry.find("args");
      if (args != entry.end() && !args->is_null()) {
        if (!args->is_array()) return FieldError(field + ".args", "must be an array");
        for (size_t j = 0; j < args->size(); ++j) {
          const Json& arg_json = (*args)[j];
          std::string arg_field = absl::StrCat(field, ".args[", j, "]");
          if (!arg_json.is_object()) return FieldError(arg_field, "must be an object");
          SeccompArg arg;
          ASSIGN_OR_RETURN(std::optional<uint64_t> index,
                           UintField(arg_json, "index", arg_field + ".index", 5));
          if (!index) return FieldError(arg_field + ".index", "is required");
          arg.index = static_cast<unsigned>(*index);
          ASSIGN_OR_RETURN(std::optional<uint64_t> value,
                           UintField(arg_json, "value", arg_field + ".value", UINT64_MAX));
          arg.value = value.value_or(0);
          ASSIGN_OR_RETURN(std::optional<uint64_t> value_two,
                           UintField(arg_json, "valueTwo", arg_field + ".valueTwo", UINT64_MAX));
          arg.value_two = value_two.value_or(0);
          ASSIGN_OR_RETURN(arg.op, StringField(arg_json, "op", arg_field + ".op", true));
          rule.args.push_back(std::move(arg));
        }
      }
      seccomp.syscalls.push_back(std::move(rule));
    }
  }
  return seccomp;
}

namespace {

// The libseccomp context for a profile, and how many rules it holds.
absl::StatusOr<ScopedContext> BuildContext(const Seccomp& seccomp, int* rule_count) {
  ASSIGN_OR_RETURN(
      uint32_t default_action,
      ResolveAction(seccomp.default_action, seccomp.default_errno_ret, "defaultAction"));
  ScopedContext scoped(seccomp_init(default_action));
  scmp_filter_ctx context = scoped.get();
  if (context == nullptr) return absl::InternalError("seccomp_init failed");
  *rule_count = 0;
  // no_new_privs is the spec's process.noNewPrivileges, not libseccomp's
  // decision.
  int rc = seccomp_attr_set(context, SCMP_FLTATR_CTL_NNP, 0);
  if (rc < 0) return LibError(rc, "seccomp: clearing the no_new_privs attribute");
  for (size_t i = 0; i < seccomp.flags.size(); ++i) {
    ASSIGN_OR_RETURN(scmp_filter_attr attr,
                     ResolveFlag(seccomp.flags[i], absl::StrCat("flags[", i, "]")));
    rc = seccomp_attr_set(context, attr, 1);
    if (rc < 0) return LibError(rc, "seccomp: " + seccomp.flags[i]);
  }
  for (size_t i = 0; i < seccomp.architectures.size(); ++i) {
    ASSIGN_OR_RETURN(uint32_t arch, ResolveArchitecture(seccomp.architectures[i],
                                                        absl::StrCat("architectures[", i, "]")));
    rc = seccomp_arch_add(context, arch);
    if (rc < 0 && rc != -EEXIST) return LibError(rc, "seccomp: adding " + seccomp.architectures[i]);
  }
  for (size_t i = 0; i < seccomp.syscalls.size(); ++i) {
    const SeccompRule& rule = seccomp.syscalls[i];
    std::string field = absl::StrCat("syscalls[", i, "]");
    ASSIGN_OR_RETURN(uint32_t action,
                     ResolveAction(rule.action, rule.errno_ret, field + ".action"));
    std::vector<scmp_arg_cmp> comparisons;
    std::set<unsigned> indexes;
    bool repeated_index = false;
    for (size_t j = 0; j < rule.args.size(); ++j) {
      const SeccompArg& arg = rule.args[j];
      ASSIGN_OR_RETURN(scmp_compare op,
                       ResolveOperator(arg.op, absl::StrCat(field, ".args[", j, "].op")));
      comparisons.push_back(scmp_arg_cmp{arg.index, op, arg.value, arg.value_two});
      repeated_index |= !indexes.insert(arg.index).second;
    }
    // A rule equal to the default changes nothing, and libseccomp refuses it.
    if (action == default_action) continue;
    for (const std::string& name : rule.names) {
      int syscall = seccomp_syscall_resolve_name(name.c_str());
      if (syscall == __NR_SCMP_ERROR) continue;
      // libseccomp takes one comparison per argument in a rule; several on the
      // same argument mean any of them (runc's reading), so each becomes its
      // own rule.
      if (repeated_index) {
        for (const scmp_arg_cmp& comparison : comparisons) {
          rc = seccomp_rule_add_array(context, action, syscall, 1, &comparison);
          if (rc < 0) return LibError(rc, absl::StrCat("seccomp: rule for ", name));
          ++*rule_count;
        }
        continue;
      }
      rc = seccomp_rule_add_array(context, action, syscall, comparisons.size(),
                                  comparisons.empty() ? nullptr : comparisons.data());
      if (rc < 0) return LibError(rc, absl::StrCat("seccomp: rule for ", name));
      ++*rule_count;
    }
  }
  return scoped;
}

// A stable text of the profile (and of what compiles it), the cache key.
std::string CacheKey(const Seccomp& seccomp) {
  const scmp_version* version = seccomp_version();
  std::string text = absl::StrCat(
      "libseccomp ", version->major, ".", version->minor, ".", version->micro, " native ",
      seccomp_arch_native(), "\n", seccomp.default_action, " ",
      seccomp.default_errno_ret.value_or(UINT32_MAX), "\n",
      absl::StrJoin(seccomp.architectures, ","), "\n", absl::StrJoin(seccomp.flags, ","), "\n");
  for (const SeccompRule& rule : seccomp.syscalls) {
    absl::StrAppend(&text, absl::StrJoin(rule.names, ","), " ", rule.action, " ",
                    rule.errno_ret.value_or(UINT32_MAX));
    for (const SeccompArg& arg : rule.args) {
      absl::StrAppend(&text, " ", arg.index, ":", arg.op, ":", arg.value, ":", arg.value_two);
    }
    text += "\n";
  }
  return Sha256Digest(text).substr(strlen("sha256:"));
}

// The cache file: rule count, then the BPF program.
struct CachedProgram {
  int32_t rule_count = 0;
  std::vector<sock_filter> program;
};

std::optional<CachedProgram> ReadCache(const std::string& path) {
  absl::StatusOr<std::string> content = ReadFile(path);
  if (!content.ok() || content->size() < sizeof(int32_t) ||
      (content->size() - sizeof(int32_t)) % sizeof(sock_filter) != 0) {
    return std::nullopt;
  }
  CachedProgram cached;
  std::memcpy(&cached.rule_count, content->data(), sizeof(int32_t));
  cached.program.resize((content->size() - sizeof(int32_t)) / sizeof(sock_filter));
  std::memcpy(cached.program.data(), content->data() + sizeof(int32_t),
              cached.program.size() * sizeof(sock_filter));
  if (cached.program.empty()) return std::nullopt;
  return cached;
}

void WriteCache(const std::string& path, const CachedProgram& cached) {
  std::string content(reinterpret_cast<const char*>(&cached.rule_count), sizeof(int32_t));
  content.append(reinterpret_cast<const char*>(cached.program.data()),
                 cached.program.size() * sizeof(sock_filter));
  // Best effort: a cache that cannot be written only costs the next compile.
  (void)WriteFileAtomic(path, content, 0600);
}

// libseccomp's program for a context, as the kernel takes it.
absl::StatusOr<std::vector<sock_filter>> ExportProgram(scmp_filter_ctx context) {
  int fd = memfd_create("seccomp-bpf", MFD_CLOEXEC);
  if (fd < 0) return LastErrnoStatus("memfd_create");
  int rc = seccomp_export_bpf(context, fd);
  std::string bytes;
  if (rc == 0) {
    char buffer[4096];
    ssize_t n;
    lseek(fd, 0, SEEK_SET);
    while ((n = read(fd, buffer, sizeof(buffer))) > 0) bytes.append(buffer, n);
  }
  close(fd);
  if (rc < 0) return LibError(rc, "seccomp: exporting the filter");
  if (bytes.empty() || bytes.size() % sizeof(sock_filter) != 0) {
    return absl::InternalError("seccomp: the exported filter is malformed");
  }
  std::vector<sock_filter> program(bytes.size() / sizeof(sock_filter));
  std::memcpy(program.data(), bytes.data(), bytes.size());
  return program;
}

}  // namespace

absl::StatusOr<std::unique_ptr<SeccompFilter>> SeccompFilter::Compile(
    const Seccomp& seccomp, const std::string& cache_dir) {
  // Flags are validated and mapped whether or not the program is cached.
  unsigned flags = 0;
  for (size_t i = 0; i < seccomp.flags.size(); ++i) {
    ASSIGN_OR_RETURN(scmp_filter_attr attr,
                     ResolveFlag(seccomp.flags[i], absl::StrCat("flags[", i, "]")));
    if (attr == SCMP_FLTATR_CTL_TSYNC) flags |= SECCOMP_FILTER_FLAG_TSYNC;
    if (attr == SCMP_FLTATR_CTL_LOG) flags |= SECCOMP_FILTER_FLAG_LOG;
    if (attr == SCMP_FLTATR_CTL_SSB) flags |= SECCOMP_FILTER_FLAG_SPEC_ALLOW;
  }
  std::string cache_path;
  if (!cache_dir.empty()) {
    cache_path = cache_dir + "/" + CacheKey(seccomp) + ".bpf";
    if (std::optional<CachedProgram> cached = ReadCache(cache_path)) {
      return std::unique_ptr<SeccompFilter>(
          new SeccompFilter(std::move(cached->program), flags, cached->rule_count));
    }
  }
  CachedProgram compiled;
  ASSIGN_OR_RETURN(ScopedContext context, BuildContext(seccomp, &compiled.rule_count));
  ASSIGN_OR_RETURN(compiled.program, ExportProgram(context.get()));
  if (!cache_path.empty() && MakeDirs(cache_dir, 0700).ok()) WriteCache(cache_path, compiled);
  return std::unique_ptr<SeccompFilter>(
      new SeccompFilter(std::move(compiled.program), flags, compiled.rule_count));
}

absl::Status SeccompFilter::Load() const {
  sock_fprog program;
  program.len = static_cast<unsigned short>(program_.size());
  program.filter = const_cast<sock_filter*>(program_.data());
  if (syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, flags_, &program) != 0) {
    return LastErrnoStatus("loading the seccomp filter");
  }
  return absl::OkStatus();
}

}  // namespace berth::runtime
