// Reading and writing NumPy .npy files.
//
// Layout (numpy.lib.format): the magic "\x93NUMPY", a major and a minor
// version byte, the header length as a little-endian integer (2 bytes in
// version 1.0, 4 bytes in 2.0 and 3.0), then the header: a Python dict literal
// such as {'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), } padded
// with spaces and ended by '\n'. The raw element data follows the header.
//
// Reading accepts what any NumPy version writes plus hand-made variations
// (key order, quotes, spacing, padding). Writing reproduces np.save byte for
// byte, spare growth space included, so files diff cleanly against NumPy's.
#include "src/npy.hpp"

#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <limits>
#include <mutex>
#include <random>
#include <set>
#include <utility>

#include "einstream/error.hpp"
#include "src/fault_injection.hpp"

// '=' and '|' in a descr mean native byte order, and data is copied without
// swapping; both are only right on a little-endian host.
#if defined(__BYTE_ORDER__) && defined(__ORDER_LITTLE_ENDIAN__) && \
    __BYTE_ORDER__ != __ORDER_LITTLE_ENDIAN__
#error "einstream's .npy I/O assumes a little-endian host"
#endif

namespace einstream::detail {
namespace {

constexpr char kMagic[] = "\x93NUMPY";
constexpr std::size_t kMagicLength = 6;
// NumPy aligns the data offset to this many bytes (ARRAY_ALIGN) so the data
// can be memory-mapped for any element type.
constexpr std::uint64_t kDataAlignment = 64;
// np.save leaves room after the dict for the first extent to grow to this many
// digits (GROWTH_AXIS_MAX_DIGITS) so appending can rewrite the header in place.
constexpr std::size_t kGrowthAxisDigits = 21;
constexpr std::uint64_t kMaxVersion1HeaderLength = 0xFFFF;
constexpr std::uint64_t kMaxVersion2HeaderLength = 0xFFFFFFFF;
// Bounds recursion on hostile headers like "((((((...".
constexpr int kMaxNesting = 32;
// Strided writes gather into a buffer of this size instead of a full copy.
constexpr std::size_t kGatherChunkBytes = std::size_t{1} << 20;
constexpr std::size_t kMaxHeaderShownInErrors = 200;

struct NpyType {
  const char* code;  // descr without its byte-order character
  DataType dtype;
};
constexpr NpyType kNpyTypes[] = {
    {"f4", DataType::f32}, {"f8", DataType::f64}, {"c8", DataType::c64}, {"c16", DataType::c128}};
constexpr const char* kSupportedDescrs =
    "'<f4' (float32), '<f8' (float64), '<c8' (complex64), '<c16' (complex128)";

[[noreturn]] void fail_read(const std::string& path, const std::string& what) {
  throw Error("cannot read .npy file '" + path + "': " + what);
}

[[noreturn]] void fail_write(const std::string& path, const std::string& what) {
  throw Error("cannot write .npy file '" + path + "': " + what);
}

std::string system_reason(int error_number) {
  return error_number != 0 ? std::string(std::strerror(error_number)) : "unknown I/O error";
}

// --- Header parsing ---------------------------------------------------------

// A Python literal from the header, limited to what a .npy header can hold.
struct PyValue {
  enum class Kind { string, integer, boolean, none, tuple, list };
  Kind kind = Kind::none;
  std::string text;  // string: its contents
  std::int64_t integer = 0;
  bool boolean = false;
  std::vector<PyValue> items;  // tuple and list elements
  std::string source;          // the literal as written, for error messages
};

// Recursive descent over the subset of Python literal syntax that
// ast.literal_eval would see in a .npy header. `(5)` is the integer 5, as in
// Python, not a tuple.
class HeaderParser {
 public:
  HeaderParser(const std::string& header, const std::string& path) : header_(header), path_(path) {}

  // The dict's entries in file order.
  std::vector<std::pair<std::string, PyValue>> parse_dict() {
    skip_space();
    if (pos_ == header_.size()) fail("the header is empty");
    expect('{');
    std::vector<std::pair<std::string, PyValue>> entries;
    skip_space();
    while (!consume('}')) {
      PyValue key = parse_value(1);
      if (key.kind != PyValue::Kind::string) fail("dict key " + key.source + " is not a string");
      skip_space();
      expect(':');
      PyValue value = parse_value(1);
      entries.emplace_back(key.text, std::move(value));
      skip_space();
      if (!consume(',')) {
        skip_space();
        expect('}');
        break;
      }
      skip_space();
    }
    skip_space();
    if (pos_ != header_.size()) fail("unexpected text after the dict");
    return entries;
  }

