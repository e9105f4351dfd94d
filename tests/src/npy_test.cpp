// Tests for .npy reading and writing (src/npy.hpp).
//
// The kNumpy* fixtures are the exact bytes np.save wrote (NumPy 2.4.6),
// embedded so these tests need no Python. Other files are assembled byte by
// byte with npy_file() to reach the cases NumPy never writes.
#include "src/npy.hpp"

#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <complex>
#include <cstdint>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <initializer_list>
#include <iterator>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

#include "einstream/error.hpp"

namespace einstream::detail {
namespace {

namespace fs = std::filesystem;

template <std::size_t N>
std::string bytes_of(const char (&literal)[N]) {
  return std::string(literal, N - 1);  // keeps embedded NULs, drops the terminator
}

// np.save(f, np.arange(6, dtype='<f4').reshape(2, 3))
const std::string kNumpyF32Matrix = bytes_of(
    "\223NUMPY\001\000v\000{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }"
    "                                                          \n"
    "\000\000\000\000\000\000\200\077\000\000\000@\000\000@@\000\000\200@\000\000\240@");

// np.save(f, np.asfortranarray(np.arange(6, dtype='<f4').reshape(2, 3)))
const std::string kNumpyF32FortranMatrix = bytes_of(
    "\223NUMPY\001\000v\000{'descr': '<f4', 'fortran_order': True, 'shape': (2, 3), }"
    "                                                           \n"
    "\000\000\000\000\000\000@@\000\000\200\077\000\000\200@\000\000\000@\000\000\240@");

// np.save(f, np.array([1+2j, -3.5+0.25j], dtype='<c16'))
const std::string kNumpyC128Vector = bytes_of(
    "\223NUMPY\001\000v\000{'descr': '<c16', 'fortran_order': False, 'shape': (2,), }"
    "                                                           \n"
    "\000\000\000\000\000\000\360\077\000\000\000\000\000\000\000@"
    "\000\000\000\000\000\000\014\300\000\000\000\000\000\000\320\077");

// np.save(f, np.array(1.5, dtype='<f8'))
const std::string kNumpyF64Scalar = bytes_of(
    "\223NUMPY\001\000v\000{'descr': '<f8', 'fortran_order': False, 'shape': (), }"
    "                                                              \n"
    "\000\000\000\000\000\000\370\077");

// A .npy file built byte by byte: magic, version, the little-endian header
// length (2 bytes for 1.x, else 4) and `header` exactly as given.
std::string npy_file(int major, const std::string& header, const std::string& data = "",
                     int minor = 0) {
  std::string file = std::string("\x93NUMPY") + static_cast<char>(major) + static_cast<char>(minor);
  const int length_bytes = major == 1 ? 2 : 4;
  for (int byte = 0; byte < length_bytes; ++byte) {
    file += static_cast<char>((header.size() >> (8 * byte)) & 0xFF);
  }
  return file + header + data;
}

template <typename T>
std::string raw_bytes(const std::vector<T>& values) {
  return std::string(reinterpret_cast<const char*>(values.data()), values.size() * sizeof(T));
}

template <typename T>
std::vector<T> values_of(const NpyArray& array) {
  std::vector<T> values(array.data.size() / sizeof(T));
  if (!values.empty()) std::memcpy(values.data(), array.data.data(), array.data.size());
  return values;
}

// Distinct, exactly representable values so round trips compare with ==.
template <typename T>
T sample(std::int64_t i) {
  if constexpr (std::is_same_v<T, float16>) {
    return T(static_cast<float>(0.5 * static_cast<double>(i) - 1.25));
  } else if constexpr (std::is_floating_point_v<T>) {
    return static_cast<T>(0.5 * static_cast<double>(i) - 1.25);
  } else {
    using Real = typename T::value_type;
    return T(static_cast<Real>(0.5 * static_cast<double>(i) + 0.25), static_cast<Real>(-i));
  }
}

template <typename T>
std::vector<T> samples(std::int64_t count) {
  std::vector<T> values;
  for (std::int64_t i = 0; i < count; ++i) values.push_back(sample<T>(i));
  return values;
}

std::string file_contents(const std::string& path) {
  std::ifstream file(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(file), std::istreambuf_iterator<char>());
}

void write_file(const std::string& path, const std::string& contents) {
  std::ofstream(path, std::ios::binary) << contents;
}

// Runs `action` and expects an einstream::Error whose message names `path`
// and contains every one of `parts`.
template <typename Action>
void expect_error(Action action, const std::string& path,
                  std::initializer_list<std::string> parts) {
  try {
    action();
    ADD_FAILURE() << "expected einstream::Error mentioning " << path;
  } catch (const Error& error) {
    const std::string message = error.what();
    EXPECT_NE(message.find("'" + path + "'"), std::string::npos) << message;
    for (const std::string& part : parts) {
      EXPECT_NE(message.find(part), std::string::npos)
          << "'" << part << "' missing in: " << message;
    }
  }
}

// Each test gets a fresh directory under ::testing::TempDir(), removed after.
class Npy : public ::testing::Test {
 protected:
  void SetUp() override {
    const auto* info = ::testing::UnitTest::GetInstance()->current_test_info();
    std::string name = std::string("einstream_npy_") + info->test_suite_name() + "_" + info->name();
    for (char& c : name) {
      if (c == '/') c = '_';  // typed test suites are named "Suite/0"
    }
    // The process id keeps concurrent runs of the suite apart.
    dir_ = fs::path(::testing::TempDir()) / (name + "_" + std::to_string(::getpid()));
    fs::remove_all(dir_);
    fs::create_directories(dir_);
  }
  void TearDown() override { fs::remove_all(dir_); }

