#include "common/log.h"

#include <spdlog/sinks/stdout_sinks.h>
#include <unistd.h>

#include <string>

namespace berth {

void InitLogging(std::string_view component, std::string_view level) {
  // Logger names must be unique in spdlog's registry; a process re-initialising
  // logging replaces its previous logger.
  const std::string name(component);
  spdlog::drop(name);
  auto logger = spdlog::stderr_logger_mt(name);
  logger->set_pattern("%Y-%m-%dT%H:%M:%S.%f%z %^%l%$ [" + name + "] %v");
  logger->set_level(spdlog::level::from_str(std::string(level)));
  logger->flush_on(spdlog::level::info);
  spdlog::set_default_logger(std::move(logger));
}

}  // namespace berth