 private:
  [[noreturn]] void fail(const std::string& what) const {
    std::string shown = header_.substr(0, kMaxHeaderShownInErrors);
    while (!shown.empty() && (shown.back() == ' ' || shown.back() == '\n')) shown.pop_back();
    if (header_.size() > kMaxHeaderShownInErrors) shown += "...";
    fail_read(path_, "malformed header at byte " + std::to_string(pos_) + " of the dict: " + what +
                         " (header: " + shown + ")");
  }

  void skip_space() {
    while (pos_ < header_.size() && (header_[pos_] == ' ' || header_[pos_] == '\t' ||
                                     header_[pos_] == '\r' || header_[pos_] == '\n')) {
      ++pos_;
    }
  }

  bool consume(char c) {
    if (pos_ < header_.size() && header_[pos_] == c) {
      ++pos_;
      return true;
    }
    return false;
  }

  void expect(char c) {
    if (consume(c)) return;
    if (pos_ == header_.size()) fail(std::string("expected '") + c + "' but the header ended");
    fail(std::string("expected '") + c + "', found '" + header_[pos_] + "'");
  }

  PyValue parse_value(int depth) {
    if (depth > kMaxNesting) fail("literals nested too deeply");
    skip_space();
    const std::size_t start = pos_;
    if (pos_ == header_.size()) fail("expected a value but the header ended");
    PyValue value;
    const char c = header_[pos_];
    if (c == '\'' || c == '"') {
      value.kind = PyValue::Kind::string;
      value.text = parse_string();
    } else if (c == '(' || c == '[') {
      const char close = c == '(' ? ')' : ']';
      ++pos_;
      bool saw_comma = false;
      skip_space();
      while (!consume(close)) {
        value.items.push_back(parse_value(depth + 1));
        skip_space();
        if (consume(',')) {
          saw_comma = true;
          skip_space();
        } else {
          expect(close);
          break;
        }
      }
      // A parenthesized single value without a comma is just that value.
      if (c == '(' && value.items.size() == 1 && !saw_comma) {
        PyValue inner = std::move(value.items.front());
        inner.source = header_.substr(start, pos_ - start);
        return inner;
      }
      value.kind = c == '(' ? PyValue::Kind::tuple : PyValue::Kind::list;
    } else if (c == '-' || c == '+' || (c >= '0' && c <= '9')) {
      value.kind = PyValue::Kind::integer;
      value.integer = parse_integer();
    } else if (header_.compare(pos_, 4, "True") == 0 || header_.compare(pos_, 5, "False") == 0) {
      value.kind = PyValue::Kind::boolean;
      value.boolean = c == 'T';
      pos_ += value.boolean ? 4 : 5;
    } else if (header_.compare(pos_, 4, "None") == 0) {
      pos_ += 4;
    } else {
      fail(std::string("unexpected character '") + c + "'");
    }
    value.source = header_.substr(start, pos_ - start);
    return value;
  }

  std::string parse_string() {
    const char quote = header_[pos_++];
    std::string text;
    while (pos_ < header_.size() && header_[pos_] != quote) {
      // Escapes only matter to find the closing quote; the strings a reader
      // uses ('<f4', key names) contain none.
      if (header_[pos_] == '\\' && pos_ + 1 < header_.size()) ++pos_;
      text += header_[pos_++];
    }
    if (pos_ == header_.size()) fail("unterminated string");
    ++pos_;
    return text;
  }

  std::int64_t parse_integer() {
    const bool negative = header_[pos_] == '-';
    if (header_[pos_] == '-' || header_[pos_] == '+') ++pos_;
    if (pos_ == header_.size() || header_[pos_] < '0' || header_[pos_] > '9') {
      fail("expected digits after the sign");
    }
    std::uint64_t magnitude = 0;
    constexpr std::uint64_t kLimit = std::numeric_limits<std::int64_t>::max();
    while (pos_ < header_.size() && header_[pos_] >= '0' && header_[pos_] <= '9') {
      const unsigned digit = static_cast<unsigned>(header_[pos_] - '0');
      if (magnitude > (kLimit - digit) / 10) fail("integer does not fit in 64 bits");
      magnitude = magnitude * 10 + digit;
      ++pos_;
    }
    // Python 2 NumPy wrote long integers with an 'L' suffix, e.g. (2L, 3L).
    if (pos_ < header_.size() && (header_[pos_] == 'L' || header_[pos_] == 'l')) ++pos_;
    const auto signed_magnitude = static_cast<std::int64_t>(magnitude);
    return negative ? -signed_magnitude : signed_magnitude;
  }

