// The einstream command-line tool end to end: .npy files in, .npy file out,
// compared with hand-computed values and with the reference executor.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <poll.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <nlohmann/json.hpp>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <complex>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <random>
#include <sstream>
#include <thread>

#include "einstream/einstream.hpp"
#include "planner/parse.hpp"
#include "src/npy.hpp"
#include "src/reference.hpp"
#include "tests/support/against_reference.hpp"
#include "tests/support/tensors.hpp"

namespace einstream {
namespace {

namespace fs = std::filesystem;

struct CommandResult {
  int status = -1;
  std::string out;
  std::string err;
};

std::string read_text(const fs::path& path) {
  std::ifstream file(path);
  std::stringstream text;
  text << file.rdbuf();
  return text.str();
}

class Cli : public ::testing::Test {
 protected:
  void SetUp() override {
    const auto* info = ::testing::UnitTest::GetInstance()->current_test_info();
    // The process id keeps two runs of the suite (two build trees, a
    // sanitizer build beside the normal one) out of each other's files.
    directory_ = fs::path(::testing::TempDir()) /
                 (std::string("einstream_cli_") + info->name() + "_" + std::to_string(::getpid()));
    fs::remove_all(directory_);
    fs::create_directories(directory_);
  }
  void TearDown() override { fs::remove_all(directory_); }

  fs::path file(const std::string& name) const { return directory_ / name; }

  // Runs the CLI with `arguments` (already shell-quoted where needed).
  CommandResult run(const std::string& arguments) const {
    const std::string command = std::string("'") + EINSTREAM_CLI + "' " + arguments + " >'" +
                                file("stdout.txt").string() + "' 2>'" +
                                file("stderr.txt").string() + "'";
    CommandResult result;
    const int raw = std::system(command.c_str());
    result.status = WIFEXITED(raw) ? WEXITSTATUS(raw) : -1;
    result.out = read_text(file("stdout.txt"));
    result.err = read_text(file("stderr.txt"));
    return result;
  }

  std::string save(const std::string& name, const TensorDesc& desc, const void* data) const {
    const std::string path = file(name).string();
    detail::write_npy(path, desc, data);
    return path;
  }

