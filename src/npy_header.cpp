// The .npy header's dict parser and writer (see src/npy_header.hpp).
//
// Reading accepts what any NumPy version writes plus hand-made variations
// (key order, quotes, spacing, padding). Writing reproduces np.save byte for
// byte, spare growth space included, so files diff cleanly against NumPy's.
#include "src/npy_header.hpp"

#include <cstdint>
#include <cstring>
#include <limits>
#include <utility>

#include "einstream/error.hpp"

namespace einstream::detail {
namespace {

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
constexpr std::size_t kMaxHeaderShownInErrors = 200;

struct NpyType {
  const char* code;  // descr without its byte-order character
  DataType dtype;
};
// bf16 has none: numpy has no bfloat16, and ml_dtypes saves its bfloat16 as
// the opaque '|V2'.
constexpr NpyType kNpyTypes[] = {{"f4", DataType::f32},
                                 {"f8", DataType::f64},
                                 {"c8", DataType::c64},
                                 {"c16", DataType::c128},
                                 {"f2", DataType::f16}};
constexpr const char* kSupportedDescrs =
    "'<f4' (float32), '<f8' (float64), '<c8' (complex64), '<c16' (complex128), '<f2' (float16)";

}  // namespace

[[noreturn]] void fail_npy_read(const std::string& path, const std::string& what) {
  throw Error("cannot read .npy file '" + path + "': " + what);
}

[[noreturn]] void fail_npy_write(const std::string& path, const std::string& what) {
  throw Error("cannot write .npy file '" + path + "': " + what);
}

namespace {

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
    fail_npy_read(path_, "malformed header at byte " + std::to_string(pos_) +
                             " of the dict: " + what + " (header: " + shown + ")");
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
    fail_npy_read(path, "structured dtypes (descr " + descr.source +
                            ") are not supported; supported dtypes are " + kSupportedDescrs);
  }
  if (descr.kind != PyValue::Kind::string) {
    fail_npy_read(path, "'descr' must be a dtype string such as '<f4', found " + descr.source);
  }
  const std::string& text = descr.text;
  const bool has_order = !text.empty() && std::strchr("<>=|", text[0]) != nullptr;
  const char order = has_order ? text[0] : '=';
  const std::string code = has_order ? text.substr(1) : text;
  for (const NpyType& type : kNpyTypes) {
    if (code != type.code) continue;
    if (order == '>') {
      fail_npy_read(path, "big-endian data (descr '" + text +
                              "') is not supported; convert it in NumPy with arr.astype('<" + code +
                              "') and save it again");
    }
    return type.dtype;
  }
  if (!code.empty() && code[0] == 'O') {
    fail_npy_read(path, "object arrays (descr '" + text +
                            "') are not supported; supported dtypes are " + kSupportedDescrs);
  }
  if (code == "V2") {
    fail_npy_read(path, "descr '" + text +
                            "' is an opaque 2-byte type, which is how ml_dtypes saves bfloat16; "
                            "bf16 cannot be stored in .npy: save the array as float32 "
                            "(arr.astype(numpy.float32)) or float16 instead");
  }
  if (!code.empty() && code[0] == 'V') {
    fail_npy_read(path, "structured or void dtypes (descr '" + text +
                            "') are not supported; supported dtypes are " + kSupportedDescrs);
  }
  fail_npy_read(path, "unsupported dtype '" + text + "'; supported dtypes are " + kSupportedDescrs);
}

std::vector<std::int64_t> extents_from_shape(const PyValue& shape, const std::string& path) {
  const std::string expected =
      "'shape' must be a tuple of non-negative integers such as (), (5,) or (2, 3), found " +
      shape.source;
  if (shape.kind != PyValue::Kind::tuple) fail_npy_read(path, expected);
  std::vector<std::int64_t> extents;
  for (const PyValue& item : shape.items) {
    if (item.kind != PyValue::Kind::integer || item.integer < 0) fail_npy_read(path, expected);
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

std::string shape_repr(const std::vector<std::int64_t>& extents) {
  std::string text = "(";
  for (std::size_t axis = 0; axis < extents.size(); ++axis) {
    text += (axis ? ", " : "") + std::to_string(extents[axis]);
  }
  return text + (extents.size() == 1 ? ",)" : ")");
}

}  // namespace

NpyHeaderFields interpret_npy_header(const std::string& header, const std::string& path) {
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
      fail_npy_read(path, "unexpected header key '" + key +
                              "'; a .npy header has exactly 'descr', 'fortran_order' and 'shape'");
    }
    if (*slot != nullptr) fail_npy_read(path, "header key '" + key + "' appears twice");
    *slot = &value;
  }
  for (const auto& [name, slot] :
       {std::pair{"descr", descr}, std::pair{"fortran_order", fortran_order},
        std::pair{"shape", shape}}) {
    if (slot == nullptr) fail_npy_read(path, std::string("the header has no '") + name + "' key");
  }
  if (fortran_order->kind != PyValue::Kind::boolean) {
    fail_npy_read(path, "'fortran_order' must be True or False, found " + fortran_order->source);
  }
  NpyHeaderFields fields;
  fields.desc.dtype = dtype_from_descr(*descr, path);
  fields.desc.extents = extents_from_shape(*shape, path);
  if (fortran_order->boolean) fields.desc.strides = fortran_order_strides(fields.desc.extents);
  fields.descr = descr->text;
  fields.shape = shape->source;
  return fields;
}

bool npy_data_byte_count(const std::vector<std::int64_t>& extents, DataType dtype,
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

std::string make_npy_header(const TensorDesc& desc, const std::string& path) {
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
    const std::uint64_t prefix = kNpyMagicLength + 2 + length_bytes;
    const std::uint64_t text_length = dict.size() + 1;  // + the final '\n'
    // NumPy pads by 1..64 bytes, never 0, even when already aligned.
    const std::uint64_t padding = kDataAlignment - (prefix + text_length) % kDataAlignment;
    const std::uint64_t header_length = text_length + padding;
    if (header_length > (major == 1 ? kMaxVersion1HeaderLength : kMaxVersion2HeaderLength)) {
      continue;
    }
    std::string header(kNpyMagic, kNpyMagicLength);
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
  fail_npy_write(path, "the header for " + to_string(desc) + " exceeds 4 GiB");
}

}  // namespace einstream::detail