  std::string path(const std::string& name) const { return (dir_ / name).string(); }

  std::vector<std::string> files_in_dir() const {
    std::vector<std::string> names;
    for (const auto& entry : fs::directory_iterator(dir_)) {
      names.push_back(entry.path().filename().string());
    }
    return names;
  }

  // Writes `values` with `extents`, reads them back and checks both match.
  template <typename T>
  void expect_round_trip(const std::vector<std::int64_t>& extents) {
    SCOPED_TRACE(to_string(TensorDesc(data_type_of<T>(), extents)));
    const TensorDesc desc(data_type_of<T>(), extents);
    const std::vector<T> values = samples<T>(desc.element_count());
    const std::string file = path("round_trip.npy");
    write_npy(file, desc, values.data());
    const NpyArray array = read_npy(file);
    EXPECT_EQ(array.desc.dtype, desc.dtype);
    EXPECT_EQ(array.desc.extents, extents);
    EXPECT_TRUE(array.desc.strides.empty());
    EXPECT_EQ(values_of<T>(array), values);
    // Whatever the data size, the header keeps the data 64-byte aligned.
    EXPECT_EQ((fs::file_size(file) - values.size() * sizeof(T)) % 64, 0u);
  }

  void expect_read_error(const std::string& contents, std::initializer_list<std::string> parts) {
    const std::string file = path("bad.npy");
    write_file(file, contents);
    expect_error([&] { read_npy(file); }, file, parts);
  }

