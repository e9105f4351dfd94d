// Fuzz target for the .npy reader. read_npy takes a path and there is no
// in-memory reader, so each input is written to a file in a private scratch
// directory first. A file it accepts is written back with write_npy and read
// again: the result must be the same array, in C order.
#include <unistd.h>

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <string>
#include <system_error>
#include <vector>

#include "einstream/error.hpp"
#include "src/npy.hpp"
#include "tests/fuzz/targets.hpp"

namespace einstream::fuzz {
namespace {

// A directory of its own per process (ctest runs tests in parallel), removed
// at exit.
class ScratchDirectory {
 public:
  ScratchDirectory() {
    std::string pattern =
        (std::filesystem::temp_directory_path() / "einstream-fuzz-XXXXXX").string();
    if (mkdtemp(pattern.data()) == nullptr) {
      std::perror("einstream fuzz: mkdtemp");
      std::abort();
    }
    path_ = pattern;
  }
  ~ScratchDirectory() {
    std::error_code ignored;
    std::filesystem::remove_all(path_, ignored);
  }
  ScratchDirectory(const ScratchDirectory&) = delete;
  ScratchDirectory& operator=(const ScratchDirectory&) = delete;

  std::string file(const char* name) const { return (path_ / name).string(); }

 private:
  std::filesystem::path path_;
};

const ScratchDirectory& scratch() {
  static const ScratchDirectory directory;
  return directory;
}

void write_file(const std::string& path, const std::uint8_t* data, std::size_t size) {
  std::ofstream file(path, std::ios::binary | std::ios::trunc);
  file.write(reinterpret_cast<const char*>(data), static_cast<std::streamsize>(size));
  if (!file) {
    std::fprintf(stderr, "einstream fuzz: cannot write %s\n", path.c_str());
    std::abort();
  }
}

// The element at C-order position `index` of `array`, whose data may be
// Fortran-ordered (desc.strides).
const unsigned char* element_at(const detail::NpyArray& array, std::int64_t index) {
  const std::vector<std::int64_t> strides = array.desc.effective_strides();
  std::int64_t offset = 0;
  for (int axis = array.desc.rank() - 1; axis >= 0; --axis) {
    const std::int64_t extent = array.desc.extents[axis];
    offset += (index % extent) * strides[axis];
    index /= extent;
  }
  return array.data.data() + offset * static_cast<std::int64_t>(size_of(array.desc.dtype));
}

std::string check_round_trip(const detail::NpyArray& original, const detail::NpyArray& copy) {
  if (copy.desc.dtype != original.desc.dtype) return "round trip changed the dtype";
  if (copy.desc.extents != original.desc.extents) return "round trip changed the shape";
  if (!copy.desc.strides.empty()) return "write_npy did not write C order";
  const std::int64_t count = original.desc.element_count();
  const std::size_t element_bytes = size_of(original.desc.dtype);
  if (copy.data.size() != static_cast<std::size_t>(count) * element_bytes) {
    return "round trip data has the wrong size";
  }
  for (std::int64_t index = 0; index < count; ++index) {
    if (std::memcmp(copy.data.data() + index * static_cast<std::int64_t>(element_bytes),
                    element_at(original, index), element_bytes) != 0) {
      return "round trip changed element " + std::to_string(index);
    }
  }
  return {};
}

}  // namespace

std::string npy_target(const std::uint8_t* data, std::size_t size) {
  const std::string input_path = scratch().file("input.npy");
  const std::string copy_path = scratch().file("copy.npy");
  write_file(input_path, data, size);
  detail::NpyArray original;
  try {
    original = detail::read_npy(input_path);
  } catch (const Error&) {
    return {};  // rejected with a message: the right answer to a bad file
  }
  const std::size_t expected_bytes =
      static_cast<std::size_t>(original.desc.element_count()) * size_of(original.desc.dtype);
  if (original.data.size() != expected_bytes) return "data size differs from the header's shape";
  try {
    detail::write_npy(copy_path, original.desc, original.data.data());
    return check_round_trip(original, detail::read_npy(copy_path));
  } catch (const Error& error) {
    return std::string("an array read_npy accepted does not round-trip: ") + error.what();
  }
}

}  // namespace einstream::fuzz
