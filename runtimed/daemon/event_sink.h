// Where parts of runtimed that hold no container record (exec) send Docker's
// container events; the container manager adds the container's attributes.
#pragma once

#include <map>
#include <string>

namespace berth::runtimed {

class ContainerEventSink {
 public:
  virtual ~ContainerEventSink() = default;
  // container_id: the full ID. A container that is gone publishes nothing.
  virtual void Publish(const std::string& container_id, const std::string& action,
                       std::map<std::string, std::string> attributes) = 0;
};

}  // namespace berth::runtimed