  fs::path directory_;
};

bool contains(const std::string& text, const std::string& part) {
  return text.find(part) != std::string::npos;
}

TEST_F(Cli, RunEvaluatesAMatrixProduct) {
  const std::vector<double> a = {1, 2, 3, 4, 5, 6};  // 2x3
  const std::vector<double> b = {1, 0, 2, 1, 0, 3};  // 3x2
  const std::string a_path = save("a.npy", TensorDesc(DataType::f64, {2, 3}), a.data());
  const std::string b_path = save("b.npy", TensorDesc(DataType::f64, {3, 2}), b.data());
  const CommandResult result =
      run("run 'ij,jk->ik' " + a_path + " " + b_path + " -o " + file("c.npy").string());
  ASSERT_EQ(result.status, 0) << result.err;
  const detail::NpyArray c = detail::read_npy(file("c.npy").string());
  EXPECT_EQ(c.desc.dtype, DataType::f64);
  EXPECT_EQ(c.desc.extents, (std::vector<std::int64_t>{2, 2}));
  const auto* values = reinterpret_cast<const double*>(c.data.data());
  EXPECT_EQ(std::vector<double>(values, values + 4), (std::vector<double>{5, 11, 14, 23}));
}

// Each notation rule from the parser, through the CLI, against the reference
// executor on the same random data, in every dtype.
TEST_F(Cli, RunEvaluatesEveryNotationLikeTheReference) {
  struct Case {
    std::string expression;
    std::vector<std::vector<std::int64_t>> shapes;
  };
  const std::vector<Case> cases = {
      {"ij,jk->ik", {{3, 4}, {4, 5}}},                    // explicit output
      {"ij,jk", {{3, 4}, {4, 5}}},                        // implicit output
      {" i j , j k -> k i ", {{3, 4}, {4, 5}}},           // whitespace
      {"aB,Bc", {{2, 3}, {3, 4}}},                        // upper and lower case
      {"...ij,...jk->...ik", {{2, 1, 3, 4}, {5, 4, 2}}},  // ellipsis, size-1, different ranks
      {"ij,ij->ij", {{3, 1}, {3, 4}}},                    // label broadcasting
      {"...i->i", {{2, 3, 4}}},                           // ellipsis summed by explicit output
      {"iij->ij", {{3, 3, 2}}},                           // diagonal
      {"ij,k->k", {{3, 4}, {2}}},                         // label summed within one operand
      {"i,j,k->ijk", {{2}, {3}, {4}}},                    // outer product
      {",ij->ij", {{}, {2, 3}}},                          // scalar operand
      {"ij,ij->", {{2, 3}, {2, 3}}},                      // scalar output
      {"ij,jk->ik", {{2, 0}, {0, 3}}},                    // zero-size summed extent
      {"ijk->kij", {{2, 3, 4}}},                          // permutation
      {"ii->", {{4, 4}}},                                 // trace
      {"ijk->j", {{2, 3, 4}}},                            // reduction
      {"jrl,ijr,ijrk,ijrl,ikmn->imn",
       {{4, 3, 5}, {2, 4, 3}, {2, 4, 3, 6}, {2, 4, 3, 5}, {2, 6, 3, 3}}},
  };
  std::mt19937 random(11);
  int index = 0;
  for (const Case& c : cases) {
    // Every dtype with a .npy form: bf16 has none.
    for (DataType dtype :
         {DataType::f32, DataType::f64, DataType::c64, DataType::c128, DataType::f16}) {
      SCOPED_TRACE(c.expression + " " + to_string(dtype));
      std::string arguments = "run '" + c.expression + "'";
      std::vector<std::vector<unsigned char>> inputs;
      std::vector<detail::ReferenceInput> reference_inputs;
      std::vector<TensorDesc> descs;
      std::vector<const void*> pointers;
      for (const auto& shape : c.shapes) {
        const TensorDesc desc(dtype, shape);
        inputs.push_back(testing::random_tensor(dtype, desc.element_count(), random));
        arguments +=
            " " + save("in" + std::to_string(index++) + ".npy", desc, inputs.back().data());
        reference_inputs.push_back({inputs.back().data(), dtype, desc.effective_strides()});
        descs.push_back(desc);
        pointers.push_back(inputs.back().data());
      }
      const std::string output = file("out.npy").string();
      const CommandResult result = run(arguments + " -o " + output);
      ASSERT_EQ(result.status, 0) << result.err;
      const detail::NpyArray actual = detail::read_npy(output);
      const detail::Problem problem = detail::parse(c.expression, c.shapes);
      ASSERT_EQ(actual.desc.extents, problem.output_extents());
      ASSERT_EQ(actual.desc.dtype, dtype);
      std::vector<unsigned char> expected(actual.data.size());
      detail::reference_einsum(problem, reference_inputs,
                               {expected.data(), dtype, c_order_strides(actual.desc.extents)});
      const double bound = testing::terms_bound(
          c.expression, descs, pointers, TensorDesc(dtype, actual.desc.extents), nullptr, 1.0, 0.0);
      EXPECT_LE(testing::error_against_reference(dtype, actual.data.data(), expected.data(),
                                                 actual.desc.element_count(), bound),
                testing::tolerance(dtype));
      fs::remove(output);
    }
  }
}

TEST_F(Cli, RunReadsFortranOrderFiles) {
  // The bytes of np.asfortranarray([[1., 2., 3.], [4., 5., 6.]]) saved by numpy.
  const std::vector<double> column_major = {1, 4, 2, 5, 3, 6};
  const std::string path =
      save("f.npy", TensorDesc(DataType::f64, {2, 3}, {1, 2}), column_major.data());
  const CommandResult result = run("run 'ij->i' " + path + " -o " + file("sums.npy").string());
  ASSERT_EQ(result.status, 0) << result.err;
  const detail::NpyArray sums = detail::read_npy(file("sums.npy").string());
  const auto* values = reinterpret_cast<const double*>(sums.data.data());
  EXPECT_EQ(std::vector<double>(values, values + 2), (std::vector<double>{6, 15}));
}

TEST_F(Cli, RunReportSaysWhatTheExecutionDid) {
  std::vector<double> a(40 * 30);
  for (std::size_t index = 0; index < a.size(); ++index) a[index] = static_cast<double>(index);
  const std::string a_path = save("a.npy", TensorDesc(DataType::f64, {40, 30}), a.data());
  // The transpose needs 19 KB whole: an 8 KiB host budget slices it, and the
  // report counts the blocks.
  const CommandResult result = run("run 'ij->ji' " + a_path + " -o " + file("out.npy").string() +
                                   " --backend host --memory-limit 8KiB --report --explain");
  ASSERT_EQ(result.status, 0) << result.err;
  EXPECT_TRUE(contains(result.out, "execution: host backend")) << result.out;
  EXPECT_TRUE(contains(result.out, "on the calling thread (no device")) << result.out;
  EXPECT_FALSE(contains(result.out, "host -> device")) << result.out;
  EXPECT_TRUE(contains(result.out, "blocks, loop order")) << result.out;
  EXPECT_FALSE(contains(result.out, "1 block(s)")) << result.out;
}

// The host backend's trace has one span per op of every block on its
// "host compute" track, and the temporary file it went through is gone.
TEST_F(Cli, RunTraceWritesAChromeTrace) {
  std::vector<double> a(40 * 30);
  for (std::size_t index = 0; index < a.size(); ++index) a[index] = static_cast<double>(index);
  const std::string a_path = save("a.npy", TensorDesc(DataType::f64, {40, 30}), a.data());
  const std::string trace_path = file("trace.json").string();
  const CommandResult result = run("run 'ij->ji' " + a_path + " -o " + file("out.npy").string() +
                                   " --backend host --memory-limit 8KiB --trace " + trace_path);
  ASSERT_EQ(result.status, 0) << result.err;
  const std::string text = read_text(trace_path);
  ASSERT_FALSE(text.empty());
  EXPECT_EQ(text.front(), '{') << text;
  EXPECT_TRUE(contains(text, "traceEvents")) << text;
  const nlohmann::json trace = nlohmann::json::parse(text);
  EXPECT_TRUE(trace.at("traceEvents").is_array()) << text;
  int spans = 0;
  for (const auto& event : trace.at("traceEvents")) {
    if (event.value("ph", "") == "X") ++spans;
  }
  EXPECT_GT(spans, 1) << text;  // the 8 KiB budget cuts the transpose into blocks
  EXPECT_TRUE(contains(text, "host compute")) << text;
  EXPECT_TRUE(contains(text, "block 1: op 0 permute")) << text;
  for (const auto& entry : fs::directory_iterator(directory_)) {
    EXPECT_FALSE(contains(entry.path().filename().string(), ".tmp-")) << entry.path();
  }
  EXPECT_TRUE(fs::exists(file("out.npy")));
}

// The trace file is created before the work starts, so a bad path costs no
// execution and leaves no output.
TEST_F(Cli, RunTraceToAMissingDirectoryFailsBeforeExecuting) {
  const std::vector<float> x = {1, 2, 3};
  const std::string x_path = save("x.npy", TensorDesc(DataType::f32, {3}), x.data());
  const std::string trace_path = file("missing/trace.json").string();
  const CommandResult result = run("run 'i->i' " + x_path + " -o " + file("out.npy").string() +
                                   " --backend host --trace " + trace_path);
  EXPECT_EQ(result.status, 1);
  EXPECT_TRUE(contains(result.err, "cannot write the trace file '" + trace_path + "'"))
      << result.err;
  EXPECT_FALSE(fs::exists(file("out.npy")));
  EXPECT_FALSE(fs::exists(trace_path));
}

TEST_F(Cli, RunExplainPrintsThePlan) {
  const std::vector<float> x = {1, 2, 3};
  const std::string path = save("x.npy", TensorDesc(DataType::f32, {3}), x.data());
  const CommandResult result = run("run 'i,i->' " + path + " " + path + " -o " +
                                   file("dot.npy").string() + " --explain --path naive");
  ASSERT_EQ(result.status, 0) << result.err;
  EXPECT_TRUE(contains(result.out, "einstream plan for 'i,i->'"));
  EXPECT_TRUE(contains(result.out, "path          naive"));
  const detail::NpyArray dot = detail::read_npy(file("dot.npy").string());
  EXPECT_EQ(reinterpret_cast<const float*>(dot.data.data())[0], 14.0f);
  EXPECT_FALSE(contains(result.out, "program:")) << result.out;
  const CommandResult program = run("run 'i,i->' " + path + " " + path + " -o " +
                                    file("dot.npy").string() + " --explain=program");
  ASSERT_EQ(program.status, 0) << program.err;
  EXPECT_TRUE(contains(program.out, "einstream plan for 'i,i->'")) << program.out;
  EXPECT_TRUE(contains(program.out, "program:")) << program.out;
}

// `einstream devices` lists "device 0: ..." when a GPU is usable.
bool gpu_visible(const CommandResult& devices) { return contains(devices.out, "device 0:"); }

TEST_F(Cli, RunFailuresReportOnStderrAndLeaveTheOutputAlone) {
  const std::vector<double> a = {1, 2, 3, 4};
  const std::string a_path = save("a.npy", TensorDesc(DataType::f64, {2, 2}), a.data());
  const std::string c_path = save("c.npy", TensorDesc(DataType::f64, {4}), a.data());
  // Without a GPU (or without the CUDA backend) --backend cuda is refused;
  // with one, a 16-byte device budget is too small for any block.
  const bool gpu = gpu_visible(run("devices"));
  const fs::path output = file("out.npy");
  {
    std::ofstream existing(output);
    existing << "previous contents";
  }
  struct Failure {
    std::string arguments;
    std::string message;
  };
  const std::vector<Failure> failures = {
      {"run 'ij,jk->ix' " + a_path + " " + a_path, "'x' at position 8 is not in any input"},
      {"run 'ij,jk->ik' " + a_path + " " + c_path, "operand 1"},
      {"run 'ij,jk->ik' " + a_path, "expression has 2 operands but 1 shape was given"},
      {"run 'ij->i' " + a_path + " --memory-limit 3XB", "unknown suffix"},
      {"run 'ij->i' " + a_path + " --memory-limit ''", "invalid memory limit ''"},
      {"run 'ij->i' " + a_path + " --memory-limit 1e30", "out of range"},
      {"run 'ij->i' " + a_path + " --memory-limit 0x10", "hexadecimal"},
      {"run 'ij->i' " + a_path + " --backend cuda --memory-limit 16B",
       gpu ? "memory limit is 16 bytes" : "backend 'cuda'"},
      {"run 'ij->i' " + file("missing.npy").string(), "missing.npy': the file does not exist"},
      {"run 'ij->i' " + a_path + " --devices 0,,1", "'' is no device ordinal"},
      {"run 'ij->i' " + a_path + " --devices 0,gpu1", "'gpu1' is no device ordinal"},
      {"run 'ij->i' " + a_path + " --devices -1", "'-1' is no device ordinal"},
      {"run 'ij->i' " + a_path + " --backend cuda --devices 0,4096",
       gpu ? "device 4096 does not exist" : "backend 'cuda'"},
  };
  for (const Failure& failure : failures) {
    SCOPED_TRACE(failure.arguments);
    const CommandResult result = run(failure.arguments + " -o " + output.string());
    EXPECT_NE(result.status, 0);
    // The CUDA backend may word a too-small budget at either stage.
    EXPECT_TRUE(contains(result.err, failure.message) ||
                (gpu && contains(failure.arguments, "--backend cuda") &&
                 contains(result.err, "backend 'cuda'")))
        << result.err;
    EXPECT_EQ(read_text(output), "previous contents");
  }
  // Nothing left behind beside the output either.
  int files = 0;
  for (const auto& entry : fs::directory_iterator(directory_)) {
    files += contains(entry.path().filename().string(), "out.npy") ? 1 : 0;
  }
  EXPECT_EQ(files, 1);
}

// -o goes through a temporary file renamed over the target, which would
// replace a link or a device node with a regular file: anything but a
// regular file or a new name is refused before any work, and left as it is.
TEST_F(Cli, RunOutputMustBeARegularFileOrANewName) {
  const std::vector<double> a = {1, 2, 3, 4};
  const std::string a_path = save("a.npy", TensorDesc(DataType::f64, {2, 2}), a.data());
  const fs::path target = file("target.npy");
  {
    std::ofstream existing(target);
    existing << "previous contents";
  }
  const fs::path link = file("link.npy");
  fs::create_symlink(target, link);
  const fs::path dangling = file("dangling.npy");
  fs::create_symlink(file("nowhere.npy"), dangling);
  const fs::path fifo = file("fifo.npy");
  ASSERT_EQ(mkfifo(fifo.c_str(), 0600), 0);
  const fs::path directory = file("subdirectory");
  fs::create_directories(directory);
  struct Refusal {
    std::string output;
    std::string message;
  };
  const std::vector<Refusal> refusals = {
      {link.string(), "is a symbolic link"},
      {dangling.string(), "is a symbolic link"},
      {fifo.string(), "is a FIFO"},
      {"/dev/null", "is a device"},
      {directory.string(), "is a directory"},
      {directory.string() + "/", "names a directory"},
      {file("missing/out.npy").string(), "does not exist"},
  };
  for (const Refusal& refusal : refusals) {
    SCOPED_TRACE(refusal.output);
    // --explain would print the plan: nothing is planned before the check.
    const CommandResult result =
        run("run 'ij->ji' " + a_path + " --explain -o '" + refusal.output + "'");
    EXPECT_EQ(result.status, 1);
    EXPECT_TRUE(contains(result.err, "cannot write the output file '" + refusal.output + "'"))
        << result.err;
    EXPECT_TRUE(contains(result.err, refusal.message)) << result.err;
    EXPECT_TRUE(contains(result.err, "expected a regular file")) << result.err;
    EXPECT_TRUE(result.out.empty()) << result.out;
  }
  EXPECT_TRUE(fs::is_symlink(link));
  EXPECT_TRUE(fs::is_symlink(dangling));
  EXPECT_FALSE(fs::exists(file("nowhere.npy")));
  EXPECT_TRUE(fs::is_fifo(fifo));
  EXPECT_TRUE(fs::is_character_file("/dev/null"));
  EXPECT_TRUE(fs::is_empty(directory));
  EXPECT_EQ(read_text(target), "previous contents");
  // bench --save-output writes the same way and is refused the same way.
  const CommandResult bench =
      run("bench 'ij->i' --shapes '[[2,3]]' --backend host --repeat 1 "
          "--save-output '" +
          link.string() + "'");
  EXPECT_NE(bench.status, 0);
  EXPECT_TRUE(contains(bench.err, "is a symbolic link")) << bench.err;
  EXPECT_TRUE(fs::is_symlink(link));
  // A regular file is replaced, as before.
  const CommandResult replaced = run("run 'ij->ji' " + a_path + " -o " + target.string());
  ASSERT_EQ(replaced.status, 0) << replaced.err;
  const detail::NpyArray transposed = detail::read_npy(target.string());
  const auto* values = reinterpret_cast<const double*>(transposed.data.data());
  EXPECT_EQ(std::vector<double>(values, values + 4), (std::vector<double>{1, 3, 2, 4}));
  EXPECT_TRUE(fs::is_symlink(link));
}

TEST_F(Cli, RunTraceRefusesASymbolicLink) {
  const std::vector<float> x = {1, 2, 3};
  const std::string x_path = save("x.npy", TensorDesc(DataType::f32, {3}), x.data());
  const fs::path link = file("trace.json");
  fs::create_symlink(file("elsewhere.json"), link);
  const CommandResult result = run("run 'i->i' " + x_path + " -o " + file("out.npy").string() +
                                   " --backend host --trace " + link.string());
  EXPECT_EQ(result.status, 1);
  EXPECT_TRUE(contains(result.err, "cannot write the trace file")) << result.err;
  EXPECT_TRUE(contains(result.err, "symbolic link")) << result.err;
  EXPECT_TRUE(fs::is_symlink(link));
  EXPECT_FALSE(fs::exists(file("out.npy")));
}

// numpy: np.einsum('ij->...ji', a) is a.T (the ellipsis covers nothing).
TEST_F(Cli, RunAcceptsAnOutputEllipsisWhenNoInputHasOne) {
  const std::vector<double> a = {1, 2, 3, 4, 5, 6};  // 2x3
  const std::string a_path = save("a.npy", TensorDesc(DataType::f64, {2, 3}), a.data());
  const CommandResult result = run("run 'ij->...ji' " + a_path + " -o " + file("t.npy").string());
  ASSERT_EQ(result.status, 0) << result.err;
  const detail::NpyArray t = detail::read_npy(file("t.npy").string());
  EXPECT_EQ(t.desc.extents, (std::vector<std::int64_t>{3, 2}));
  const auto* values = reinterpret_cast<const double*>(t.data.data());
  EXPECT_EQ(std::vector<double>(values, values + 6), (std::vector<double>{1, 4, 2, 5, 3, 6}));
}

// `count` elements of `data` in dtype `from`, converted to `to`.
std::vector<unsigned char> converted(DataType from, const std::vector<unsigned char>& data,
                                     DataType to) {
  const std::int64_t count = static_cast<std::int64_t>(data.size() / size_of(from));
  std::vector<unsigned char> result(static_cast<std::size_t>(count) * size_of(to));
  for (std::int64_t index = 0; index < count; ++index) {
    testing::set_element(to, result.data(), index, testing::element(from, data.data(), index));
  }
  return result;
}

// As numpy.einsum: f16+f16 -> f16, f16+f32 -> f32, f32+f64 -> f64, f32+c64
// -> c64, f64+c64 -> c128, anything with c128 -> c128; the result is written in the promoted dtype
// and matches the reference run on the inputs converted to it.
TEST_F(Cli, RunPromotesMixedDtypesAsNumpyDoes) {
  struct Case {
    std::vector<DataType> dtypes;
    DataType promoted;
  };
  const DataType f32 = DataType::f32, f64 = DataType::f64, c64 = DataType::c64,
                 c128 = DataType::c128, f16 = DataType::f16;
  const std::vector<Case> cases = {
      {{f32, f64}, f64},       {{f64, f32}, f64},   {{f32, c64}, c64},
      {{f64, c64}, c128},      {{c64, f64}, c128},  {{f32, c128}, c128},
      {{f64, c128}, c128},     {{c64, c128}, c128}, {{f32, f32, f64}, f64},
      {{f32, c64, f64}, c128}, {{f16, f16}, f16},   {{f16, f32}, f32},
      {{f64, f16}, f64},       {{f16, c64}, c64},   {{f16, f16, c128}, c128},
  };
  std::mt19937 random(23);
  int index = 0;
  for (const Case& c : cases) {
    const bool three = c.dtypes.size() == 3;
    const std::string expression = three ? "ij,jk,k->i" : "ij,jk->ik";
    const std::vector<std::vector<std::int64_t>> shapes =
        three ? std::vector<std::vector<std::int64_t>>{{3, 4}, {4, 5}, {5}}
              : std::vector<std::vector<std::int64_t>>{{3, 4}, {4, 5}};
    std::string arguments = "run '" + expression + "'";
    std::vector<std::vector<unsigned char>> promoted_inputs;
    std::vector<detail::ReferenceInput> reference_inputs;
    std::vector<TensorDesc> promoted_descs;
    std::vector<const void*> promoted_pointers;
    for (std::size_t operand = 0; operand < shapes.size(); ++operand) {
      const TensorDesc desc(c.dtypes[operand], shapes[operand]);
      const std::vector<unsigned char> data =
          testing::random_tensor(desc.dtype, desc.element_count(), random);
      arguments += " " + save("in" + std::to_string(index++) + ".npy", desc, data.data());
      promoted_inputs.push_back(converted(desc.dtype, data, c.promoted));
    }
    for (std::size_t operand = 0; operand < shapes.size(); ++operand) {
      reference_inputs.push_back({promoted_inputs[operand].data(), c.promoted,
                                  TensorDesc(c.promoted, shapes[operand]).effective_strides()});
      promoted_descs.emplace_back(c.promoted, shapes[operand]);
      promoted_pointers.push_back(promoted_inputs[operand].data());
    }
    std::string names;
    for (DataType dtype : c.dtypes) names += std::string(to_string(dtype)) + " ";
    SCOPED_TRACE(names + "-> " + to_string(c.promoted));
    const std::string output = file("out.npy").string();
    const CommandResult result = run(arguments + " --backend host -o " + output);
    ASSERT_EQ(result.status, 0) << result.err;
    const detail::NpyArray actual = detail::read_npy(output);
    EXPECT_EQ(actual.desc.dtype, c.promoted);
    const detail::Problem problem = detail::parse(expression, shapes);
    ASSERT_EQ(actual.desc.extents, problem.output_extents());
    std::vector<unsigned char> expected(actual.data.size());
    detail::reference_einsum(problem, reference_inputs,
                             {expected.data(), c.promoted, c_order_strides(actual.desc.extents)});
    const double bound =
        testing::terms_bound(expression, promoted_descs, promoted_pointers,
                             TensorDesc(c.promoted, actual.desc.extents), nullptr, 1.0, 0.0);
    EXPECT_LE(testing::error_against_reference(c.promoted, actual.data.data(), expected.data(),
                                               actual.desc.element_count(), bound),
              testing::tolerance(c.promoted));
    fs::remove(output);
  }
}

TEST_F(Cli, MistypedCommandsAndOptionsAreNamed) {
  const std::vector<double> a = {1, 2, 3, 4};
  const std::string a_path = save("a.npy", TensorDesc(DataType::f64, {2, 2}), a.data());
  const std::string out = " -o " + file("out.npy").string();
  struct Failure {
    std::string arguments;
    std::vector<std::string> messages;
  };
  const std::vector<Failure> failures = {
      {"rn 'ij->i' " + a_path + out, {"unknown command 'rn'", "did you mean 'run'?"}},
      {"benhc", {"unknown command 'benhc'", "did you mean 'bench'?"}},
      {"frobnicate", {"unknown command 'frobnicate'", "expected run, path"}},
      {"run 'ij->i' " + a_path + out + " --backed host", {"--backed", "did you mean '--backend'?"}},
      {"run 'ij->i' " + a_path + out + " --memory-limt 1G", {"--memory-limt", "'--memory-limit'"}},
      {"run 'ij,jk->ik' " + a_path + " " + file("missing.npy").string() + out,
       {"input 1 '" + file("missing.npy").string() + "': the file does not exist"}},
      {"run 'ij->i' " + directory_.string() + out, {"is a directory, not a .npy file"}},
  };
  for (const Failure& failure : failures) {
    SCOPED_TRACE(failure.arguments);
    const CommandResult result = run(failure.arguments);
    EXPECT_NE(result.status, 0);
    for (const std::string& message : failure.messages) {
      EXPECT_TRUE(contains(result.err, message)) << message << " in\n" << result.err;
    }
    EXPECT_FALSE(contains(result.err, "shape was given")) << result.err;
    EXPECT_FALSE(fs::exists(file("out.npy")));
  }
}

// "->" (one scalar operand) starts with '-' but is an expression, not an
// option, wherever it stands.
TEST_F(Cli, ExpressionsStartingWithAnArrowAreNotOptions) {
  const double scalar = 2.5;
  const std::string s_path = save("s.npy", TensorDesc(DataType::f64, {}), &scalar);
  for (const std::string& arguments :
       {"run '->' " + s_path + " -o " + file("out.npy").string(),
        "run -o " + file("out.npy").string() + " --backend host '->' " + s_path,
        "run '->...' " + s_path + " -o " + file("out.npy").string()}) {
    SCOPED_TRACE(arguments);
    const CommandResult result = run(arguments);
    ASSERT_EQ(result.status, 0) << result.err;
    const detail::NpyArray out = detail::read_npy(file("out.npy").string());
    EXPECT_TRUE(out.desc.extents.empty());
    EXPECT_EQ(reinterpret_cast<const double*>(out.data.data())[0], 2.5);
    fs::remove(file("out.npy"));
  }
  const CommandResult path = run("path '->' --shapes '[[]]' --json");
  EXPECT_EQ(path.status, 0) << path.err;
  // Errors in such an expression keep their positions.
  const CommandResult bad = run("run '->x' " + s_path + " -o " + file("out.npy").string());
  EXPECT_EQ(bad.status, 1);
  EXPECT_TRUE(contains(bad.err, "'x' at position 2")) << bad.err;
}

// Starts the CLI with `arguments`, stdout to a pipe (returned in *stdout_fd)
// and stderr to `stderr_path`; returns its pid.
pid_t spawn_cli(const std::vector<std::string>& arguments, const fs::path& stderr_path,
                int* stdout_fd) {
  int pipe_fds[2];
  if (pipe(pipe_fds) != 0) return -1;
  const pid_t pid = fork();
  if (pid == 0) {
    dup2(pipe_fds[1], STDOUT_FILENO);
    const int err = open(stderr_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
    dup2(err, STDERR_FILENO);
    close(pipe_fds[0]);
    std::vector<char*> argv;
    argv.push_back(const_cast<char*>(EINSTREAM_CLI));
    for (const std::string& argument : arguments)
      argv.push_back(const_cast<char*>(argument.c_str()));
    argv.push_back(nullptr);
    execv(EINSTREAM_CLI, argv.data());
    _exit(127);
  }
  close(pipe_fds[1]);
  *stdout_fd = pipe_fds[0];
  return pid;
}

// SIGINT while the host backend computes: the process ends promptly with
// status 130 and "interrupted", and leaves neither the output nor a
// temporary file (the trace's temporary exists from the start).
TEST_F(Cli, RunInterruptedBySigintLeavesNoFiles) {
  // A 1024^3 f64 product: several seconds on the host backend.
  constexpr std::int64_t kExtent = 1024;
  std::vector<double> a(static_cast<std::size_t>(kExtent * kExtent), 0.5);
  const std::string a_path = save("a.npy", TensorDesc(DataType::f64, {kExtent, kExtent}), a.data());
  const fs::path output = file("out.npy");
  const fs::path trace = file("trace.json");
  int stdout_fd = -1;
  const pid_t pid =
      spawn_cli({"run", "ik,kj,jl->il", a_path, a_path, a_path, "-o", output.string(), "--backend",
                 "host", "--path", "naive", "--explain", "--trace", trace.string()},
                file("stderr.txt"), &stdout_fd);
  ASSERT_GT(pid, 0);
  // --explain prints the plan just before executing: wait for it.
  pollfd ready{stdout_fd, POLLIN, 0};
  ASSERT_EQ(poll(&ready, 1, 60000), 1) << "the CLI printed no plan within 60 s";
  char byte = 0;
  ASSERT_EQ(read(stdout_fd, &byte, 1), 1);
  ASSERT_EQ(kill(pid, SIGINT), 0);
  int raw = 0;
  pid_t ended = 0;
  // Generous, only so that a hang fails instead of blocking the suite.
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
  while ((ended = waitpid(pid, &raw, WNOHANG)) == 0 &&
         std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  if (ended == 0) {
    kill(pid, SIGKILL);
    waitpid(pid, &raw, 0);
    FAIL() << "the CLI did not end within 60 s of SIGINT";
  }
  close(stdout_fd);
  ASSERT_TRUE(WIFEXITED(raw)) << "ended by signal " << (WIFSIGNALED(raw) ? WTERMSIG(raw) : 0);
  EXPECT_EQ(WEXITSTATUS(raw), 130);
  const std::string err = read_text(file("stderr.txt"));
  EXPECT_TRUE(contains(err, "einstream: interrupted")) << err;
  EXPECT_FALSE(fs::exists(output));
  EXPECT_FALSE(fs::exists(trace));
  for (const auto& entry : fs::directory_iterator(directory_)) {
    EXPECT_FALSE(contains(entry.path().filename().string(), ".tmp-")) << entry.path();
  }
}

// A header-only .npy file (no data) whose header says `shape` and '<f8'.
std::string header_only_npy(const std::string& shape) {
  std::string header = "{'descr': '<f8', 'fortran_order': False, 'shape': " + shape + ", }";
  header += std::string(64 - (10 + header.size() + 1) % 64, ' ') + "\n";
  std::string file = "\x93NUMPY";
  file += '\x01';
  file += '\x00';
  file += static_cast<char>(header.size() & 0xFF);
  file += static_cast<char>((header.size() >> 8) & 0xFF);
  return file + header;
}

// Regression: a crafted header whose result's byte count wraps 64 bits used
// to allocate 32 KiB and overflow it (heap-buffer-overflow in the host
// executor's store); results too large for the machine used to hang.
TEST_F(Cli, RunRefusesResultsWhoseSizeOverflowsOrExceedsMemory) {
  struct Crafted {
    std::string shape;
    std::string message;
  };
  const std::vector<Crafted> cases = {
      {"(0, 2305843009213698048)", "does not fit a signed 64-bit integer"},
      {"(0, 9223372036854775807)", "does not fit a signed 64-bit integer"},
      {"(0, 1152921504606846976)", "does not fit a signed 64-bit integer"},
      {"(0, 1099511627776)", "bytes of host memory"},
  };
  const fs::path output = file("out.npy");
  for (const Crafted& crafted : cases) {
    SCOPED_TRACE(crafted.shape);
    const fs::path input = file("crafted.npy");
    {
      std::ofstream stream(input, std::ios::binary);
      stream << header_only_npy(crafted.shape);
    }
    const CommandResult result =
        run("run 'ij->j' '" + input.string() + "' -o '" + output.string() + "' --backend host");
    EXPECT_EQ(result.status, 1) << result.err;
    EXPECT_TRUE(contains(result.err, crafted.message)) << result.err;
    EXPECT_FALSE(fs::exists(output));
  }
}

TEST_F(Cli, PathRefusesShapesWhoseSizeOverflows) {
  const CommandResult result = run("path 'ij,jk->ik' --shapes '[[9223372036854775807,3],[3,4]]'");
  EXPECT_NE(result.status, 0);
  EXPECT_TRUE(contains(result.err, "does not fit a signed 64-bit integer")) << result.err;
}

TEST_F(Cli, PathJsonIsOneObjectInOptEinsumFormat) {
  const CommandResult result =
      run("path 'ij,jk,k->i' --shapes '[[100,100],[100,100],[100]]' --json");
  ASSERT_EQ(result.status, 0) << result.err;
  EXPECT_TRUE(contains(result.out, "\"path\":[[1,2],[0,1]]")) << result.out;
  EXPECT_TRUE(contains(result.out, "\"flops\":40000")) << result.out;
  EXPECT_TRUE(contains(result.out, "\"largest_intermediate\":100")) << result.out;
  EXPECT_TRUE(contains(result.out, "\"seconds\":")) << result.out;
  const CommandResult scalar = run("path ',->' --shapes '[[],[]]' --json");
  ASSERT_EQ(scalar.status, 0) << scalar.err;
  EXPECT_TRUE(contains(scalar.out, "\"path\":[[0,1]]")) << scalar.out;
}

std::string write_text(const fs::path& path, const std::string& text) {
  std::ofstream(path, std::ios::binary) << text;
  return path.string();
}

// A path printed by `path --json` given back with --given-path plans that
// path; `run` computes along it; malformed JSON and bad steps are named.
TEST_F(Cli, GivenPathsArePlannedAndRunAsGiven) {
  const std::string problem = "path 'ij,jk,k->i' --shapes '[[100,100],[100,100],[100]]' --json";
  const CommandResult given = run(problem + " --given-path '[[0,1],[0,1]]'");
  ASSERT_EQ(given.status, 0) << given.err;
  EXPECT_TRUE(contains(given.out, "\"path\":[[0,1],[0,1]]")) << given.out;
  EXPECT_TRUE(contains(given.out, "\"flops\":2020000")) << given.out;
  const CommandResult text =
      run("path 'ij,jk,k->i' --shapes '[[100,100],[100,100],[100]]' "
          "--given-path '[[0,1],[0,1]]'");
  ASSERT_EQ(text.status, 0) << text.err;
  EXPECT_TRUE(contains(text.out, "given (Options::given_path)")) << text.out;

  const std::vector<double> a = {1, 2, 3, 4, 5, 6};  // 2x3
  const std::vector<double> b = {1, 0, 2, 1, 0, 3};  // 3x2
  const std::vector<double> v = {1, -1};
  const std::string inputs = save("a.npy", TensorDesc(DataType::f64, {2, 3}), a.data()) + " " +
                             save("b.npy", TensorDesc(DataType::f64, {3, 2}), b.data()) + " " +
                             save("v.npy", TensorDesc(DataType::f64, {2}), v.data());
  const CommandResult ran = run("run 'ij,jk,k->i' " + inputs + " --given-path '[[1,2],[0,1]]' -o " +
                                file("c.npy").string());
  ASSERT_EQ(ran.status, 0) << ran.err;
  const detail::NpyArray c = detail::read_npy(file("c.npy").string());
  const auto* values = reinterpret_cast<const double*>(c.data.data());
  // [[5, 11], [14, 23]] times (1, -1).
  EXPECT_EQ(std::vector<double>(values, values + 2), (std::vector<double>{-6, -9}));

  const CommandResult malformed = run(problem + " --given-path '[[0,1],'");
  EXPECT_NE(malformed.status, 0);
  EXPECT_TRUE(contains(malformed.err, "--given-path is not valid JSON")) << malformed.err;
  const CommandResult position = run(problem + " --given-path '[[0,1],[0,-1]]'");
  EXPECT_NE(position.status, 0);
  EXPECT_TRUE(contains(position.err, "--given-path step 1 has position -1")) << position.err;
  const CommandResult range = run(problem + " --given-path '[[0,1],[0,2]]'");
  EXPECT_NE(range.status, 0);
  EXPECT_TRUE(contains(range.err, "given_path step 1 names operand 2")) << range.err;
  EXPECT_TRUE(contains(run(problem + " --given-path '[]'").err,
                       "--given-path is []: expected a non-empty array"));
  // `path --json`'s output, saved, is a --given-path file.
  const std::string saved = write_text(file("path.json"), given.out);
  const CommandResult from_file = run(problem + " --given-path @" + saved);
  ASSERT_EQ(from_file.status, 0) << from_file.err;
  EXPECT_TRUE(contains(from_file.out, "\"path\":[[0,1],[0,1]]")) << from_file.out;
  const std::string bare = write_text(file("bare.json"), "[[1,2],[0,1]]");
  EXPECT_TRUE(contains(run(problem + " --given-path @" + bare).out, "\"flops\":40000"));
  EXPECT_TRUE(
      contains(run(problem + " --given-path @" + file("none.json").string()).err,
               "--given-path file '" + file("none.json").string() + "': the file does not exist"));
  const CommandResult bench =
      run("bench 'ij,jk,k->i' --shapes '[[8,8],[8,8],[8]]' --backend host --repeat 1 "
          "--warmup 0 --json --given-path '[[0,1],[0,1]]'");
  ASSERT_EQ(bench.status, 0) << bench.err;
  EXPECT_TRUE(contains(bench.out, "\"path_algorithm\":\"given\"")) << bench.out;
  EXPECT_TRUE(contains(bench.out, "\"path\":[[0,1],[0,1]]")) << bench.out;
}

TEST_F(Cli, PathAlgorithmsAndSearchFlags) {
  // Every algorithm by name; the exact ones agree on the optimum.
  for (const char* algorithm : {"auto", "naive", "greedy", "optimal", "dp", "random-greedy"}) {
    SCOPED_TRACE(algorithm);
    const CommandResult result =
        run(std::string("path 'ij,jk,k->i' --shapes '[[100,100],[100,100],[100]]' --json --path ") +
            algorithm + " --path-trials 8 --path-seconds 0.5 --path-seed 3");
    ASSERT_EQ(result.status, 0) << result.err;
    if (std::string(algorithm) != "naive") {
      EXPECT_TRUE(contains(result.out, "\"flops\":40000")) << result.out;
    }
  }
  // ab,bd,a->a: the cheapest order (183 flops) forms an 8-element
  // intermediate; under a 28-byte cap (7 f32 elements) the best costs 455.
  const std::string problem = "path 'ab,bd,a->a' --shapes '[[7,8],[8,4],[7]]' --json";
  const CommandResult free = run(problem);
  ASSERT_EQ(free.status, 0) << free.err;
  EXPECT_TRUE(contains(free.out, "\"flops\":183")) << free.out;
  EXPECT_TRUE(contains(free.out, "\"largest_intermediate\":8")) << free.out;
  const CommandResult capped = run(problem + " --max-intermediate 28B");
  ASSERT_EQ(capped.status, 0) << capped.err;
  EXPECT_TRUE(contains(capped.out, "\"flops\":455")) << capped.out;
  EXPECT_TRUE(contains(capped.out, "\"largest_intermediate\":7")) << capped.out;
  // A fraction is no size for an intermediate; unknown algorithms are refused.
  const CommandResult fraction = run(problem + " --max-intermediate 0.5");
  EXPECT_NE(fraction.status, 0);
  EXPECT_TRUE(contains(fraction.err, "--max-intermediate")) << fraction.err;
  EXPECT_TRUE(contains(fraction.err, "a size is no share of device memory")) << fraction.err;
  EXPECT_TRUE(contains(run(problem + " --max-intermediate 50%").err, "no share of device memory"));
  // Its errors name the option, not a memory limit; a bare 28 is ambiguous.
  const CommandResult suffix = run(problem + " --max-intermediate 1x");
  EXPECT_NE(suffix.status, 0);
  EXPECT_TRUE(contains(suffix.err, "invalid --max-intermediate size '1x': unknown suffix 'x'"))
      << suffix.err;
  EXPECT_FALSE(contains(suffix.err, "memory limit")) << suffix.err;
  const CommandResult bare = run(problem + " --max-intermediate 28");
  EXPECT_NE(bare.status, 0);
  EXPECT_TRUE(contains(bare.err, "ambiguous")) << bare.err;
  EXPECT_TRUE(contains(bare.err, "'28B' for bytes")) << bare.err;
  // A trial count below 1 names the range, not a 300-digit bound.
  const CommandResult trials = run(problem + " --path-trials 0");
  EXPECT_NE(trials.status, 0);
  EXPECT_TRUE(contains(trials.err, "--path-trials")) << trials.err;
  EXPECT_TRUE(contains(trials.err, "1 to 2147483647")) << trials.err;
  EXPECT_LT(trials.err.size(), 300u) << trials.err;
  // (The message's length in characters: the old one held a 300-digit bound.)
  const CommandResult negative = run(problem + " --path-seconds -1");
  EXPECT_NE(negative.status, 0);
  EXPECT_TRUE(contains(negative.err, "expected a number of seconds >= 0 (0: no limit), got '-1'"))
      << negative.err;
  EXPECT_LT(negative.err.size(), 300u) << negative.err;
  EXPECT_NE(run(problem + " --path best").status, 0);
}

TEST_F(Cli, PathTextShowsTheSteps) {
  const CommandResult result =
      run("path 'ij,jk,kl->il' --shapes '[[2,3],[3,4],[4,5]]' --path naive");
  ASSERT_EQ(result.status, 0) << result.err;
  EXPECT_TRUE(contains(result.out, "ij,jk->ik")) << result.out;
  EXPECT_TRUE(contains(result.out, "kl,ik->il")) << result.out;  // the running result is last
}

// The table is the summary; --explain=program adds the lowered program, and
// an unknown detail names the accepted ones; --json excludes --explain.
TEST_F(Cli, PathExplainLevels) {
  const std::string problem = "path 'ij,jk,kl->il' --shapes '[[2,3],[3,4],[4,5]]' --path naive";
  const CommandResult summary = run(problem);
  ASSERT_EQ(summary.status, 0) << summary.err;
  EXPECT_TRUE(contains(summary.out, "speedup")) << summary.out;
  EXPECT_TRUE(contains(summary.out, "remaining")) << summary.out;
  EXPECT_FALSE(contains(summary.out, "program:")) << summary.out;
  const CommandResult program = run(problem + " --explain=program");
  ASSERT_EQ(program.status, 0) << program.err;
  EXPECT_TRUE(contains(program.out, "program:")) << program.out;
  EXPECT_TRUE(contains(program.out, "[step 1] gemm")) << program.out;
  const CommandResult unknown = run(problem + " --explain=full");
  EXPECT_NE(unknown.status, 0);
  EXPECT_TRUE(contains(unknown.err, "--explain")) << unknown.err;
  EXPECT_TRUE(contains(unknown.err, "program")) << unknown.err;
  EXPECT_NE(run(problem + " --json --explain=program").status, 0);
}

TEST_F(Cli, PathRejectsMalformedShapes) {
  for (const char* shapes :
       {"'[[1e400]]'", "'[[2,3]'", "'{\"a\":1}'", "'[[2,-3]]'", "'[[2.5]]'", "'[3]'"}) {
    SCOPED_TRACE(shapes);
    const CommandResult result = run(std::string("path 'ij' --shapes ") + shapes);
    EXPECT_NE(result.status, 0);
    EXPECT_TRUE(contains(result.err, "--shapes")) << result.err;
  }
}

// --network FILE.json: the integer-mode form of `path` and `run`.

// A network file's "path" is planned as --given-path would be, checked as
// the rest of the file is, and may not come with --given-path.
TEST_F(Cli, NetworkFilesCarryAPath) {
  const std::string chain =
      R"({"inputs": [[0, 1], [1, 2], [2]], "output": [0], "extents": {"0": 100, "1": 100, "2": 100},)";
  const std::string given = write_text(file("given.json"), chain + R"( "path": [[0, 1], [0, 1]]})");
  const CommandResult result = run("path --network '" + given + "' --json");
  ASSERT_EQ(result.status, 0) << result.err;
  EXPECT_TRUE(contains(result.out, "\"path\":[[0,1],[0,1]]")) << result.out;
  EXPECT_TRUE(contains(result.out, "\"flops\":2020000")) << result.out;
  const CommandResult both = run("path --network '" + given + "' --given-path '[[1,2],[0,1]]'");
  EXPECT_NE(both.status, 0);
  EXPECT_TRUE(contains(both.err, "gives a \"path\" and --given-path another")) << both.err;
  const std::string bad = write_text(file("bad.json"), chain + R"( "path": [[0, 1], [0, "x"]]})");
  const CommandResult refused = run("path --network '" + bad + "'");
  EXPECT_NE(refused.status, 0);
  EXPECT_TRUE(contains(refused.err, "path step 1 has position \"x\"")) << refused.err;
  const std::string range = write_text(file("range.json"), chain + R"( "path": [[0, 3]]})");
  EXPECT_TRUE(
      contains(run("path --network '" + range + "'").err, "given_path step 0 names operand 3"));
}

// A 200-tensor ring (tensor k holds modes k and k+1 mod 200, bond 2, a
// scalar result) has more modes than letters; its path must be a valid
// linear path that contracts every operand into one.
TEST_F(Cli, PathNetworkPlansA200TensorRing) {
  constexpr int kTensors = 200;
  nlohmann::json network;
  network["inputs"] = nlohmann::json::array();
  network["output"] = nlohmann::json::array();
  network["extents"] = nlohmann::json::object();
  for (int k = 0; k < kTensors; ++k) {
    network["inputs"].push_back({k, (k + 1) % kTensors});
    network["extents"][std::to_string(k)] = 2;
  }
  const std::string path = write_text(file("ring.json"), network.dump());
  const CommandResult result = run("path --network '" + path + "' --json");
  ASSERT_EQ(result.status, 0) << result.err;
  const nlohmann::json answer = nlohmann::json::parse(result.out);
  const auto& steps = answer.at("path");
  ASSERT_EQ(steps.size(), static_cast<std::size_t>(kTensors - 1)) << result.out;
  std::size_t operands = kTensors;
  for (const auto& step : steps) {
    ASSERT_EQ(step.size(), 2u) << step.dump();
    const int first = step[0].get<int>();
    const int second = step[1].get<int>();
    EXPECT_NE(first, second);
    EXPECT_GE(std::min(first, second), 0);
    EXPECT_LT(static_cast<std::size_t>(std::max(first, second)), operands);
    --operands;
  }
  EXPECT_EQ(operands, 1u);
  EXPECT_GT(answer.at("flops").get<double>(), 0);
  // A ring contracted well never holds more than a matrix of bond 2 by 2
  // plus the bonds it cut: far below 2^200.
  EXPECT_LT(answer.at("largest_intermediate").get<double>(), 1e6) << result.out;
  // The text form is the plan's step table.
  const CommandResult text = run("path --network '" + path + "' --path greedy");
  ASSERT_EQ(text.status, 0) << text.err;
  EXPECT_FALSE(text.out.empty());
}

TEST_F(Cli, RunNetworkMatchesRunExpression) {
  std::mt19937 random(5);
  const std::vector<std::vector<std::int64_t>> shapes = {{3, 4}, {4, 5}, {5, 3, 2}};
  std::string inputs;
  int index = 0;
  for (const auto& shape : shapes) {
    const TensorDesc desc(DataType::f64, shape);
    const std::vector<unsigned char> data =
        testing::random_tensor(DataType::f64, desc.element_count(), random);
    inputs += " '" + save("in" + std::to_string(index++) + ".npy", desc, data.data()) + "'";
  }
  const CommandResult expected =
      run("run 'ij,jk,kil->li'" + inputs + " -o '" + file("expected.npy").string() + "'");
  ASSERT_EQ(expected.status, 0) << expected.err;
  const detail::NpyArray reference = detail::read_npy(file("expected.npy").string());
  // Mode ids are any integers; extents may be given (and are checked) or not.
  for (const std::string& extents :
       {std::string(), std::string(R"(, "extents": {"10": 3, "-4": 4, "7": 5, "0": 2})")}) {
    SCOPED_TRACE(extents);
    const std::string network = write_text(
        file("network.json"),
        R"({"inputs": [[10, -4], [-4, 7], [7, 10, 0]], "output": [0, 10])" + extents + "}");
    const std::string output = file("actual.npy").string();
    const CommandResult result =
        run("run --network '" + network + "'" + inputs + " -o '" + output + "' --backend host");
    ASSERT_EQ(result.status, 0) << result.err;
    const detail::NpyArray actual = detail::read_npy(output);
    ASSERT_EQ(actual.desc.extents, reference.desc.extents);
    EXPECT_LE(testing::relative_error(DataType::f64, actual.data.data(), reference.data.data(),
                                      actual.desc.element_count()),
              testing::tolerance(DataType::f64));
    fs::remove(output);
  }
}

TEST_F(Cli, RunNetworkChecksTheFilesAgainstTheNetwork) {
  const std::vector<double> a = {1, 2, 3, 4, 5, 6};
  const std::string a_path = save("a.npy", TensorDesc(DataType::f64, {2, 3}), a.data());
  const std::string output = file("out.npy").string();
  struct Failure {
    std::string network;
    std::string message;
  };
  const std::vector<Failure> failures = {
      {R"({"inputs": [[0, 1], [1]], "output": [0]})", "has 2 inputs, but 1 .npy files"},
      {R"({"inputs": [[0]], "output": [0]})", "inputs[0] has 1 modes, but input 0 has 2 axes"},
      {R"({"inputs": [[0, 1]], "output": [0], "extents": {"0": 2, "1": 4}})",
       "inputs[0][1]: mode 1 has extent 4 in the file, but input 0 has extent 3"},
      {R"({"inputs": [[0, 1]], "output": [5]})", "output[0]: mode 5 appears in no input"},
  };
  for (const Failure& failure : failures) {
    SCOPED_TRACE(failure.network);
    const std::string network = write_text(file("network.json"), failure.network);
    const CommandResult result =
        run("run --network '" + network + "' '" + a_path + "' -o '" + output + "' --backend host");
    EXPECT_EQ(result.status, 1) << result.err;
    EXPECT_TRUE(contains(result.err, failure.message)) << result.err;
    EXPECT_FALSE(fs::exists(output));
  }
  const CommandResult no_inputs =
      run("run --network '" + file("network.json").string() + "' -o '" + output + "'");
  EXPECT_EQ(no_inputs.status, 1);
  EXPECT_TRUE(contains(no_inputs.err, "needs the input .npy files")) << no_inputs.err;
  const CommandResult no_expression = run("run -o '" + output + "'");
  EXPECT_NE(no_expression.status, 0);
  EXPECT_TRUE(contains(no_expression.err, "--network")) << no_expression.err;
}

TEST_F(Cli, PathRejectsMalformedNetworkFiles) {
  struct Failure {
    std::string text;
    std::string message;
  };
  const std::string ok_tail = R"(, "output": [], "extents": {"0": 2, "1": 3}})";
  const std::vector<Failure> failures = {
      {"not json", "not valid JSON"},
      {"", "not valid JSON"},
      // Regression (fuzz): a number beyond a double is nlohmann's out_of_range,
      // not a parse_error, and escaped as an unhandled exception.
      {R"({"inputs": [[0]], "output": [], "extents": {"0": 1e400}})", "not valid JSON"},
      {"[[0, 1]]", "not an object"},
      {R"({"output": []})", "missing key \"inputs\""},
      {R"({"inputs": [[0]]})", "missing key \"output\""},
      {R"({"inputs": [[0]], "output": [], "extent": {"0": 2}})", "unknown key \"extent\""},
      {R"({"inputs": {"0": [0]})" + ok_tail, "inputs: expected an array"},
      {R"({"inputs": [])" + ok_tail, "inputs: a network needs at least one operand"},
      {R"({"inputs": [0, 1])" + ok_tail, "inputs[0]: expected an array of integer modes"},
      {R"({"inputs": [[0, "b"]])" + ok_tail,
       "inputs[0][1]: the mode must be an integer, not string"},
      {R"({"inputs": [[0, 1.5]])" + ok_tail, "inputs[0][1]: the mode must be an integer"},
      {R"({"inputs": [[0, 18446744073709551615]])" + ok_tail,
       "inputs[0][1]: the mode 18446744073709551615 does not fit a signed 64-bit integer"},
      {R"({"inputs": [[0, 1]], "output": "01", "extents": {"0": 2, "1": 3}})",
       "output: expected an array of integer modes"},
      {R"({"inputs": [[0, 1]], "output": [2], "extents": {"0": 2, "1": 3}})",
       "output[0]: mode 2 appears in no input"},
      {R"({"inputs": [[0, 1]], "output": [1, 1], "extents": {"0": 2, "1": 3}})",
       "output[1]: mode 1 appears twice in the output"},
      {R"({"inputs": [[0, 1]], "output": [], "extents": [2, 3]})",
       "extents: expected an object from mode id to extent"},
      {R"({"inputs": [[0, 1]], "output": [], "extents": {"0": 2, "1": -3}})",
       "extents[\"1\"]: extent -3 is negative"},
      {R"({"inputs": [[0, 1]], "output": [], "extents": {"0": 2, "1": "3"}})",
       "extents[\"1\"]: the extent must be an integer, not string"},
      {R"({"inputs": [[0, 1]], "output": [], "extents": {"0": 2, "1": 1e30}})",
       "extents[\"1\"]: the extent must be an integer"},
      {R"({"inputs": [[0, 1]], "output": [], "extents": {"0": 2, "1": 9223372036854775808}})",
       "extents[\"1\"]: the extent 9223372036854775808 does not fit a signed 64-bit integer"},
      {R"({"inputs": [[0, 1]], "output": [], "extents": {"0": 4294967296, "1": 4294967296}})",
       "inputs[0]: the operand's element count (the product of its extents) does not fit"},
      {R"({"inputs": [[0, 1]], "output": [], "extents": {"0": 2, "01": 3}})",
       "extents[\"01\"]: a key must be a mode id written as a decimal integer"},
      {R"({"inputs": [[0, 1]], "output": [], "extents": {"0": 2, "1": 3, "9": 4}})",
       "extents[\"9\"]: mode 9 appears in no input"},
      {R"({"inputs": [[0, 1], [1, 7]], "output": [], "extents": {"0": 2, "1": 3}})",
       "inputs[1][1]: mode 7 has no extent"},
      {R"({"inputs": [[0, 1]], "output": []})", "\"extents\" is required for `path`"},
  };
  const std::string network = file("network.json").string();
  for (const Failure& failure : failures) {
    SCOPED_TRACE(failure.text);
    write_text(network, failure.text);
    const CommandResult result = run("path --network '" + network + "' --json");
    EXPECT_EQ(result.status, 1) << result.err;
    EXPECT_TRUE(contains(result.err, "network file '" + network + "'")) << result.err;
    EXPECT_TRUE(contains(result.err, failure.message)) << result.err;
    EXPECT_TRUE(result.out.empty()) << result.out;
  }
  const CommandResult missing = run("path --network '" + file("missing.json").string() + "'");
  EXPECT_EQ(missing.status, 1);
  EXPECT_TRUE(contains(missing.err, "the file does not exist")) << missing.err;
  const CommandResult directory = run("path --network '" + directory_.string() + "'");
  EXPECT_EQ(directory.status, 1);
  EXPECT_TRUE(contains(directory.err, "is a directory")) << directory.err;
  // --network replaces the expression and --shapes.
  write_text(network, R"({"inputs": [[0]], "output": [0], "extents": {"0": 2}})");
  EXPECT_NE(run("path --network '" + network + "' --shapes '[[2]]'").status, 0);
  EXPECT_NE(run("path 'i->i' --network '" + network + "'").status, 0);
  EXPECT_NE(run("path").status, 0);
}

// The number after "key": in a one-line JSON object, or NaN when absent.
double json_number(const std::string& json, const std::string& key) {
  const std::string field = "\"" + key + "\":";
  const std::size_t at = json.find(field);
  if (at == std::string::npos) return std::nan("");
  return std::strtod(json.c_str() + at + field.size(), nullptr);
}

TEST_F(Cli, BenchJsonReportsTheMeasurements) {
  const CommandResult result =
      run("bench 'ij,jk->ik' --shapes '[[64,32],[32,16]]' --backend host --repeat 3 --warmup 1 "
          "--json");
  ASSERT_EQ(result.status, 0) << result.err;
  const std::string& json = result.out;
  EXPECT_EQ(std::count(json.begin(), json.end(), '\n'), 1) << json;  // one object, one line
  EXPECT_TRUE(contains(json, "\"expression\":\"ij,jk->ik\"")) << json;
  EXPECT_TRUE(contains(json, "\"shapes\":[[64,32],[32,16]]")) << json;
  EXPECT_TRUE(contains(json, "\"output_shape\":[64,16]")) << json;
  EXPECT_TRUE(contains(json, "\"dtype\":\"f32\"")) << json;
  EXPECT_TRUE(contains(json, "\"backend\":\"host\"")) << json;
  EXPECT_TRUE(contains(json, "\"inputs\":\"random\"")) << json;
  EXPECT_TRUE(contains(json, "\"path\":[[0,1]]")) << json;
  EXPECT_TRUE(contains(json, "\"path_algorithm\":\"auto\"")) << json;
  EXPECT_TRUE(contains(json, "\"bytes_kind\":\"program\"")) << json;
  EXPECT_EQ(json_number(json, "flops"), 2.0 * 64 * 32 * 16);
  EXPECT_EQ(json_number(json, "repeat"), 3);
  EXPECT_EQ(json_number(json, "warmup"), 1);
  const double median = json_number(json, "median_seconds");
  const double fastest = json_number(json, "min_seconds");
  EXPECT_GT(median, 0);
  EXPECT_LE(fastest, median);
  EXPECT_LE(median, json_number(json, "max_seconds"));
  EXPECT_NEAR(json_number(json, "flops_per_second") * median, 2.0 * 64 * 32 * 16, 1e-3);
  // The GEMM reads both operands and writes the result at least once.
  const double in_out_bytes = 4.0 * (64 * 32 + 32 * 16 + 64 * 16);
  EXPECT_EQ(json_number(json, "input_bytes"), 4.0 * (64 * 32 + 32 * 16));
  EXPECT_EQ(json_number(json, "output_bytes"), 4.0 * 64 * 16);
  EXPECT_GE(json_number(json, "bytes"), in_out_bytes);
  EXPECT_NEAR(json_number(json, "bytes_per_second") * median, json_number(json, "bytes"), 1e-3);
  EXPECT_EQ(json_number(json, "device_bytes"), json_number(json, "workspace_bytes") + in_out_bytes);
  const std::size_t times = json.find("\"times_seconds\":[");
  ASSERT_NE(times, std::string::npos) << json;
  const std::string list = json.substr(times, json.find(']', times) - times);
  EXPECT_EQ(std::count(list.begin(), list.end(), ','), 2) << list;  // three entries
}

TEST_F(Cli, BenchTextIsAShortTable) {
  const CommandResult result = run(
      "bench 'abc,bcd->ad' --shapes '[[8,6,5],[6,5,7]]' --dtype c128 --repeat 2 --backend host");
  ASSERT_EQ(result.status, 0) << result.err;
  for (const char* line :
       {"einstream bench 'abc,bcd->ad'", "[[8,6,5],[6,5,7]] -> [8,7], c128", "backend       host",
        "median", "FLOP/s", "bytes moved", "(program)", "memory"}) {
    EXPECT_TRUE(contains(result.out, line)) << line << " in\n" << result.out;
  }
}

// bench on .npy files saves what `einstream run` computes from them.
TEST_F(Cli, BenchSavesWhatRunComputesFromTheSameInputs) {
  std::mt19937 random(7);
  struct Case {
    std::string expression;
    std::vector<std::vector<std::int64_t>> shapes;
    DataType dtype;
  };
  const std::vector<Case> cases = {
      {"abcd,dbef->aecf", {{3, 4, 5, 6}, {6, 4, 2, 3}}, DataType::f32},
      {"ijk->ki", {{5, 6, 7}}, DataType::f64},
      {"jrl,ijr,ijrk,ijrl,ikmn->imn",
       {{4, 3, 5}, {2, 4, 3}, {2, 4, 3, 6}, {2, 4, 3, 5}, {2, 6, 3, 3}},
       DataType::c64},
  };
  int index = 0;
  for (const Case& c : cases) {
    SCOPED_TRACE(c.expression);
    std::string files;
    std::string shapes = "[";
    for (const auto& shape : c.shapes) {
      const TensorDesc desc(c.dtype, shape);
      const std::vector<unsigned char> data =
          testing::random_tensor(c.dtype, desc.element_count(), random);
      files += " " + save("in" + std::to_string(index++) + ".npy", desc, data.data());
      shapes += std::string(shapes.size() > 1 ? "," : "") + "[";
      for (std::size_t axis = 0; axis < shape.size(); ++axis) {
        shapes += (axis ? "," : "") + std::to_string(shape[axis]);
      }
      shapes += "]";
    }
    shapes += "]";
    const std::string benched = file("bench.npy").string();
    const std::string expected = file("run.npy").string();
    const CommandResult bench = run("bench '" + c.expression + "' --backend host --repeat 2 " +
                                    "--json --save-output " + benched + " --inputs" + files);
    ASSERT_EQ(bench.status, 0) << bench.err;
    EXPECT_TRUE(contains(bench.out, "\"inputs\":\"files\"")) << bench.out;
    EXPECT_TRUE(contains(bench.out, std::string("\"dtype\":\"") + to_string(c.dtype) + "\""))
        << bench.out;
    EXPECT_TRUE(contains(bench.out, "\"shapes\":" + shapes)) << bench.out;
    const CommandResult reference =
        run("run '" + c.expression + "'" + files + " --backend host -o " + expected);
    ASSERT_EQ(reference.status, 0) << reference.err;
    const detail::NpyArray actual = detail::read_npy(benched);
    const detail::NpyArray wanted = detail::read_npy(expected);
    EXPECT_EQ(actual.desc.dtype, wanted.desc.dtype);
    EXPECT_EQ(actual.desc.extents, wanted.desc.extents);
    EXPECT_EQ(actual.data, wanted.data);  // the same plan on the same data, bit for bit
    // --shapes and --dtype beside --inputs are checks of the files.
    const std::string dtype = std::string(" --dtype ") + to_string(c.dtype);
    EXPECT_EQ(run("bench '" + c.expression + "' --shapes '" + shapes + "'" + dtype +
                  " --repeat 1 --backend host --inputs" + files)
                  .status,
              0);
    fs::remove(benched);
    fs::remove(expected);
  }
}

TEST_F(Cli, BenchRandomInputsFollowTheSeed) {
  auto output_of = [&](const std::string& seed) {
    const std::string path = file("seed" + seed + ".npy").string();
    const CommandResult result =
        run("bench 'ij->j' --shapes '[[40,30]]' --backend host --repeat 1 --seed " + seed +
            " --save-output " + path);
    EXPECT_EQ(result.status, 0) << result.err;
    return detail::read_npy(path).data;
  };
  const std::vector<unsigned char> first = output_of("5");
  EXPECT_EQ(first.size(), 30 * sizeof(float));
  EXPECT_EQ(output_of("5"), first);
  EXPECT_NE(output_of("6"), first);
  // Inputs are uniform in [-1, 1): a column sum of 40 of them stays within 40.
  const auto* sums = reinterpret_cast<const float*>(first.data());
  for (int column = 0; column < 30; ++column) EXPECT_LT(std::fabs(sums[column]), 40.0f);
}

TEST_F(Cli, BenchRunsHalfPrecisionAndSavesOnlyF16) {
  const std::string path = file("half.npy").string();
  CommandResult result =
      run("bench 'ij,jk->ik' --shapes '[[8,6],[6,5]]' --dtype f16 --backend "
          "host --repeat 1 --save-output " +
          path);
  ASSERT_EQ(result.status, 0) << result.err;
  const detail::NpyArray saved = detail::read_npy(path);
  EXPECT_EQ(saved.desc.dtype, DataType::f16);
  EXPECT_EQ(saved.desc.extents, (std::vector<std::int64_t>{8, 5}));
  result = run("bench 'ij,jk->ik' --shapes '[[8,6],[6,5]]' --dtype bf16 --backend host --repeat 1");
  EXPECT_EQ(result.status, 0) << result.err;
  EXPECT_TRUE(contains(result.out, "bf16")) << result.out;
  const std::string refused = file("bf16.npy").string();
  result =
      run("bench 'ij->j' --shapes '[[4,3]]' --dtype bf16 --backend host --repeat 1 "
          "--save-output " +
          refused);
  EXPECT_NE(result.status, 0);
  EXPECT_TRUE(contains(result.err, "bf16 cannot be stored in .npy")) << result.err;
  EXPECT_FALSE(fs::exists(refused));
  result = run("bench --help");
  EXPECT_TRUE(contains(result.out, "f32, f64, c64, c128, f16 or bf16")) << result.out;
  result = run("run --help");
  EXPECT_TRUE(contains(result.out, "float16")) << result.out;
}

TEST_F(Cli, RunRefusesBfloat16NpyFilesWithAHint) {
  // ml_dtypes saves bfloat16 as the opaque '|V2'.
  const std::string header = "{'descr': '|V2', 'fortran_order': False, 'shape': (2,), }";
  std::string contents = std::string("\x93NUMPY\x01\x00", 8);
  const std::string padded = header + std::string(128 - 10 - header.size() - 1, ' ') + "\n";
  contents += static_cast<char>(padded.size());
  contents += '\0';
  contents += padded + std::string(4, '\0');
  const fs::path input = file("bf16.npy");
  std::ofstream(input, std::ios::binary) << contents;
  const CommandResult result =
      run("run 'i->' " + input.string() + " -o " + file("out.npy").string());
  EXPECT_NE(result.status, 0);
  EXPECT_TRUE(contains(result.err, "bf16 cannot be stored in .npy")) << result.err;
  EXPECT_TRUE(contains(result.err, "float32")) << result.err;
}

TEST_F(Cli, BenchRejectsBadFlagsWithAClearMessage) {
  const std::vector<float> x(6, 1.0f);
  const std::string x_path = save("x.npy", TensorDesc(DataType::f32, {2, 3}), x.data());
  struct Failure {
    std::string arguments;
    std::string message;
  };
  const std::vector<Failure> failures = {
      {"bench 'ij->i'", "--shapes"},
      {"bench 'ij->i' --shapes '[[2,3]'", "--shapes is not valid JSON"},
      {"bench 'ij,jk->ik' --shapes '[[2,3]]'", "expression has 2 operands but 1 shape was given"},
      {"bench 'ij->i' --shapes '[[2,3]]' --dtype i32", "--dtype"},
      {"bench 'ij->i' --shapes '[[2,3]]' --repeat 0", "--repeat"},
      {"bench 'ij->i' --shapes '[[2,3]]' --warmup -1", "--warmup"},
      {"bench 'ij->i' --shapes '[[2,3]]' --backend gpu", "--backend"},
      {"bench 'ij->i' --shapes '[[2,3]]' --memory-limit 3XB", "unknown suffix"},
      {"bench 'ij->i' --inputs " + file("missing.npy").string(), "missing.npy"},
      {"bench 'ij->i' --inputs " + x_path + " --shapes '[[3,2]]'",
       "does not match the shapes of the --inputs files ([[2,3]])"},
      {"bench 'ij->i' --inputs " + x_path + " --dtype f64",
       "--dtype f64 does not match the --inputs files, which hold f32"},
  };
  for (const Failure& failure : failures) {
    SCOPED_TRACE(failure.arguments);
    const CommandResult result = run(failure.arguments);
    EXPECT_NE(result.status, 0);
    EXPECT_TRUE(contains(result.err, failure.message)) << result.err;
  }
}

// Without the CUDA backend (or without a GPU) --backend cuda ends with one
// line on stderr, not a crash; with both it runs.
TEST_F(Cli, BenchOnCudaRunsOrFailsCleanly) {
  const CommandResult result =
      run("bench 'ij,jk->ik' --shapes '[[8,8],[8,8]]' --backend cuda --repeat 1 --json");
  if (result.status == 0) {
    EXPECT_TRUE(contains(result.out, "\"backend\":\"cuda\"")) << result.out;
    return;
  }
  EXPECT_EQ(result.status, 1) << result.err;
  EXPECT_EQ(result.err.rfind("einstream: ", 0), 0u) << result.err;
  EXPECT_TRUE(contains(result.err, "cuda") || contains(result.err, "CUDA") ||
              contains(result.err, "device"))
      << result.err;
  EXPECT_EQ(std::count(result.err.begin(), result.err.end(), '\n'), 1) << result.err;
  EXPECT_TRUE(result.out.empty()) << result.out;
}

TEST_F(Cli, EverySubcommandHasHelp) {
  for (const char* command : {"", "run ", "path ", "demo ", "devices ", "bench "}) {
    SCOPED_TRACE(command);
    const CommandResult result = run(std::string(command) + "--help");
    EXPECT_EQ(result.status, 0) << result.err;
    EXPECT_TRUE(contains(result.out, "Usage") || contains(result.out, "USAGE")) << result.out;
  }
}

TEST_F(Cli, DemoRunsAndChecksItself) {
  const CommandResult result = run("demo --scale 50");
  ASSERT_EQ(result.status, 0) << result.out << result.err;
  EXPECT_TRUE(contains(result.out, "jrl,ijr,ijrk,ijrl,ikmn->imn"));
  EXPECT_TRUE(contains(result.out, "OK")) << result.out;
}

TEST_F(Cli, DemoTraceIsValidJson) {
  const std::string trace_path = file("demo.json").string();
  const CommandResult result = run("demo --scale 50 --backend host --trace " + trace_path);
  ASSERT_EQ(result.status, 0) << result.out << result.err;
  EXPECT_TRUE(contains(result.out, "written to " + trace_path)) << result.out;
  const nlohmann::json trace = nlohmann::json::parse(read_text(trace_path));
  EXPECT_TRUE(trace.at("traceEvents").is_array());
}

TEST_F(Cli, DevicesAnswersWithOrWithoutAGpu) {
  const CommandResult result = run("devices");
  ASSERT_EQ(result.status, 0) << result.err;
  EXPECT_TRUE(contains(result.out, "device")) << result.out;
}

}  // namespace
}  // namespace einstream
