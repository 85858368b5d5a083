#include "runtimed/runtime/device_filter.h"

#include <fcntl.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cstring>

#include "absl/strings/str_cat.h"
#include "common/status.h"

namespace berth::runtime {
namespace {

// Registers of the program: the context fields, loaded once.
constexpr uint8_t kContext = BPF_REG_1;
constexpr uint8_t kScratch = BPF_REG_1;  // the context is not needed after loading
constexpr uint8_t kType = BPF_REG_2;
constexpr uint8_t kAccess = BPF_REG_3;
constexpr uint8_t kMajor = BPF_REG_4;
constexpr uint8_t kMinor = BPF_REG_5;

bpf_insn Insn(uint8_t code, uint8_t dst, uint8_t src, int16_t off, int32_t imm) {
  bpf_insn insn;
  std::memset(&insn, 0, sizeof(insn));
  insn.code = code;
  insn.dst_reg = dst;
  insn.src_reg = src;
  insn.off = off;
  insn.imm = imm;
  return insn;
}

bpf_insn LoadWord(uint8_t dst, int16_t offset) {
  return Insn(BPF_LDX | BPF_MEM | BPF_W, dst, kContext, offset, 0);
}
bpf_insn Alu32(uint8_t op, uint8_t dst, int32_t imm) {
  return Insn(BPF_ALU | op | BPF_K, dst, 0, 0, imm);
}
bpf_insn Move32(uint8_t dst, uint8_t src) {
  return Insn(BPF_ALU | BPF_MOV | BPF_X, dst, src, 0, 0);
}
bpf_insn JumpIfNotEqual(uint8_t reg, int32_t imm) {
  return Insn(BPF_JMP | BPF_JNE | BPF_K, reg, 0, 0 /* patched */, imm);
}
void AppendReturn(int32_t value, std::vector<bpf_insn>* out) {
  out->push_back(Insn(BPF_ALU64 | BPF_MOV | BPF_K, BPF_REG_0, 0, 0, value));
  out->push_back(Insn(BPF_JMP | BPF_EXIT, 0, 0, 0, 0));
}

int32_t AccessBits(const std::string& access) {
  int32_t bits = 0;
  for (char c : access) {
    if (c == 'r') bits |= BPF_DEVCG_ACC_READ;
    if (c == 'w') bits |= BPF_DEVCG_ACC_WRITE;
    if (c == 'm') bits |= BPF_DEVCG_ACC_MKNOD;
  }
  return bits;
}

constexpr int32_t kAllAccess = BPF_DEVCG_ACC_READ | BPF_DEVCG_ACC_WRITE | BPF_DEVCG_ACC_MKNOD;

long Bpf(int cmd, bpf_attr* attr) { return syscall(__NR_bpf, cmd, attr, sizeof(*attr)); }

}  // namespace

std::string DeviceRuleLine(const DeviceRule& rule) {
  auto number = [](int64_t n) { return n < 0 ? std::string("*") : std::to_string(n); };
  return absl::StrCat(std::string(1, rule.type), " ", number(rule.major), ":", number(rule.minor),
                      " ", rule.access.empty() ? "rwm" : rule.access);
}

std::vector<bpf_insn> CompileDeviceFilter(const std::vector<DeviceRule>& rules) {
  std::vector<bpf_insn> program = {
      LoadWord(kType, offsetof(bpf_cgroup_dev_ctx, access_type)),
      Alu32(BPF_AND, kType, 0xffff),
      LoadWord(kAccess, offsetof(bpf_cgroup_dev_ctx, access_type)),
      Alu32(BPF_RSH, kAccess, 16),
      LoadWord(kMajor, offsetof(bpf_cgroup_dev_ctx, major)),
      LoadWord(kMinor, offsetof(bpf_cgroup_dev_ctx, minor)),
  };
  // The last matching rule decides: test them last to first and return at
  // the first match.
  for (auto rule = rules.rbegin(); rule != rules.rend(); ++rule) {
    std::vector<bpf_insn> block;
    std::vector<size_t> jumps;  // indexes of the skip-to-next-rule jumps
    if (rule->type == 'b' || rule->type == 'c') {
      jumps.push_back(block.size());
      block.push_back(
          JumpIfNotEqual(kType, rule->type == 'b' ? BPF_DEVCG_DEV_BLOCK : BPF_DEVCG_DEV_CHAR));
    }
    int32_t access = rule->access.empty() ? kAllAccess : AccessBits(rule->access);
    if (access != kAllAccess) {
      // Matches when every requested kind of access is one the rule names.
      block.push_back(Move32(kScratch, kAccess));
      block.push_back(Alu32(BPF_AND, kScratch, ~access));
      jumps.push_back(block.size());
      block.push_back(JumpIfNotEqual(kScratch, 0));
    }
    if (rule->major >= 0) {
      jumps.push_back(block.size());
      block.push_back(JumpIfNotEqual(kMajor, static_cast<int32_t>(rule->major)));
    }
    if (rule->minor >= 0) {
      jumps.push_back(block.size());
      block.push_back(JumpIfNotEqual(kMinor, static_cast<int32_t>(rule->minor)));
    }
    AppendReturn(rule->allow ? 1 : 0, &block);
    for (size_t jump : jumps) block[jump].off = static_cast<int16_t>(block.size() - jump - 1);
    program.insert(program.end(), block.begin(), block.end());
    // A rule matching everything decides alone; the verifier refuses the
    // unreachable code that would follow it.
    if (jumps.empty()) return program;
  }
  AppendReturn(0, &program);
  return program;
}

absl::Status AttachDeviceFilter(const std::string& cgroup_dir,
                                const std::vector<DeviceRule>& rules) {
  std::vector<bpf_insn> program = CompileDeviceFilter(rules);
  static const char kLicense[] = "Apache-2.0";
  bpf_attr load;
  std::memset(&load, 0, sizeof(load));
  load.prog_type = BPF_PROG_TYPE_CGROUP_DEVICE;
  load.insns = reinterpret_cast<uint64_t>(program.data());
  load.insn_cnt = static_cast<uint32_t>(program.size());
  load.license = reinterpret_cast<uint64_t>(kLicense);
  int prog = static_cast<int>(Bpf(BPF_PROG_LOAD, &load));
  if (prog < 0) {
    int err = errno;
    // Once more with the verifier's log, which says what it refused.
    std::string log(16384, '\0');
    load.log_level = 1;
    load.log_buf = reinterpret_cast<uint64_t>(log.data());
    load.log_size = static_cast<uint32_t>(log.size());
    Bpf(BPF_PROG_LOAD, &load);
    log.resize(strnlen(log.data(), log.size()));
    return ErrnoStatus(err, absl::StrCat("cgroup: loading the device filter (", log, ")"));
  }
  int dir = open(cgroup_dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dir < 0) {
    absl::Status status = LastErrnoStatus("cgroup: open " + cgroup_dir);
    close(prog);
    return status;
  }
  bpf_attr attach;
  std::memset(&attach, 0, sizeof(attach));
  attach.target_fd = static_cast<uint32_t>(dir);
  attach.attach_bpf_fd = static_cast<uint32_t>(prog);
  attach.attach_type = BPF_CGROUP_DEVICE;
  attach.attach_flags = BPF_F_ALLOW_MULTI;
  absl::Status status;
  if (Bpf(BPF_PROG_ATTACH, &attach) != 0) {
    status = LastErrnoStatus("cgroup: attaching the device filter to " + cgroup_dir);
  }
  close(dir);
  close(prog);
  return status;
}

}  // namespace berth::runtime
