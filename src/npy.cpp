// Reading and writing NumPy .npy files: the file I/O around the header
// (src/npy_header.hpp). Writes go to a temporary file renamed over the
// target (src/temporary_file.hpp), so a failure never leaves a partial file.
#include "src/npy.hpp"

#include <atomic>
#include <cerrno>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <random>
#include <string>

#include "einstream/error.hpp"
#include "src/fault_injection.hpp"
#include "src/npy_header.hpp"

// '=' and '|' in a descr mean native byte order, and data is copied without
// swapping; both are only right on a little-endian host.
#if defined(__BYTE_ORDER__) && defined(__ORDER_LITTLE_ENDIAN__) && \
    __BYTE_ORDER__ != __ORDER_LITTLE_ENDIAN__
#error "einstream's .npy I/O assumes a little-endian host"
#endif

namespace einstream {
namespace detail {
namespace {

// Strided writes gather into a buffer of this size instead of a full copy.
constexpr std::size_t kGatherChunkBytes = std::size_t{1} << 20;

// The temporary file a write goes to. Unless commit() renamed it over the
// target, the destructor removes it, so no failure (exceptions included)
// leaves a partial file at the target or a stray temporary beside it.
class TempFile {
 public:
  explicit TempFile(const std::string& target) : target_(target) {
    // The name is random so concurrent writers to one target do not collide;
    // "x" (C11, exclusive create) refuses to reuse an existing file.
    static std::atomic<std::uint64_t> sequence{0};
    std::random_device entropy;
    const std::uint64_t seed =
        (static_cast<std::uint64_t>(entropy()) << 32) ^ entropy() ^
        static_cast<std::uint64_t>(std::chrono::steady_clock::now().time_since_epoch().count());
    std::mt19937_64 generator(seed ^ sequence.fetch_add(1));
    constexpr int kAttempts = 16;
    for (int attempt = 0; attempt < kAttempts; ++attempt) {
      char suffix[32];
      std::snprintf(suffix, sizeof suffix, ".tmp-%08llx",
                    static_cast<unsigned long long>(generator() & 0xFFFFFFFF));
      name_ = target_ + suffix;
      errno = 0;
      file_ = create_temporary_file(name_);
      if (file_ != nullptr) return;
      if (errno != EEXIST) break;
    }
    fail_npy_write(target_,
                   "cannot create temporary file '" + name_ + "': " + system_reason(errno));
  }

  TempFile(const TempFile&) = delete;
  TempFile& operator=(const TempFile&) = delete;

  ~TempFile() {
    if (file_ != nullptr) std::fclose(file_);
    if (!committed_) remove_temporary_file(name_);
  }

  void write(const void* bytes, std::size_t count) {
    if (FaultInjection::fails_now(FaultSite::npy_write)) {
      fail_npy_write(target_, "writing '" + name_ +
                                  "' failed: " + FaultInjection::message(FaultSite::npy_write));
    }
    errno = 0;
    if (count != 0 && std::fwrite(bytes, 1, count, file_) != count) {
      fail_npy_write(target_, "writing '" + name_ + "' failed: " + system_reason(errno));
    }
  }

  // fclose flushes stdio's buffer, so a full disk may only show up here; the
  // rename comes after it. std::rename replaces an existing target atomically
  // on POSIX (on Windows it fails if the target exists, and the write throws).
  void commit() {
    errno = 0;
    const int closed = std::fclose(file_);
    file_ = nullptr;
    if (closed != 0)
      fail_npy_write(target_, "closing '" + name_ + "' failed: " + system_reason(errno));
    // Again, in case a link or device appeared there while the data was
    // written.
    check_output_path(target_);
    const int renamed = commit_temporary_file(name_, target_);
    if (renamed != 0) {
      fail_npy_write(target_, "renaming '" + name_ + "' over it failed: " + system_reason(renamed));
    }
    committed_ = true;
  }

