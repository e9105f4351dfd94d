// The einstream command-line tool end to end: .npy files in, .npy file out,
// compared with hand-computed values and with the reference executor.
#include <gtest/gtest.h>
#include <sys/wait.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <random>
#include <sstream>

#include "einstream/einstream.hpp"
#include "planner/parse.hpp"
#include "src/npy.hpp"
#include "src/reference.hpp"
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
    directory_ = fs::path(::testing::TempDir()) / (std::string("einstream_cli_") + info->name());
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
    for (DataType dtype : {DataType::f32, DataType::f64, DataType::c64, DataType::c128}) {
      SCOPED_TRACE(c.expression + " " + to_string(dtype));
      std::string arguments = "run '" + c.expression + "'";
      std::vector<std::vector<unsigned char>> inputs;
      std::vector<detail::ReferenceInput> reference_inputs;
      for (const auto& shape : c.shapes) {
        const TensorDesc desc(dtype, shape);
        inputs.push_back(testing::random_tensor(dtype, desc.element_count(), random));
        arguments +=
            " " + save("in" + std::to_string(index++) + ".npy", desc, inputs.back().data());
        reference_inputs.push_back({inputs.back().data(), dtype, desc.effective_strides()});
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
      EXPECT_LE(testing::relative_error(dtype, actual.data.data(), expected.data(),
                                        actual.desc.element_count()),
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
}

TEST_F(Cli, RunFailuresReportOnStderrAndLeaveTheOutputAlone) {
  const std::vector<double> a = {1, 2, 3, 4};
  const std::vector<float> b = {1, 2};
  const std::string a_path = save("a.npy", TensorDesc(DataType::f64, {2, 2}), a.data());
  const std::string b_path = save("b.npy", TensorDesc(DataType::f32, {2}), b.data());
  const std::string c_path = save("c.npy", TensorDesc(DataType::f64, {4}), a.data());
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
      {"run 'ij,j->i' " + a_path + " " + b_path, "all inputs must share one data type"},
      {"run 'ij,jk->ix' " + a_path + " " + a_path, "'x' at position 8 is not in any input"},
      {"run 'ij,jk->ik' " + a_path + " " + c_path, "operand 1"},
      {"run 'ij,jk->ik' " + a_path, "expression has 2 operands but 1 shape was given"},
      {"run 'ij->i' " + a_path + " --memory-limit 3XB", "unknown suffix"},
      {"run 'ij->i' " + a_path + " --backend cuda", "backend 'cuda'"},
      {"run 'ij->i' " + file("missing.npy").string(), "missing.npy"},
  };
  for (const Failure& failure : failures) {
    SCOPED_TRACE(failure.arguments);
    const CommandResult result = run(failure.arguments + " -o " + output.string());
    EXPECT_NE(result.status, 0);
    EXPECT_TRUE(contains(result.err, failure.message)) << result.err;
    EXPECT_EQ(read_text(output), "previous contents");
  }
  // Nothing left behind beside the output either.
  int files = 0;
  for (const auto& entry : fs::directory_iterator(directory_)) {
    files += contains(entry.path().filename().string(), "out.npy") ? 1 : 0;
  }
  EXPECT_EQ(files, 1);
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
  const CommandResult capped = run(problem + " --max-intermediate 28");
  ASSERT_EQ(capped.status, 0) << capped.err;
  EXPECT_TRUE(contains(capped.out, "\"flops\":455")) << capped.out;
  EXPECT_TRUE(contains(capped.out, "\"largest_intermediate\":7")) << capped.out;
  // A fraction is no size for an intermediate; unknown algorithms are refused.
  const CommandResult fraction = run(problem + " --max-intermediate 0.5");
  EXPECT_NE(fraction.status, 0);
  EXPECT_TRUE(contains(fraction.err, "--max-intermediate")) << fraction.err;
  EXPECT_NE(run(problem + " --path best").status, 0);
}

TEST_F(Cli, PathTextShowsTheSteps) {
  const CommandResult result =
      run("path 'ij,jk,kl->il' --shapes '[[2,3],[3,4],[4,5]]' --path naive");
  ASSERT_EQ(result.status, 0) << result.err;
  EXPECT_TRUE(contains(result.out, "ij,jk->ik")) << result.out;
  EXPECT_TRUE(contains(result.out, "kl,ik->il")) << result.out;  // the running result is last
}

TEST_F(Cli, PathRejectsMalformedShapes) {
  for (const char* shapes : {"'[[2,3]'", "'{\"a\":1}'", "'[[2,-3]]'", "'[[2.5]]'", "'[3]'"}) {
    SCOPED_TRACE(shapes);
    const CommandResult result = run(std::string("path 'ij' --shapes ") + shapes);
    EXPECT_NE(result.status, 0);
    EXPECT_TRUE(contains(result.err, "--shapes")) << result.err;
  }
}

TEST_F(Cli, EverySubcommandHasHelp) {
  for (const char* command : {"", "run ", "path ", "demo ", "devices "}) {
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

TEST_F(Cli, DevicesAnswersWithOrWithoutAGpu) {
  const CommandResult result = run("devices");
  ASSERT_EQ(result.status, 0) << result.err;
  EXPECT_TRUE(contains(result.out, "device")) << result.out;
}

}  // namespace
}  // namespace einstream