  fs::path dir_;
};

template <typename T>
class NpyRoundTrip : public Npy {};
using ElementTypes =
    ::testing::Types<float, double, std::complex<float>, std::complex<double>, float16>;
TYPED_TEST_SUITE(NpyRoundTrip, ElementTypes);

TYPED_TEST(NpyRoundTrip, EveryDtypeRoundTripsExactly) {
  this->template expect_round_trip<TypeParam>({2, 3});
  this->template expect_round_trip<TypeParam>({4, 1, 5});
}

// --- Round trips --------------------------------------------------------------

TEST_F(Npy, ScalarRoundTripsWithEmptyShape) {
  expect_round_trip<double>({});
  expect_round_trip<std::complex<float>>({});
  EXPECT_NE(file_contents(path("round_trip.npy")).find("'shape': (), }"), std::string::npos);
}

TEST_F(Npy, OneDimensionalArrayRoundTripsWithTrailingCommaShape) {
  expect_round_trip<float>({7});
  EXPECT_NE(file_contents(path("round_trip.npy")).find("'shape': (7,), }"), std::string::npos);
}

TEST_F(Npy, ThreeDimensionalArrayRoundTrips) {
  expect_round_trip<std::complex<double>>({3, 4, 5});
  expect_round_trip<float>({1, 1, 130});
}

TEST_F(Npy, ZeroSizeShapesRoundTripWithNoDataBytes) {
  for (const std::vector<std::int64_t>& extents :
       {std::vector<std::int64_t>{0}, {2, 0, 3}, {0, 0}, {5, 0}}) {
    expect_round_trip<float>(extents);
    EXPECT_EQ(fs::file_size(path("round_trip.npy")), 128u);
  }
  const std::string file = path("null.npy");
  write_npy(file, TensorDesc(DataType::c64, {3, 0}), nullptr);
  EXPECT_EQ(read_npy(file).desc.extents, (std::vector<std::int64_t>{3, 0}));
}

TEST_F(Npy, TransposedStridesAreGatheredIntoCOrder) {
  const std::vector<float> matrix = samples<float>(12);  // 3x4, C order
  const std::string file = path("transposed.npy");
  write_npy(file, TensorDesc(DataType::f32, {4, 3}, {1, 4}), matrix.data());
  const NpyArray array = read_npy(file);
  ASSERT_EQ(array.desc.extents, (std::vector<std::int64_t>{4, 3}));
  const std::vector<float> values = values_of<float>(array);
  for (int i = 0; i < 4; ++i) {
    for (int j = 0; j < 3; ++j) EXPECT_EQ(values[i * 3 + j], matrix[j * 4 + i]) << i << "," << j;
  }
}

TEST_F(Npy, NegativeStridesAreGatheredIntoCOrder) {
  const std::vector<double> matrix = samples<double>(6);  // 2x3, C order
  const std::string file = path("reversed.npy");
  // Both axes reversed: element (0, 0) is the last one in memory.
  write_npy(file, TensorDesc(DataType::f64, {2, 3}, {-3, -1}), matrix.data() + 5);
  const std::vector<double> values = values_of<double>(read_npy(file));
  EXPECT_EQ(values, (std::vector<double>{matrix[5], matrix[4], matrix[3], matrix[2], matrix[1],
                                         matrix[0]}));
}

TEST_F(Npy, ZeroStridesAreBroadcastWhenWritten) {
  const std::vector<float> row = samples<float>(3);
  const std::string file = path("broadcast.npy");
  write_npy(file, TensorDesc(DataType::f32, {2, 3}, {0, 1}), row.data());
  EXPECT_EQ(values_of<float>(read_npy(file)),
            (std::vector<float>{row[0], row[1], row[2], row[0], row[1], row[2]}));
}

TEST_F(Npy, StridedWriteLargerThanOneChunkIsGatheredCompletely) {
  using C = std::complex<double>;
  const std::int64_t n = 300;  // 300 * 300 * 16 bytes crosses the 1 MiB gather chunk
  const std::vector<C> matrix = samples<C>(n * n);
  const std::string file = path("large.npy");
  write_npy(file, TensorDesc(DataType::c128, {n, n}, {1, n}), matrix.data());
  const std::vector<C> values = values_of<C>(read_npy(file));
  ASSERT_EQ(values.size(), matrix.size());
  for (std::int64_t i = 0; i < n; ++i) {
    for (std::int64_t j = 0; j < n; ++j) ASSERT_EQ(values[i * n + j], matrix[j * n + i]);
  }
}

TEST_F(Npy, OverwritingReplacesTheFileAndLeavesNoTemporary) {
  const std::string file = path("twice.npy");
  const std::vector<float> first = samples<float>(4);
  const std::vector<double> second = samples<double>(2);
  write_npy(file, TensorDesc(DataType::f32, {4}), first.data());
  write_npy(file, TensorDesc(DataType::f64, {2}), second.data());
  EXPECT_EQ(values_of<double>(read_npy(file)), second);
  EXPECT_EQ(files_in_dir(), std::vector<std::string>{"twice.npy"});
}

// Writing renames a temporary over the target: a link or a device there
// would be replaced, not written through, so such targets are refused and
// left exactly as they were.
TEST_F(Npy, WritesRefuseLinksDevicesFifosAndDirectories) {
  const std::vector<float> values = samples<float>(4);
  const TensorDesc desc(DataType::f32, {4});
  write_npy(path("real.npy"), desc, values.data());
  const std::string before = file_contents(path("real.npy"));
  fs::create_symlink(path("real.npy"), path("link.npy"));
  ASSERT_EQ(mkfifo(path("fifo.npy").c_str(), 0600), 0);
  fs::create_directories(path("folder"));
  for (const auto& [target, reason] :
       std::vector<std::pair<std::string, std::string>>{{path("link.npy"), "symbolic link"},
                                                        {path("fifo.npy"), "FIFO"},
                                                        {"/dev/null", "device"},
                                                        {path("folder"), "directory"},
                                                        {path("no/such.npy"), "does not exist"}}) {
    SCOPED_TRACE(target);
    try {
      write_npy(target, desc, values.data());
      ADD_FAILURE() << "no exception";
    } catch (const Error& error) {
      const std::string message = error.what();
      EXPECT_NE(message.find("'" + target + "'"), std::string::npos) << message;
      EXPECT_NE(message.find(reason), std::string::npos) << message;
    }
  }
  EXPECT_TRUE(fs::is_symlink(path("link.npy")));
  EXPECT_TRUE(fs::is_fifo(path("fifo.npy")));
  EXPECT_TRUE(fs::is_empty(path("folder")));
  EXPECT_EQ(file_contents(path("real.npy")), before);
  EXPECT_NO_THROW(check_output_path(path("new.npy")));
  EXPECT_NO_THROW(check_output_path(path("real.npy")));
}

// What a signal thread does before ending the process: every temporary of
// a write in progress goes, and nothing more may be renamed.
TEST_F(Npy, AbandonedTemporariesAreRemovedUnlessTheResultIsInPlace) {
  std::FILE* done = create_temporary_file(path("done.tmp"));
  ASSERT_NE(done, nullptr);
  std::fclose(done);
  ASSERT_EQ(commit_temporary_file(path("done.tmp"), path("done.npy")), 0);
  std::FILE* pending = create_temporary_file(path("pending.tmp"));
  ASSERT_NE(pending, nullptr);
  std::fclose(pending);
  // The finished target is in place: nothing is abandoned.
  EXPECT_FALSE(abandon_temporary_files(path("done.npy")));
  EXPECT_TRUE(fs::exists(path("pending.tmp")));
  remove_temporary_file(path("pending.tmp"));
  EXPECT_FALSE(fs::exists(path("pending.tmp")));
  EXPECT_EQ(create_temporary_file(path("done.npy")), nullptr);  // exclusive create
}

// --- What is written ------------------------------------------------------------

TEST_F(Npy, HeaderIsVersion1AlignedTo64BytesWithNumpyDictText) {
  const std::string file = path("header.npy");
  const std::vector<float> values = samples<float>(6);
  write_npy(file, TensorDesc(DataType::f32, {2, 3}), values.data());
  const std::string contents = file_contents(file);
  ASSERT_GE(contents.size(), 10u);
  EXPECT_EQ(contents.substr(0, 6), "\x93NUMPY");
  EXPECT_EQ(contents[6], 1);  // major
  EXPECT_EQ(contents[7], 0);  // minor
  const std::size_t header_length =
      static_cast<unsigned char>(contents[8]) | static_cast<unsigned char>(contents[9]) << 8;
  EXPECT_EQ(header_length, 118u);
  EXPECT_EQ((10 + header_length) % 64, 0u);
  const std::string header = contents.substr(10, header_length);
  const std::string dict = "{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }";
  EXPECT_EQ(header, dict + std::string(header_length - dict.size() - 1, ' ') + "\n");
  EXPECT_EQ(contents.size(), 10 + header_length + 6 * sizeof(float));
}

TEST_F(Npy, WrittenFilesMatchNumpyByteForByte) {
  const std::string file = path("numpy.npy");
  const std::vector<float> arange = {0, 1, 2, 3, 4, 5};
  write_npy(file, TensorDesc(DataType::f32, {2, 3}), arange.data());
  EXPECT_EQ(file_contents(file), kNumpyF32Matrix);
  const std::vector<std::complex<double>> vector = {{1, 2}, {-3.5, 0.25}};
  write_npy(file, TensorDesc(DataType::c128, {2}), vector.data());
  EXPECT_EQ(file_contents(file), kNumpyC128Vector);
  const double scalar = 1.5;
  write_npy(file, TensorDesc(DataType::f64, {}), &scalar);
  EXPECT_EQ(file_contents(file), kNumpyF64Scalar);
}

TEST_F(Npy, HeaderTooLongForVersion1IsWrittenAsVersion2) {
  // 30000 unit axes make a dict of about 90 KB, past version 1.0's 65535.
  const std::vector<std::int64_t> extents(30000, 1);
  const std::string file = path("wide.npy");
  const float value = 2.5f;
  write_npy(file, TensorDesc(DataType::f32, extents), &value);
  const std::string contents = file_contents(file);
  ASSERT_GT(contents.size(), 12u);
  EXPECT_EQ(contents[6], 2);
  EXPECT_EQ(contents[7], 0);
  std::uint64_t header_length = 0;
  for (int byte = 0; byte < 4; ++byte) {
    header_length |= std::uint64_t{static_cast<unsigned char>(contents[8 + byte])} << (8 * byte);
  }
  EXPECT_GT(header_length, 65535u);
  EXPECT_EQ((12 + header_length) % 64, 0u);
  const NpyArray array = read_npy(file);
  EXPECT_EQ(array.desc.extents, extents);
  EXPECT_EQ(values_of<float>(array), std::vector<float>{value});
}

// --- What is read ---------------------------------------------------------------

TEST_F(Npy, ReadsNumpyFiles) {
  const std::string file = path("numpy.npy");
  write_file(file, kNumpyF32Matrix);
  NpyArray array = read_npy(file);
  EXPECT_EQ(array.desc.dtype, DataType::f32);
  EXPECT_EQ(array.desc.extents, (std::vector<std::int64_t>{2, 3}));
  EXPECT_TRUE(array.desc.strides.empty());
  EXPECT_EQ(values_of<float>(array), (std::vector<float>{0, 1, 2, 3, 4, 5}));

  write_file(file, kNumpyF64Scalar);
  array = read_npy(file);
  EXPECT_EQ(array.desc.dtype, DataType::f64);
  EXPECT_TRUE(array.desc.extents.empty());
  EXPECT_EQ(values_of<double>(array), std::vector<double>{1.5});
}

TEST_F(Npy, FortranOrderIsReadAsStrides) {
  const std::string file = path("fortran.npy");
  write_file(file, kNumpyF32FortranMatrix);
  const NpyArray array = read_npy(file);
  EXPECT_EQ(array.desc.extents, (std::vector<std::int64_t>{2, 3}));
  ASSERT_EQ(array.desc.strides, (std::vector<std::int64_t>{1, 2}));
  // The data stays as stored; the strides find element (i, j) = 3 i + j.
  const std::vector<float> values = values_of<float>(array);
  EXPECT_EQ(values, (std::vector<float>{0, 3, 1, 4, 2, 5}));
  for (int i = 0; i < 2; ++i) {
    for (int j = 0; j < 3; ++j) EXPECT_EQ(values[i * 1 + j * 2], static_cast<float>(3 * i + j));
  }

  write_file(file, npy_file(1, "{'descr': '<f8', 'fortran_order': True, 'shape': (2, 3, 4), }\n",
                            raw_bytes(samples<double>(24))));
  EXPECT_EQ(read_npy(file).desc.strides, (std::vector<std::int64_t>{1, 2, 6}));
}

TEST_F(Npy, ReadsVersion2And3Files) {
  const std::string file = path("version.npy");
  const std::vector<std::complex<float>> values = samples<std::complex<float>>(5);
  for (int major : {2, 3}) {
    SCOPED_TRACE(major);
    const std::string header = "{'descr': '<c8', 'fortran_order': False, 'shape': (5,), }";
    // Pad after the 12-byte prefix so the data starts at byte 128, as NumPy would.
    write_file(file, npy_file(major, header + std::string(128 - 12 - header.size() - 1, ' ') + "\n",
                              raw_bytes(values)));
    const NpyArray array = read_npy(file);
    EXPECT_EQ(array.desc.dtype, DataType::c64);
    EXPECT_EQ(array.desc.extents, std::vector<std::int64_t>{5});
    EXPECT_EQ(values_of<std::complex<float>>(array), values);
  }
}

TEST_F(Npy, AcceptsAnyKeyOrderQuotesSpacingAndPadding) {
  const std::string file = path("variants.npy");
  const std::string data = raw_bytes(samples<double>(6));
  for (const std::string header : {
           "{\"shape\":(2,3),\"fortran_order\":False,\"descr\":\"<f8\"}\n",
           "{ 'fortran_order' : False , 'descr' : '<f8' , 'shape' : ( 2 , 3 , ) }\n",
           "{'descr': '<f8', 'shape': (2L, 3L), 'fortran_order': False}",  // Python 2 longs
           "  {'descr':'<f8','fortran_order':False,'shape':(2, 3),}    \t \r\n\n",
       }) {
    SCOPED_TRACE(header);
    write_file(file, npy_file(1, header, data));
    const NpyArray array = read_npy(file);
    EXPECT_EQ(array.desc.dtype, DataType::f64);
    EXPECT_EQ(array.desc.extents, (std::vector<std::int64_t>{2, 3}));
    EXPECT_EQ(values_of<double>(array), samples<double>(6));
  }
}

TEST_F(Npy, NativeByteOrderIsTakenAsLittleEndian) {
  const std::string file = path("native.npy");
  for (const std::string descr : {"=f4", "|f4"}) {
    SCOPED_TRACE(descr);
    write_file(file,
               npy_file(1, "{'descr': '" + descr + "', 'fortran_order': False, 'shape': (2,)}\n",
                        raw_bytes(std::vector<float>{1, 2})));
    EXPECT_EQ(values_of<float>(read_npy(file)), (std::vector<float>{1, 2}));
  }
}

// --- Malformed files --------------------------------------------------------------

const std::string kGoodHeader = "{'descr': '<f4', 'fortran_order': False, 'shape': (2,), }\n";
const std::string kTwoFloats = raw_bytes(std::vector<float>{1, 2});

TEST_F(Npy, MissingFileIsAnErrorNamingThePath) {
  const std::string file = path("missing.npy");
  expect_error([&] { read_npy(file); }, file, {"cannot open", "No such file"});
}

TEST_F(Npy, EmptyFileIsRejected) { expect_read_error("", {"empty"}); }

TEST_F(Npy, BadMagicIsRejected) {
  expect_read_error("\x93NUMPZ\x01\x00" + kGoodHeader, {"not a .npy file", "magic"});
  expect_read_error("PK\x03\x04", {"not a .npy file", "4 bytes"});
}

TEST_F(Npy, UnsupportedVersionIsRejected) {
  expect_read_error(npy_file(4, kGoodHeader, kTwoFloats),
                    {"unsupported .npy format version 4.0", "1.0, 2.0 and 3.0"});
  expect_read_error(npy_file(1, kGoodHeader, kTwoFloats, 1), {"version 1.1"});
}

TEST_F(Npy, TruncatedHeaderIsRejected) {
  const std::string whole = npy_file(1, kGoodHeader, kTwoFloats);
  expect_read_error(whole.substr(0, 7), {"version bytes"});
  expect_read_error(whole.substr(0, 9), {"header length"});
  expect_read_error(whole.substr(0, 30), {"header is truncated", "declares 58 bytes", "only 20"});
  expect_read_error(npy_file(2, "{'descr': '<f4', ").substr(0, 11), {"header length"});
}

TEST_F(Npy, HeaderMissingARequiredKeyIsRejected) {
  expect_read_error(npy_file(1, "{'fortran_order': False, 'shape': (2,), }\n", kTwoFloats),
                    {"no 'descr' key"});
  expect_read_error(npy_file(1, "{'descr': '<f4', 'fortran_order': False, }\n", kTwoFloats),
                    {"no 'shape' key"});
  expect_read_error(npy_file(1, "{'descr': '<f4', 'shape': (2,), }\n", kTwoFloats),
                    {"no 'fortran_order' key"});
}

TEST_F(Npy, UnknownOrRepeatedKeysAndBadValuesAreRejected) {
  expect_read_error(
      npy_file(1, "{'descr': '<f4', 'fortran_order': False, 'shape': (2,), 'x': 1}", kTwoFloats),
      {"unexpected header key 'x'"});
  expect_read_error(npy_file(1, "{'descr': '<f4', 'descr': '<f4', 'fortran_order': False}"),
                    {"'descr' appears twice"});
  expect_read_error(npy_file(1, "{'descr': '<f4', 'fortran_order': 0, 'shape': (2,)}", kTwoFloats),
                    {"'fortran_order' must be True or False, found 0"});
  for (const std::string shape : {"(2)", "[2]", "(-2,)", "(2, 'a')", "None"}) {
    SCOPED_TRACE(shape);
    expect_read_error(
        npy_file(1, "{'descr': '<f4', 'fortran_order': False, 'shape': " + shape + "}", kTwoFloats),
        {"'shape' must be a tuple of non-negative integers", "found " + shape});
  }
}

TEST_F(Npy, MalformedDictIsRejectedShowingTheHeader) {
  expect_read_error(npy_file(1, "{'descr': '<f4', 'fortran_order': False\n"),
                    {"malformed header", "expected '}'", "{'descr': '<f4'"});
  expect_read_error(npy_file(1, "descr=<f4\n"), {"malformed header", "expected '{'"});
  expect_read_error(npy_file(1, "{'descr: '<f4'}"), {"malformed header"});
  expect_read_error(npy_file(1, "   \n"), {"header is empty"});
  expect_read_error(npy_file(1, "{'shape': (99999999999999999999,)}"), {"64 bits"});
  expect_read_error(npy_file(1, "{'shape': " + std::string(100, '(') + "}"), {"nested too deeply"});
  expect_read_error(npy_file(1, kGoodHeader + "x", kTwoFloats), {"unexpected text after the dict"});
}

TEST_F(Npy, BigEndianIsRejectedWithConversionHint) {
  expect_read_error(
      npy_file(1, "{'descr': '>f4', 'fortran_order': False, 'shape': (2,)}\n", kTwoFloats),
      {"big-endian", "'>f4'", "arr.astype('<f4')"});
  expect_read_error(npy_file(1, "{'descr': '>c16', 'fortran_order': False, 'shape': (1,)}\n",
                             std::string(16, '\0')),
                    {"big-endian", "arr.astype('<c16')"});
}

TEST_F(Npy, UnsupportedDtypeIsRejectedNamingDescrAndSupportedList) {
  expect_read_error(
      npy_file(1, "{'descr': '<i4', 'fortran_order': False, 'shape': (2,)}\n", kTwoFloats),
      {"unsupported dtype '<i4'", "'<f4' (float32)", "'<c16' (complex128)"});
}

TEST_F(Npy, ObjectAndStructuredArraysAreRejected) {
  expect_read_error(npy_file(1, "{'descr': '|O', 'fortran_order': False, 'shape': (2,)}\n"),
                    {"object arrays", "'|O'"});
  expect_read_error(
      npy_file(1,
               "{'descr': [('re', '<f4'), ('im', '<f4', (2,))], 'fortran_order': False, "
               "'shape': (2,)}\n"),
      {"structured dtypes", "[('re', '<f4')"});
  expect_read_error(npy_file(1, "{'descr': '|V8', 'fortran_order': False, 'shape': (2,)}\n"),
                    {"structured or void dtypes", "'|V8'"});
}

TEST_F(Npy, Float16IsReadAndWrittenAsF2) {
  const std::string file = path("half.npy");
  const std::vector<float16> values = {float16(1.0f), float16(-2.5f), float16(65504.0f)};
  write_npy(file, TensorDesc(DataType::f16, {3}), values.data());
  const std::string contents = file_contents(file);
  EXPECT_NE(contents.find("{'descr': '<f2', 'fortran_order': False, 'shape': (3,), }"),
            std::string::npos);
  // 1.0, -2.5 and 65504 as binary16, little-endian.
  EXPECT_EQ(contents.substr(contents.size() - 6), std::string("\x00\x3c\x00\xc1\xff\x7b", 6));
  const NpyArray array = read_npy(file);
  EXPECT_EQ(array.desc.dtype, DataType::f16);
  EXPECT_EQ(array.desc.extents, std::vector<std::int64_t>{3});
  EXPECT_EQ(array.data.size(), 6u);
  EXPECT_EQ(std::memcmp(array.data.data(), values.data(), 6), 0);
  expect_read_error(
      npy_file(1, "{'descr': '>f2', 'fortran_order': False, 'shape': (1,)}\n", std::string(2, 0)),
      {"big-endian", "arr.astype('<f2')"});
}

TEST_F(Npy, Bfloat16IsRefusedBothWaysSayingWhatToDoInstead) {
  // ml_dtypes' bfloat16 arrays save as the opaque '|V2'.
  expect_read_error(
      npy_file(1, "{'descr': '|V2', 'fortran_order': False, 'shape': (2,)}\n", std::string(4, 0)),
      {"'|V2'", "bf16 cannot be stored in .npy", "float32"});
  const std::string file = path("bf16.npy");
  const std::vector<bfloat16> values(2, bfloat16(1.0f));
  expect_error([&] { write_npy(file, TensorDesc(DataType::bf16, {2}), values.data()); }, file,
               {"bf16 cannot be stored in .npy"});
  EXPECT_FALSE(fs::exists(file));
}

TEST_F(Npy, TruncatedDataIsRejectedNamingExpectedAndActualBytes) {
  expect_read_error(kNumpyF32Matrix.substr(0, kNumpyF32Matrix.size() - 4),
                    {"data is truncated", "needs 24 data bytes", "has 20"});
  expect_read_error(kNumpyF32Matrix.substr(0, 128), {"data is truncated", "has 0"});
}

TEST_F(Npy, TrailingDataIsRejected) {
  expect_read_error(kNumpyF32Matrix + "junk", {"trailing data", "needs 24", "has 28"});
}

TEST_F(Npy, ShapeTooLargeForMemoryIsRejectedBeforeAllocating) {
  expect_read_error(
      npy_file(1, "{'descr': '<c16', 'fortran_order': False, 'shape': (4294967296, 4294967296)}"),
      {"more bytes than fit in 64 bits"});
  expect_read_error(
      npy_file(1, "{'descr': '<f8', 'fortran_order': False, 'shape': (1000000, 1000000)}"),
      {"needs 8000000000000 data bytes", "has 0"});
}

// --- Failed writes ------------------------------------------------------------------

TEST_F(Npy, FailedWriteToMissingDirectoryLeavesNothingBehind) {
  const std::string file = path("no_such_dir/out.npy");
  const float value = 1;
  expect_error([&] { write_npy(file, TensorDesc(DataType::f32, {1}), &value); }, file,
               {"cannot write", "its directory", "does not exist"});
  EXPECT_TRUE(files_in_dir().empty());
}

// A directory target used to fail only at the rename; it is refused before
// a temporary file is created.
TEST_F(Npy, DirectoryTargetIsRefusedLeavingNothingBehind) {
  const std::string target = path("occupied");
  fs::create_directory(target);
  const std::vector<float> values = samples<float>(4);
  expect_error([&] { write_npy(target, TensorDesc(DataType::f32, {4}), values.data()); }, target,
               {"cannot write", "is a directory"});
  EXPECT_EQ(files_in_dir(), std::vector<std::string>{"occupied"});
  EXPECT_TRUE(fs::is_empty(target));
}

TEST_F(Npy, InvalidDescriptorIsRejectedLeavingTheTargetUntouched) {
  const std::string file = path("kept.npy");
  write_file(file, kNumpyF32Matrix);
  const std::vector<float> values = samples<float>(6);
  expect_error([&] { write_npy(file, TensorDesc(DataType::bf16, {2}), values.data()); }, file,
               {"bf16 cannot be stored in .npy", "f32"});
  expect_error([&] { write_npy(file, TensorDesc(static_cast<DataType>(42), {2}), values.data()); },
               file, {"42", "not a DataType"});
  expect_error(
      [&] {
        write_npy(file, TensorDesc(DataType::f32, {2, 3}, {1}), values.data());
      },
      file, {"1 strides for 2 extents"});
  expect_error(
      [&] {
        write_npy(file, TensorDesc(DataType::f32, {2, -3}), values.data());
      },
      file, {"negative extent"});
  expect_error([&] { write_npy(file, TensorDesc(DataType::f32, {2}), nullptr); }, file, {"null"});
  EXPECT_EQ(file_contents(file), kNumpyF32Matrix);
  EXPECT_EQ(files_in_dir(), std::vector<std::string>{"kept.npy"});
}

}  // namespace
}  // namespace einstream::detail