 private:
  std::string target_;
  std::string name_;
  std::FILE* file_ = nullptr;
  bool committed_ = false;
};

// Writes the elements of a strided tensor in C order. `data` points at the
// element with all indices zero; offsets from it may be negative. An odometer
// over the indices keeps the element offset incrementally.
void write_gathered(TempFile& file, const TensorDesc& desc, const unsigned char* data,
                    std::int64_t element_count) {
  const std::size_t itemsize = size_of(desc.dtype);
  const int rank = desc.rank();
  std::vector<std::int64_t> index(static_cast<std::size_t>(rank), 0);
  std::vector<unsigned char> chunk(kGatherChunkBytes - kGatherChunkBytes % itemsize);
  std::size_t filled = 0;
  std::int64_t offset = 0;
  for (std::int64_t element = 0; element < element_count; ++element) {
    std::memcpy(chunk.data() + filled, data + offset * static_cast<std::int64_t>(itemsize),
                itemsize);
    filled += itemsize;
    if (filled == chunk.size()) {
      file.write(chunk.data(), filled);
      filled = 0;
    }
    for (int axis = rank - 1; axis >= 0; --axis) {
      const auto a = static_cast<std::size_t>(axis);
      offset += desc.strides[a];
      if (++index[a] < desc.extents[a]) break;
      offset -= desc.strides[a] * desc.extents[a];
      index[a] = 0;
    }
  }
  file.write(chunk.data(), filled);
}

}  // namespace
}  // namespace detail

using detail::check_output_path;
using detail::fail_npy_read;
using detail::fail_npy_write;
using detail::kNpyMagic;
using detail::kNpyMagicLength;
using detail::make_npy_header;
using detail::npy_data_byte_count;
using detail::NpyHeaderFields;
using detail::system_reason;
using detail::TempFile;
using detail::write_gathered;

// Every length read from the file is checked against the file's size before
// anything is read or allocated for it, so a corrupt or hostile header fails
// with a message instead of a huge allocation.
NpyArray read_npy(const std::string& path) {
  errno = 0;
  std::ifstream file(path, std::ios::binary);
  if (!file) fail_npy_read(path, "cannot open it: " + system_reason(errno));
  file.seekg(0, std::ios::end);
  const std::streamoff end = file.tellg();
  file.seekg(0, std::ios::beg);
  if (!file || end < 0) fail_npy_read(path, "cannot determine its size");
  const auto file_size = static_cast<std::uint64_t>(end);

  // Reads the next `count` bytes; the size checks before each call guarantee they exist.
  auto read_bytes = [&](void* destination, std::uint64_t count) {
    file.read(static_cast<char*>(destination), static_cast<std::streamsize>(count));
    if (!file) fail_npy_read(path, "reading it failed: " + system_reason(errno));
  };

  if (file_size == 0) fail_npy_read(path, "the file is empty");
  unsigned char prefix[12];
  if (file_size < kNpyMagicLength) {
    fail_npy_read(path, "not a .npy file: it is only " + std::to_string(file_size) +
                            " bytes, shorter than the magic string \\x93NUMPY");
  }
  read_bytes(prefix, kNpyMagicLength);
  if (std::memcmp(prefix, kNpyMagic, kNpyMagicLength) != 0) {
    fail_npy_read(path, "not a .npy file: it does not start with the magic string \\x93NUMPY");
  }
  if (file_size < kNpyMagicLength + 2)
    fail_npy_read(path, "the file ends inside the version bytes");
  read_bytes(prefix + kNpyMagicLength, 2);
  const unsigned major = prefix[6];
  const unsigned minor = prefix[7];
  if ((major != 1 && major != 2 && major != 3) || minor != 0) {
    fail_npy_read(path, "unsupported .npy format version " + std::to_string(major) + "." +
                            std::to_string(minor) + "; supported versions are 1.0, 2.0 and 3.0");
  }
  // 3.0 differs from 2.0 only in allowing utf-8 in the header, which matters
  // only inside strings this reader never interprets beyond ASCII.
  const std::uint64_t length_bytes = major == 1 ? 2 : 4;
  const std::uint64_t header_offset = kNpyMagicLength + 2 + length_bytes;
  if (file_size < header_offset) fail_npy_read(path, "the file ends inside the header length");
  read_bytes(prefix + 8, length_bytes);
  std::uint64_t header_length = 0;
  for (std::uint64_t byte = 0; byte < length_bytes; ++byte) {
    header_length |= static_cast<std::uint64_t>(prefix[8 + byte]) << (8 * byte);
  }
  if (file_size - header_offset < header_length) {
    fail_npy_read(path, "the header is truncated: it declares " + std::to_string(header_length) +
                            " bytes but only " + std::to_string(file_size - header_offset) +
                            " follow the length field");
  }
  std::string header(static_cast<std::size_t>(header_length), '\0');
  read_bytes(header.data(), header_length);

  const NpyHeaderFields fields = detail::interpret_npy_header(header, path);
  NpyArray array;
  array.desc = fields.desc;
  std::uint64_t expected = 0;
  if (!npy_data_byte_count(array.desc.extents, array.desc.dtype, &expected)) {
    fail_npy_read(path, "shape " + fields.shape + " holds more bytes than fit in 64 bits");
  }
  const std::uint64_t data_offset = header_offset + header_length;
  const std::uint64_t actual = file_size - data_offset;
  if (actual != expected) {
    fail_npy_read(path, std::string(actual < expected ? "the data is truncated" : "trailing data") +
                            ": shape " + fields.shape + " of '" + fields.descr + "' needs " +
                            std::to_string(expected) + " data bytes but the file has " +
                            std::to_string(actual) + " after the header");
  }
  array.data.resize(static_cast<std::size_t>(expected));
  if (expected != 0) read_bytes(array.data.data(), expected);
  return array;
}

void write_npy(const std::string& path, const TensorDesc& desc, const void* data) {
  if (desc.dtype == DataType::bf16) {
    fail_npy_write(path,
                   "bf16 cannot be stored in .npy, which has no bfloat16 descr; convert the "
                   "tensor to f32 (exactly) or f16 first, or compute in f32 or f16");
  }
  if (!is_supported(desc.dtype)) {
    fail_npy_write(path, "dtype value " + std::to_string(static_cast<int>(desc.dtype)) +
                             " is not a DataType; supported are f32, f64, c64, c128, f16");
  }
  if (!desc.strides.empty() && desc.strides.size() != desc.extents.size()) {
    fail_npy_write(path, to_string(desc) + " has " + std::to_string(desc.strides.size()) +
                             " strides for " + std::to_string(desc.extents.size()) + " extents");
  }
  std::int64_t element_count = 0;
  try {
    element_count = desc.element_count();
  } catch (const Error& error) {
    fail_npy_write(path, error.what());
  }
  std::uint64_t bytes = 0;
  if (!npy_data_byte_count(desc.extents, desc.dtype, &bytes)) {
    fail_npy_write(path, to_string(desc) + " holds more bytes than fit in 64 bits");
  }
  if (data == nullptr && element_count != 0) fail_npy_write(path, "the data pointer is null");

  const std::string header = make_npy_header(desc, path);
  check_output_path(path);
  TempFile file(path);
  file.write(header.data(), header.size());
  const auto* elements = static_cast<const unsigned char*>(data);
  if (desc.is_c_contiguous()) {
    file.write(elements, static_cast<std::size_t>(bytes));
  } else {
    write_gathered(file, desc, elements, element_count);
  }
  file.commit();
}

void write_npy(const std::string& path, const ConstTensorView& tensor) {
  write_npy(path, tensor.desc, tensor.data);
}

}  // namespace einstream
