#include "cli/components.h"

namespace berth::cli {

const std::vector<ComponentSpec>& BuiltinComponents() {
  static const auto* components = new std::vector<ComponentSpec>{
      // Unpacks layers (ownership, device nodes, xattrs) and mounts overlays.
      // docker cp's helper chroots into a container's view, or joins a running
      // container's mount namespace (which needs ptrace access to its pid).
      // Under userns-remap it writes the maps of the user namespace that
      // idmaps image layers (CAP_SETUID, CAP_SETGID).
      {"stored",
       "berth-stored",
       true,
       {"CAP_SYS_ADMIN", "CAP_CHOWN", "CAP_FOWNER", "CAP_FSETID", "CAP_DAC_OVERRIDE",
        "CAP_DAC_READ_SEARCH", "CAP_MKNOD", "CAP_SETFCAP", "CAP_SYS_CHROOT", "CAP_SYS_PTRACE",
        "CAP_SETUID", "CAP_SETGID"},
       false},
      // Creates network namespaces (mount of nsfs, unshare) and configures links;
      // holds published host ports (below 1024 too) for its userland proxy.
      {"netd",
       "berth-netd",
       true,
       {"CAP_SYS_ADMIN", "CAP_NET_ADMIN", "CAP_NET_BIND_SERVICE"},
       false},
      {"imaged", "berth-imaged", false, {}, false},
      // Creates containers: every capability a container may be given must be
      // in runtimed's bounding set, and --privileged containers get them all.
      {"runtimed", "berth-runtimed", true, {}, false},
      {"apiserver", "berth-apiserver", false, {}, true},
  };
  return *components;
}

const ComponentSpec* FindComponent(const std::string& name) {
  for (const ComponentSpec& spec : BuiltinComponents()) {
    if (spec.name == name) return &spec;
  }
  return nullptr;
}

}  // namespace berth::cli
