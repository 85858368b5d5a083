#include "runtimed/daemon/names.h"

#include <sys/random.h>

#include <cstdint>
#include <iterator>

#include "absl/strings/str_cat.h"

namespace berth::runtimed {
namespace {

constexpr const char* kAdjectives[] = {
    "admiring",   "agitated", "amazing",    "awesome",   "blissful",      "bold",
    "brave",      "busy",     "charming",   "clever",    "compassionate", "confident",
    "cool",       "dazzling", "determined", "dreamy",    "eager",         "ecstatic",
    "elastic",    "elegant",  "epic",       "exciting",  "fervent",       "festive",
    "focused",    "friendly", "gallant",    "gifted",    "goofy",         "gracious",
    "happy",      "hopeful",  "hungry",     "inspiring", "intelligent",   "jolly",
    "keen",       "kind",     "laughing",   "loving",    "lucid",         "magical",
    "modest",     "musing",   "mystifying", "nice",      "nifty",         "nostalgic",
    "optimistic", "peaceful", "pensive",    "practical", "priceless",     "quirky",
    "relaxed",    "romantic", "serene",     "sharp",     "silly",         "sleepy",
    "stoic",      "sweet",    "tender",     "trusting",  "upbeat",        "vibrant",
    "vigilant",   "wizardly", "wonderful",  "youthful",  "zealous",       "zen",
};

constexpr const char* kSurnames[] = {
    "agnesi",     "albattani",  "archimedes", "babbage",       "banach",       "bardeen",
    "bell",       "bhabha",     "blackwell",  "bohr",          "booth",        "brahmagupta",
    "cannon",     "carson",     "cerf",       "chandrasekhar", "curie",        "darwin",
    "dijkstra",   "einstein",   "euclid",     "euler",         "fermat",       "fermi",
    "feynman",    "franklin",   "galileo",    "gauss",         "goldberg",     "goodall",
    "hamilton",   "hawking",    "heisenberg", "hodgkin",       "hopper",       "hypatia",
    "jang",       "johnson",    "kalam",      "keller",        "kepler",       "khorana",
    "knuth",      "kowalevski", "lamarr",     "leakey",        "liskov",       "lovelace",
    "lumiere",    "mayer",      "mccarthy",   "meitner",       "mendel",       "merkle",
    "mirzakhani", "morse",      "newton",     "nobel",         "noether",      "pascal",
    "pasteur",    "payne",      "perlman",    "poincare",      "ramanujan",    "ritchie",
    "rosalind",   "sammet",     "shannon",    "sinoussi",      "stonebraker",  "swartz",
    "tesla",      "thompson",   "torvalds",   "turing",        "varahamihira", "visvesvaraya",
    "wilbur",     "wiles",      "williams",   "wozniak",       "wright",       "yalow",
};

uint32_t RandomBelow(uint32_t n) {
  uint32_t value = 0;
  if (getrandom(&value, sizeof(value), 0) != sizeof(value)) value = static_cast<uint32_t>(rand());
  return value % n;
}

bool IsNameStart(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
}

}  // namespace

absl::StatusOr<std::string> ValidateContainerName(const std::string& name) {
  std::string bare = !name.empty() && name[0] == '/' ? name.substr(1) : name;
  bool valid = bare.size() >= 2 && IsNameStart(bare[0]);
  for (size_t i = 1; valid && i < bare.size(); ++i) {
    char c = bare[i];
    valid = IsNameStart(c) || c == '_' || c == '.' || c == '-';
  }
  if (!valid) {
    return absl::InvalidArgumentError(absl::StrCat(
        "Invalid container name (", name, "), only [a-zA-Z0-9][a-zA-Z0-9_.-] are allowed"));
  }
  return bare;
}

std::string GenerateContainerName(const std::function<bool(const std::string&)>& taken) {
  auto random_name = [] {
    return absl::StrCat(kAdjectives[RandomBelow(std::size(kAdjectives))], "_",
                        kSurnames[RandomBelow(std::size(kSurnames))]);
  };
  for (int attempt = 0; attempt < 6; ++attempt) {
    std::string name = random_name();
    if (!taken(name)) return name;
  }
  // Docker appends a digit once plain names keep colliding.
  for (;;) {
    std::string name = absl::StrCat(random_name(), RandomBelow(10));
    if (!taken(name)) return name;
  }
}

}  // namespace berth::runtimed
