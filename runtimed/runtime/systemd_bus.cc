#include "runtimed/runtime/systemd_bus.h"

#include <dlfcn.h>
#include <systemd/sd-bus.h>

#include <cstdlib>
#include <cstring>
#include <mutex>
#include <type_traits>

#include "absl/strings/str_cat.h"

namespace berth::runtime {
namespace {

constexpr uint64_t kCallTimeoutUsec = 25 * 1000 * 1000;

// The sd-bus entry points, resolved from libsystemd.so.0 at first use. Only
// non-variadic ones, so the calls through these pointers are plain calls.
struct SdBusApi {
  decltype(&sd_bus_new) bus_new;
  decltype(&sd_bus_set_address) set_address;
  decltype(&sd_bus_start) start;
  decltype(&sd_bus_flush_close_unref) close_unref;
  decltype(&sd_bus_message_new_method_call) new_method_call;
  decltype(&sd_bus_message_append_basic) append_basic;
  decltype(&sd_bus_message_append_array) append_array;
  decltype(&sd_bus_message_open_container) open_container;
  decltype(&sd_bus_message_close_container) close_container;
  decltype(&sd_bus_call) call;
  decltype(&sd_bus_message_unref) message_unref;
  decltype(&sd_bus_error_free) error_free;
  decltype(&sd_bus_error_has_name) error_has_name;
};

template <typename F>
bool Resolve(void* lib, const char* name, F* out) {
  *out = reinterpret_cast<F>(dlsym(lib, name));
  return *out != nullptr;
}

absl::StatusOr<const SdBusApi*> LoadSdBus() {
  static std::once_flag once;
  static SdBusApi api;
  static std::string error;
  std::call_once(once, [] {
    void* lib = dlopen("libsystemd.so.0", RTLD_NOW | RTLD_LOCAL);
    if (lib == nullptr) {
      error = absl::StrCat("cannot load libsystemd: ", dlerror());
      return;
    }
    bool ok = Resolve(lib, "sd_bus_new", &api.bus_new) &&
              Resolve(lib, "sd_bus_set_address", &api.set_address) &&
              Resolve(lib, "sd_bus_start", &api.start) &&
              Resolve(lib, "sd_bus_flush_close_unref", &api.close_unref) &&
              Resolve(lib, "sd_bus_message_new_method_call", &api.new_method_call) &&
              Resolve(lib, "sd_bus_message_append_basic", &api.append_basic) &&
              Resolve(lib, "sd_bus_message_append_array", &api.append_array) &&
              Resolve(lib, "sd_bus_message_open_container", &api.open_container) &&
              Resolve(lib, "sd_bus_message_close_container", &api.close_container) &&
              Resolve(lib, "sd_bus_call", &api.call) &&
              Resolve(lib, "sd_bus_message_unref", &api.message_unref) &&
              Resolve(lib, "sd_bus_error_free", &api.error_free) &&
              Resolve(lib, "sd_bus_error_has_name", &api.error_has_name);
    if (!ok) error = absl::StrCat("libsystemd lacks an sd-bus function: ", dlerror());
  });
  if (!error.empty()) return absl::FailedPreconditionError(error);
  return &api;
}

absl::Status SdStatus(int r, const std::string& what) {
  return absl::InternalError(absl::StrCat(what, ": ", strerror(-r)));
}

class SdBusSystemd : public SystemdBus {
 public:
  SdBusSystemd(const SdBusApi* api, sd_bus* bus) : api_(api), bus_(bus) {}
  ~SdBusSystemd() override { api_->close_unref(bus_); }

  absl::Status StartTransientUnit(const std::string& name,
                                  const std::vector<UnitProperty>& properties) override {
    return Call("StartTransientUnit", name, [&](sd_bus_message* m) {
      int r = AppendString(m, "fail");
      if (r >= 0) r = AppendProperties(m, properties);
      // No auxiliary units.
      if (r >= 0) r = api_->open_container(m, 'a', "(sa(sv))");
      if (r >= 0) r = api_->close_container(m);
      return r;
    });
  }

  absl::Status StopUnit(const std::string& name) override {
    return Call("StopUnit", name, [&](sd_bus_message* m) { return AppendString(m, "replace"); });
  }

  absl::Status SetUnitProperties(const std::string& name,
                                 const std::vector<UnitProperty>& properties) override {
    return Call("SetUnitProperties", name, [&](sd_bus_message* m) {
      int runtime = 1;
      int r = api_->append_basic(m, 'b', &runtime);
      if (r >= 0) r = AppendProperties(m, properties);
      return r;
    });
  }

 private:
  int AppendString(sd_bus_message* m, const std::string& s) {
    return api_->append_basic(m, 's', s.c_str());
  }