  const std::string& header_;
  const std::string& path_;
  std::size_t pos_ = 0;
};

DataType dtype_from_descr(const PyValue& descr, const std::string& path) {
  if (descr.kind == PyValue::Kind::list) {
    fail_read(path, "structured dtypes (descr " + descr.source +
                        ") are not supported; supported dtypes are " + kSupportedDescrs);
  }
  if (descr.kind != PyValue::Kind::string) {
    fail_read(path, "'descr' must be a dtype string such as '<f4', found " + descr.source);
  }
  const std::string& text = descr.text;
  const bool has_order = !text.empty() && std::strchr("<>=|", text[0]) != nullptr;
  const char order = has_order ? text[0] : '=';
  const std::string code = has_order ? text.substr(1) : text;
  for (const NpyType& type : kNpyTypes) {
    if (code != type.code) continue;
    if (order == '>') {
      fail_read(path, "big-endian data (descr '" + text +
                          "') is not supported; convert it in NumPy with arr.astype('<" + code +
                          "') and save it again");
    }
    return type.dtype;
  }
  if (!code.empty() && code[0] == 'O') {
    fail_read(path, "object arrays (descr '" + text +
                        "') are not supported; supported dtypes are " + kSupportedDescrs);
  }
  if (!code.empty() && code[0] == 'V') {
    fail_read(path, "structured or void dtypes (descr '" + text +
                        "') are not supported; supported dtypes are " + kSupportedDescrs);
  }
  fail_read(path, "unsupported dtype '" + text + "'; supported dtypes are " + kSupportedDescrs);
}

std::vector<std::int64_t> extents_from_shape(const PyValue& shape, const std::string& path) {
  const std::string expected =
      "'shape' must be a tuple of non-negative integers such as (), (5,) or (2, 3), found " +
      shape.source;
  if (shape.kind != PyValue::Kind::tuple) fail_read(path, expected);
  std::vector<std::int64_t> extents;
  for (const PyValue& item : shape.items) {
    if (item.kind != PyValue::Kind::integer || item.integer < 0) fail_read(path, expected);
    extents.push_back(item.integer);
  }
  return extents;
}

// Column-major strides, saturating like c_order_strides so a zero extent
// cannot overflow them.
std::vector<std::int64_t> fortran_order_strides(const std::vector<std::int64_t>& extents) {
  std::vector<std::int64_t> strides(extents.size());
  std::int64_t stride = 1;
  for (std::size_t axis = 0; axis < extents.size(); ++axis) {
    strides[axis] = stride;
    if (extents[axis] > 0 && stride <= std::numeric_limits<std::int64_t>::max() / extents[axis]) {
      stride *= extents[axis];
    }
  }
  return strides;
}

// What the header dict says, checked, plus its text for later messages.
struct HeaderFields {
  TensorDesc desc;
  std::string descr;  // as written, e.g. <f4
  std::string shape;  // as written, e.g. (2, 3)
};

HeaderFields interpret_header(const std::string& header, const std::string& path) {
  const PyValue* descr = nullptr;
  const PyValue* fortran_order = nullptr;
  const PyValue* shape = nullptr;
  const auto entries = HeaderParser(header, path).parse_dict();
  for (const auto& [key, value] : entries) {
    const PyValue** slot = key == "descr"           ? &descr
                           : key == "fortran_order" ? &fortran_order
                           : key == "shape"         ? &shape
                                                    : nullptr;
    if (slot == nullptr) {
      fail_read(path, "unexpected header key '" + key +
                          "'; a .npy header has exactly 'descr', 'fortran_order' and 'shape'");
    }
    if (*slot != nullptr) fail_read(path, "header key '" + key + "' appears twice");
    *slot = &value;
  }
  for (const auto& [name, slot] :
       {std::pair{"descr", descr}, std::pair{"fortran_order", fortran_order},
        std::pair{"shape", shape}}) {
    if (slot == nullptr) fail_read(path, std::string("the header has no '") + name + "' key");
  }
  if (fortran_order->kind != PyValue::Kind::boolean) {
    fail_read(path, "'fortran_order' must be True or False, found " + fortran_order->source);
  }
  HeaderFields fields;
  fields.desc.dtype = dtype_from_descr(*descr, path);
  fields.desc.extents = extents_from_shape(*shape, path);
  if (fortran_order->boolean) fields.desc.strides = fortran_order_strides(fields.desc.extents);
  fields.descr = descr->text;
  fields.shape = shape->source;
  return fields;
}

// element_count * itemsize, or false if it does not fit in 64 bits.
bool data_byte_count(const std::vector<std::int64_t>& extents, DataType dtype,
                     std::uint64_t* bytes) {
  std::uint64_t count = size_of(dtype);
  for (std::int64_t extent : extents) {
    if (extent == 0) {
      *bytes = 0;
      return true;
    }
  }
  for (std::int64_t extent : extents) {
    const auto unsigned_extent = static_cast<std::uint64_t>(extent);
    if (count >
        static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max()) / unsigned_extent) {
      return false;
    }
    count *= unsigned_extent;
  }
  *bytes = count;
  return true;
}

std::string shape_repr(const std::vector<std::int64_t>& extents) {
  std::string text = "(";
  for (std::size_t axis = 0; axis < extents.size(); ++axis) {
    text += (axis ? ", " : "") + std::to_string(extents[axis]);
  }
  return text + (extents.size() == 1 ? ",)" : ")");
}

// --- Writing ----------------------------------------------------------------

// Magic, version, length and padded dict, exactly as np.save writes them.
std::string make_header(const TensorDesc& desc, const std::string& path) {
  std::string descr = "<";
  for (const NpyType& type : kNpyTypes) {
    if (type.dtype == desc.dtype) descr += type.code;
  }
  std::string dict = "{'descr': '" + descr +
                     "', 'fortran_order': False, 'shape': " + shape_repr(desc.extents) + ", }";
  if (!desc.extents.empty()) {
    dict.append(kGrowthAxisDigits - std::to_string(desc.extents.front()).size(), ' ');
  }
  for (int major = 1; major <= 2; ++major) {
    const std::uint64_t length_bytes = major == 1 ? 2 : 4;
    const std::uint64_t prefix = kMagicLength + 2 + length_bytes;
    const std::uint64_t text_length = dict.size() + 1;  // + the final '\n'
    // NumPy pads by 1..64 bytes, never 0, even when already aligned.
    const std::uint64_t padding = kDataAlignment - (prefix + text_length) % kDataAlignment;
    const std::uint64_t header_length = text_length + padding;
    if (header_length > (major == 1 ? kMaxVersion1HeaderLength : kMaxVersion2HeaderLength)) {
      continue;
    }
    std::string header(kMagic, kMagicLength);
    header += static_cast<char>(major);
    header += '\0';
    for (std::uint64_t byte = 0; byte < length_bytes; ++byte) {
      header += static_cast<char>((header_length >> (8 * byte)) & 0xFF);
    }
    header += dict;
    header.append(padding, ' ');
    header += '\n';
    return header;
  }
  fail_write(path, "the header for " + to_string(desc) + " exceeds 4 GiB");
}

// The registry behind create/commit/remove/abandon_temporary_files. Never
// destroyed: a signal thread may hold its lock while the process exits.
struct TemporaryRegistry {
  std::mutex mutex;
  std::set<std::string> temporaries;
  std::set<std::string> committed_targets;
};

TemporaryRegistry& temporary_registry() {
  static auto* registry = new TemporaryRegistry;
  return *registry;
}

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
    fail_write(target_, "cannot create temporary file '" + name_ + "': " + system_reason(errno));
  }

  TempFile(const TempFile&) = delete;
  TempFile& operator=(const TempFile&) = delete;

  ~TempFile() {
    if (file_ != nullptr) std::fclose(file_);
    if (!committed_) remove_temporary_file(name_);
  }

  void write(const void* bytes, std::size_t count) {
    if (FaultInjection::fails_now(FaultSite::npy_write)) {
      fail_write(target_, "writing '" + name_ +
                              "' failed: " + FaultInjection::message(FaultSite::npy_write));
    }
    errno = 0;
    if (count != 0 && std::fwrite(bytes, 1, count, file_) != count) {
      fail_write(target_, "writing '" + name_ + "' failed: " + system_reason(errno));
    }
  }

  // fclose flushes stdio's buffer, so a full disk may only show up here; the
  // rename comes after it. std::rename replaces an existing target atomically
  // on POSIX (on Windows it fails if the target exists, and the write throws).
  void commit() {
    errno = 0;
    const int closed = std::fclose(file_);
    file_ = nullptr;
    if (closed != 0) fail_write(target_, "closing '" + name_ + "' failed: " + system_reason(errno));
    // Again, in case a link or device appeared there while the data was
    // written.
    check_output_path(target_);
    const int renamed = commit_temporary_file(name_, target_);
    if (renamed != 0) {
      fail_write(target_, "renaming '" + name_ + "' over it failed: " + system_reason(renamed));
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

// Every length read from the file is checked against the file's size before
// anything is read or allocated for it, so a corrupt or hostile header fails
// with a message instead of a huge allocation.
NpyArray read_npy(const std::string& path) {
  errno = 0;
  std::ifstream file(path, std::ios::binary);
  if (!file) fail_read(path, "cannot open it: " + system_reason(errno));
  file.seekg(0, std::ios::end);
  const std::streamoff end = file.tellg();
  file.seekg(0, std::ios::beg);
  if (!file || end < 0) fail_read(path, "cannot determine its size");
  const auto file_size = static_cast<std::uint64_t>(end);

  // Reads the next `count` bytes; the size checks before each call guarantee they exist.
  auto read_bytes = [&](void* destination, std::uint64_t count) {
    file.read(static_cast<char*>(destination), static_cast<std::streamsize>(count));
    if (!file) fail_read(path, "reading it failed: " + system_reason(errno));
  };

  if (file_size == 0) fail_read(path, "the file is empty");
  unsigned char prefix[12];
  if (file_size < kMagicLength) {
    fail_read(path, "not a .npy file: it is only " + std::to_string(file_size) +
                        " bytes, shorter than the magic string \\x93NUMPY");
  }
  read_bytes(prefix, kMagicLength);
  if (std::memcmp(prefix, kMagic, kMagicLength) != 0) {
    fail_read(path, "not a .npy file: it does not start with the magic string \\x93NUMPY");
  }
  if (file_size < kMagicLength + 2) fail_read(path, "the file ends inside the version bytes");
  read_bytes(prefix + kMagicLength, 2);
  const unsigned major = prefix[6];
  const unsigned minor = prefix[7];
  if ((major != 1 && major != 2 && major != 3) || minor != 0) {
    fail_read(path, "unsupported .npy format version " + std::to_string(major) + "." +
                        std::to_string(minor) + "; supported versions are 1.0, 2.0 and 3.0");
  }
  // 3.0 differs from 2.0 only in allowing utf-8 in the header, which matters
  // only inside strings this reader never interprets beyond ASCII.
  const std::uint64_t length_bytes = major == 1 ? 2 : 4;
  const std::uint64_t header_offset = kMagicLength + 2 + length_bytes;
  if (file_size < header_offset) fail_read(path, "the file ends inside the header length");
  read_bytes(prefix + 8, length_bytes);
  std::uint64_t header_length = 0;
  for (std::uint64_t byte = 0; byte < length_bytes; ++byte) {
    header_length |= static_cast<std::uint64_t>(prefix[8 + byte]) << (8 * byte);
  }
  if (file_size - header_offset < header_length) {
    fail_read(path, "the header is truncated: it declares " + std::to_string(header_length) +
                        " bytes but only " + std::to_string(file_size - header_offset) +
                        " follow the length field");
  }
  std::string header(static_cast<std::size_t>(header_length), '\0');
  read_bytes(header.data(), header_length);

  const HeaderFields fields = interpret_header(header, path);
  NpyArray array;
  array.desc = fields.desc;
  std::uint64_t expected = 0;
  if (!data_byte_count(array.desc.extents, array.desc.dtype, &expected)) {
    fail_read(path, "shape " + fields.shape + " holds more bytes than fit in 64 bits");
  }
  const std::uint64_t data_offset = header_offset + header_length;
  const std::uint64_t actual = file_size - data_offset;
  if (actual != expected) {
    fail_read(path, std::string(actual < expected ? "the data is truncated" : "trailing data") +
                        ": shape " + fields.shape + " of '" + fields.descr + "' needs " +
                        std::to_string(expected) + " data bytes but the file has " +
                        std::to_string(actual) + " after the header");
  }
  array.data.resize(static_cast<std::size_t>(expected));
  if (expected != 0) read_bytes(array.data.data(), expected);
  return array;
}

void write_npy(const std::string& path, const TensorDesc& desc, const void* data) {
  if (!is_supported(desc.dtype)) {
    fail_write(path, std::string("dtype ") + to_string(desc.dtype) +
                         " has no .npy form here; supported are f32, f64, c64, c128");
  }
  if (!desc.strides.empty() && desc.strides.size() != desc.extents.size()) {
    fail_write(path, to_string(desc) + " has " + std::to_string(desc.strides.size()) +
                         " strides for " + std::to_string(desc.extents.size()) + " extents");
  }
  std::int64_t element_count = 0;
  try {
    element_count = desc.element_count();
  } catch (const Error& error) {
    fail_write(path, error.what());
  }
  std::uint64_t bytes = 0;
  if (!data_byte_count(desc.extents, desc.dtype, &bytes)) {
    fail_write(path, to_string(desc) + " holds more bytes than fit in 64 bits");
  }
  if (data == nullptr && element_count != 0) fail_write(path, "the data pointer is null");

  const std::string header = make_header(desc, path);
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

void check_output_path(const std::string& path, const std::string& what) {
  const auto refuse = [&](const std::string& why) {
    throw Error("cannot write the " + what + " '" + path + "': " + why +
                "; expected a regular file or a new file in an existing directory");
  };
  if (path.empty()) refuse("the path is empty");
  if (path.back() == '/') refuse("the path ends in '/', so it names a directory");
  struct stat status {};
  errno = 0;
  if (lstat(path.c_str(), &status) == 0) {
    // lstat, not stat: the rename would replace a link, not write through it.
    if (S_ISREG(status.st_mode)) return;
    if (S_ISLNK(status.st_mode)) {
      refuse(
          "it is a symbolic link, which writing would replace rather than follow (name its "
          "target instead)");
    }
    if (S_ISDIR(status.st_mode)) refuse("it is a directory");
    if (S_ISCHR(status.st_mode) || S_ISBLK(status.st_mode)) refuse("it is a device");
    if (S_ISFIFO(status.st_mode)) refuse("it is a FIFO (named pipe)");
    if (S_ISSOCK(status.st_mode)) refuse("it is a socket");
    refuse("it is not a regular file");
  }
  if (errno != ENOENT) refuse(system_reason(errno));
  const std::size_t slash = path.find_last_of('/');
  const std::string directory = slash == std::string::npos ? "."
                                : slash == 0               ? "/"
                                                           : path.substr(0, slash);
  struct stat directory_status {};
  errno = 0;
  if (stat(directory.c_str(), &directory_status) != 0) {
    refuse(errno == ENOENT ? "its directory '" + directory + "' does not exist"
                           : "its directory '" + directory + "': " + system_reason(errno));
  }
  if (!S_ISDIR(directory_status.st_mode)) refuse("'" + directory + "' is not a directory");
  errno = 0;
  if (access(directory.c_str(), W_OK | X_OK) != 0) {
    refuse("its directory '" + directory + "' is not writable: " + system_reason(errno));
  }
}

std::FILE* create_temporary_file(const std::string& path) {
  TemporaryRegistry& registry = temporary_registry();
  const std::lock_guard<std::mutex> lock(registry.mutex);
  std::FILE* file = std::fopen(path.c_str(), "wbx");
  if (file != nullptr) registry.temporaries.insert(path);
  return file;
}

int commit_temporary_file(const std::string& temporary, const std::string& target) {
  TemporaryRegistry& registry = temporary_registry();
  const std::lock_guard<std::mutex> lock(registry.mutex);
  errno = 0;
  if (std::rename(temporary.c_str(), target.c_str()) != 0) return errno != 0 ? errno : EIO;
  registry.temporaries.erase(temporary);
  registry.committed_targets.insert(target);
  return 0;
}

void remove_temporary_file(const std::string& temporary) {
  TemporaryRegistry& registry = temporary_registry();
  const std::lock_guard<std::mutex> lock(registry.mutex);
  std::remove(temporary.c_str());
  registry.temporaries.erase(temporary);
}

bool abandon_temporary_files(const std::string& finished_target) {
  TemporaryRegistry& registry = temporary_registry();
  std::unique_lock<std::mutex> lock(registry.mutex);
  if (!finished_target.empty() && registry.committed_targets.count(finished_target) != 0) {
    return false;
  }
  for (const std::string& temporary : registry.temporaries) std::remove(temporary.c_str());
  registry.temporaries.clear();
  lock.release();  // held until the process ends
  return true;
}

}  // namespace einstream::detail