  int AppendValue(sd_bus_message* m, const UnitProperty::Value& value) {
    int r = 0;
    if (const bool* b = std::get_if<bool>(&value)) {
      int v = *b ? 1 : 0;
      if ((r = api_->open_container(m, 'v', "b")) < 0) return r;
      if ((r = api_->append_basic(m, 'b', &v)) < 0) return r;
    } else if (const uint64_t* t = std::get_if<uint64_t>(&value)) {
      if ((r = api_->open_container(m, 'v', "t")) < 0) return r;
      if ((r = api_->append_basic(m, 't', t)) < 0) return r;
    } else if (const std::string* s = std::get_if<std::string>(&value)) {
      if ((r = api_->open_container(m, 'v', "s")) < 0) return r;
      if ((r = AppendString(m, *s)) < 0) return r;
    } else if (const auto* au = std::get_if<std::vector<uint32_t>>(&value)) {
      if ((r = api_->open_container(m, 'v', "au")) < 0) return r;
      if ((r = api_->append_array(m, 'u', au->data(), au->size() * sizeof(uint32_t))) < 0) {
        return r;
      }
    } else if (const auto* ay = std::get_if<std::vector<uint8_t>>(&value)) {
      if ((r = api_->open_container(m, 'v', "ay")) < 0) return r;
      if ((r = api_->append_array(m, 'y', ay->data(), ay->size())) < 0) return r;
    } else if (const auto* list = std::get_if<DeviceAllowList>(&value)) {
      if ((r = api_->open_container(m, 'v', "a(ss)")) < 0) return r;
      if ((r = api_->open_container(m, 'a', "(ss)")) < 0) return r;
      for (const auto& [device, access] : *list) {
        if ((r = api_->open_container(m, 'r', "ss")) < 0) return r;
        if ((r = AppendString(m, device)) < 0) return r;
        if ((r = AppendString(m, access)) < 0) return r;
        if ((r = api_->close_container(m)) < 0) return r;
      }
      if ((r = api_->close_container(m)) < 0) return r;
    }
    return api_->close_container(m);
  }

  int AppendProperties(sd_bus_message* m, const std::vector<UnitProperty>& properties) {
    int r = api_->open_container(m, 'a', "(sv)");
    for (const UnitProperty& p : properties) {
      if (r >= 0) r = api_->open_container(m, 'r', "sv");
      if (r >= 0) r = AppendString(m, p.name);
      if (r >= 0) r = AppendValue(m, p.value);
      if (r >= 0) r = api_->close_container(m);
    }
    if (r >= 0) r = api_->close_container(m);
    return r;
  }

  template <typename AppendArgs>
  absl::Status Call(const char* method, const std::string& unit, AppendArgs append) {
    const std::string what = absl::StrCat("systemd: ", method, " ", unit);
    sd_bus_message* m = nullptr;
    int r = api_->new_method_call(bus_, &m, "org.freedesktop.systemd1", "/org/freedesktop/systemd1",
                                  "org.freedesktop.systemd1.Manager", method);
    if (r >= 0) r = AppendString(m, unit);
    if (r >= 0) r = append(m);
    if (r < 0) {
      api_->message_unref(m);
      return SdStatus(r, what);
    }
    sd_bus_error error = SD_BUS_ERROR_NULL;
    sd_bus_message* reply = nullptr;
    r = api_->call(bus_, m, kCallTimeoutUsec, &error, &reply);
    api_->message_unref(m);
    api_->message_unref(reply);
    absl::Status status;
    if (r < 0) {
      std::string message =
          absl::StrCat(what, ": ", error.message != nullptr ? error.message : strerror(-r));
      if (api_->error_has_name(&error, "org.freedesktop.systemd1.NoSuchUnit")) {
        status = absl::NotFoundError(message);
      } else if (api_->error_has_name(&error, "org.freedesktop.systemd1.UnitExists")) {
        status = absl::AlreadyExistsError(message);
      } else if (error.name == nullptr) {
        status = absl::UnavailableError(message);
      } else {
        status = absl::InternalError(message);
      }
    }
    api_->error_free(&error);
    return status;
  }

  const SdBusApi* api_;
  sd_bus* bus_;
};

}  // namespace

std::string SystemdBusAddress() {
  const char* env = getenv(kSystemdBusAddressEnv);
  return env != nullptr && *env != '\0' ? env : kDefaultSystemdBusAddress;
}

absl::StatusOr<std::unique_ptr<SystemdBus>> ConnectSystemd(const std::string& address) {
  absl::StatusOr<const SdBusApi*> api = LoadSdBus();
  if (!api.ok()) return api.status();
  sd_bus* bus = nullptr;
  int r = (*api)->bus_new(&bus);
  if (r >= 0) r = (*api)->set_address(bus, address.c_str());
  if (r >= 0) r = (*api)->start(bus);
  if (r < 0) {
    if (bus != nullptr) (*api)->close_unref(bus);
    return absl::UnavailableError(absl::StrCat("cannot connect to systemd at ", address, ": ",
                                               strerror(-r), " (is systemd running? set ",
                                               kSystemdBusAddressEnv, " to its private socket)"));
  }
  return std::make_unique<SdBusSystemd>(*api, bus);
}

}  // namespace berth::runtime
