// Networks with far more modes than a 64-bit mask holds (150 and 300), as
// opt_einsum writes them (get_symbol labels), planned with auto and greedy
// and executed on the host backend.
//
// The reference executor loops over every combination of the summed modes,
// 2^150 here, so the oracle contracts the network one pair at a time, each
// pair through the reference executor (a handful of modes each), in an order
// the test picks itself: the pair with the smallest result first.
#include <gtest/gtest.h>

#include <algorithm>
#include <cstdint>
#include <random>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "einstream/error.hpp"
#include "einstream/plan.hpp"
#include "planner/parse.hpp"
#include "planner/path.hpp"
#include "src/reference.hpp"
#include "tests/support/tensors.hpp"

namespace einstream {
namespace {

std::string utf8(std::uint32_t code_point) {
  std::string bytes;
  if (code_point < 0x80) {
    bytes += static_cast<char>(code_point);
  } else if (code_point < 0x800) {
    bytes += static_cast<char>(0xc0 | (code_point >> 6));
    bytes += static_cast<char>(0x80 | (code_point & 0x3f));
  } else {
    bytes += static_cast<char>(0xe0 | (code_point >> 12));
    bytes += static_cast<char>(0x80 | ((code_point >> 6) & 0x3f));
    bytes += static_cast<char>(0x80 | (code_point & 0x3f));
  }
  return bytes;
}

// opt_einsum.get_symbol(i) for i below the surrogates.
std::string get_symbol(int i) {
  constexpr char kBase[] = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ";
  if (i < 52) return std::string(1, kBase[i]);
  return utf8(static_cast<std::uint32_t>(i) + 140);
}

// A network as mode lists; mode m is written get_symbol(m), extent 2.
struct Network {
  std::vector<std::vector<int>> operands;
  std::vector<int> output;
  int mode_count = 0;

  std::string expression() const {
    std::string text;
    for (std::size_t k = 0; k < operands.size(); ++k) {
      if (k > 0) text += ',';
      for (int mode : operands[k]) text += get_symbol(mode);
    }
    text += "->";
    for (int mode : output) text += get_symbol(mode);
    return text;
  }
};

// A random simple 3-regular graph (configuration model: three half-edges per
// vertex, paired at random, redrawn until there is no loop or repeated edge);
// each vertex is an operand, each edge a mode.
Network random_regular_network(int vertices, std::mt19937& random) {
  for (;;) {
    std::vector<int> half_edges;
    for (int vertex = 0; vertex < vertices; ++vertex)
      half_edges.insert(half_edges.end(), 3, vertex);
    std::shuffle(half_edges.begin(), half_edges.end(), random);
    std::set<std::pair<int, int>> edges;
    bool simple = true;
    for (std::size_t k = 0; k < half_edges.size() && simple; k += 2) {
      const int a = std::min(half_edges[k], half_edges[k + 1]);
      const int b = std::max(half_edges[k], half_edges[k + 1]);
      simple = a != b && edges.insert({a, b}).second;
    }
    if (!simple) continue;
    Network network;
    network.operands.resize(static_cast<std::size_t>(vertices));
    for (const auto& [a, b] : edges) {
      network.operands[static_cast<std::size_t>(a)].push_back(network.mode_count);
      network.operands[static_cast<std::size_t>(b)].push_back(network.mode_count);
      ++network.mode_count;
    }
    return network;
  }
}

// A matrix chain: operand k has modes (k, k+1); the output keeps both ends.
Network chain_network(int modes) {
  Network network;
  network.mode_count = modes;
  for (int k = 0; k + 1 < modes; ++k) network.operands.push_back({k, k + 1});
  network.output = {0, modes - 1};
  return network;
}

struct Tensor {
  std::vector<int> modes;
  std::vector<double> values;  // row-major, extent 2 per mode
};

std::vector<std::int64_t> row_major_strides(std::size_t rank) {
  std::vector<std::int64_t> strides(rank, 1);
  for (std::size_t axis = rank; axis-- > 1;) strides[axis - 1] = strides[axis] * 2;
  return strides;
}

// a*b summed over the modes no other tensor nor the output has, through the
// reference executor on a problem of only these two operands.
Tensor contract_pair(const Tensor& a, const Tensor& b, const std::vector<Tensor>& others,
                     const std::vector<int>& output) {
  std::set<int> kept(output.begin(), output.end());
  for (const Tensor& other : others) kept.insert(other.modes.begin(), other.modes.end());
  Tensor result;
  for (const std::vector<int>* modes : {&a.modes, &b.modes}) {
    for (int mode : *modes) {
      if (kept.count(mode) &&
          std::find(result.modes.begin(), result.modes.end(), mode) == result.modes.end()) {
        result.modes.push_back(mode);
      }
    }
  }
  // Dense ids for the pair's own problem.
  std::vector<int> ids;
  auto id_of = [&ids](int mode) {
    auto found = std::find(ids.begin(), ids.end(), mode);
    if (found != ids.end()) return static_cast<detail::Mode>(found - ids.begin());
    ids.push_back(mode);
    return static_cast<detail::Mode>(ids.size() - 1);
  };
  detail::Problem problem;
  for (const Tensor* operand : {&a, &b}) {
    detail::ProblemOperand entry;
    entry.rank = static_cast<int>(operand->modes.size());
    for (std::size_t axis = 0; axis < operand->modes.size(); ++axis) {
      entry.modes.push_back(id_of(operand->modes[axis]));
      entry.axes.push_back(static_cast<int>(axis));
    }
    problem.inputs.push_back(entry);
  }
  for (int mode : result.modes) problem.output.push_back(id_of(mode));
  problem.extents.assign(ids.size(), 2);
  for (int mode : ids) problem.labels.push_back(get_symbol(mode));

  result.values.assign(std::size_t{1} << result.modes.size(), 0.0);
  detail::reference_einsum(
      problem,
      {{a.values.data(), DataType::f64, row_major_strides(a.modes.size())},
       {b.values.data(), DataType::f64, row_major_strides(b.modes.size())}},
      {result.values.data(), DataType::f64, row_major_strides(result.modes.size())}, 1.0, 0.0);
  return result;
}

// The network's value, contracting the pair with the smallest result first.
std::vector<double> pairwise_oracle(std::vector<Tensor> tensors, const std::vector<int>& output) {
  while (tensors.size() > 1) {
    std::size_t best_first = 0;
    std::size_t best_second = 1;
    std::size_t best_rank = SIZE_MAX;
    for (std::size_t first = 0; first < tensors.size(); ++first) {
      for (std::size_t second = first + 1; second < tensors.size(); ++second) {
        std::set<int> shared;
        for (int mode : tensors[first].modes) {
          if (std::count(tensors[second].modes.begin(), tensors[second].modes.end(), mode)) {
            shared.insert(mode);
          }
        }
        if (shared.empty() && tensors.size() > 2) continue;
        // Rank of the result, counting a shared mode as summed (close enough
        // for choosing an order; the contraction keeps what it must).
        const std::size_t rank =
            tensors[first].modes.size() + tensors[second].modes.size() - 2 * shared.size();
        if (rank < best_rank) {
          best_rank = rank;
          best_first = first;
          best_second = second;
        }
      }
    }
    std::vector<Tensor> others;
    for (std::size_t k = 0; k < tensors.size(); ++k) {
      if (k != best_first && k != best_second) others.push_back(tensors[k]);
    }
    Tensor joined = contract_pair(tensors[best_first], tensors[best_second], others, output);
    others.push_back(std::move(joined));
    tensors = std::move(others);
  }
  // Reorder the last tensor's axes into the output's order.
  const Tensor& last = tensors.front();
  Tensor identity;
  identity.values = {1.0};
  return contract_pair(last, identity, {}, output).values;
}

void expect_plans_match_oracle(const Network& network, std::uint32_t seed) {
  SCOPED_TRACE("seed " + std::to_string(seed) + ", " + std::to_string(network.operands.size()) +
               " operands, " + std::to_string(network.mode_count) + " modes");
  std::mt19937 random(seed);
  std::vector<Tensor> tensors;
  std::vector<TensorDesc> descs;
  std::vector<const void*> pointers;
  for (const std::vector<int>& modes : network.operands) {
    Tensor tensor;
    tensor.modes = modes;
    std::uniform_real_distribution<double> uniform(0.5, 1.5);  // keeps the sum away from 0
    for (std::size_t k = 0; k < (std::size_t{1} << modes.size()); ++k) {
      tensor.values.push_back(uniform(random));
    }
    descs.emplace_back(DataType::f64, std::vector<std::int64_t>(modes.size(), 2));
    tensors.push_back(std::move(tensor));
  }
  for (const Tensor& tensor : tensors) pointers.push_back(tensor.values.data());
  const std::vector<double> expected = pairwise_oracle(tensors, network.output);

  const std::string expression = network.expression();
  std::vector<std::vector<std::int64_t>> shapes;
  for (const TensorDesc& desc : descs) shapes.push_back(desc.extents);
  EXPECT_EQ(detail::parse(expression, shapes).mode_count(), network.mode_count);
  for (const PathAlgorithm path : {PathAlgorithm::automatic, PathAlgorithm::greedy}) {
    SCOPED_TRACE(to_string(path));
    Options options;
    options.path = path;
    options.backend = Backend::host;
    Plan plan(expression, descs, options);
    std::vector<double> actual(expected.size(), 0.0);
    ASSERT_EQ(static_cast<std::size_t>(plan.output().element_count()), expected.size());
    plan.execute(pointers, actual.data());
    EXPECT_LT(testing::relative_error(DataType::f64, actual.data(), expected.data(),
                                      static_cast<std::int64_t>(expected.size())),
              1e-10)
        << plan.explain();
  }
}

TEST(ManyModes, RandomRegularNetworkOf100OperandsAnd150Modes) {
  constexpr std::uint32_t kSeed = 2026;
  std::mt19937 random(kSeed);
  const Network network = random_regular_network(100, random);
  ASSERT_EQ(network.mode_count, 150);
  expect_plans_match_oracle(network, kSeed);
}

TEST(ManyModes, ChainOf300Modes) { expect_plans_match_oracle(chain_network(300), 7); }

// The exact searches index operands with 64-bit masks but keep modes in
// growable sets, so they agree with each other however many modes there are.
TEST(ManyModes, ExactSearchesAgreeWithEightyModes) {
  // A ring of 8 operands, neighbours sharing 10 modes each; planned, not run
  // (each operand has 2^20 elements).
  Network network;
  network.operands.resize(8);
  for (int edge = 0; edge < 8; ++edge) {
    for (int k = 0; k < 10; ++k) {
      network.operands[static_cast<std::size_t>(edge)].push_back(network.mode_count);
      network.operands[static_cast<std::size_t>((edge + 1) % 8)].push_back(network.mode_count);
      ++network.mode_count;
    }
  }
  const detail::Problem problem =
      detail::parse(network.expression(),
                    std::vector<std::vector<std::int64_t>>(8, std::vector<std::int64_t>(20, 2)));
  ASSERT_EQ(problem.mode_count(), 80);
  detail::PathSearchOptions options;
  options.seconds = 0;  // no budget: both finish, so both are exact
  // Called directly, not through find_path, whose simplify() would merge
  // each pair's ten modes into one.
  const double optimal =
      detail::evaluate_path(problem, detail::optimal_path(problem, options)).flops;
  const double dp = detail::evaluate_path(problem, detail::dp_path(problem, options)).flops;
  const double greedy = detail::evaluate_path(problem, detail::greedy_path(problem)).flops;
  EXPECT_EQ(optimal, dp);
  EXPECT_LE(optimal, greedy);
}

TEST(ManyModes, DpRefusesComponentsOverSixtyFourOperandsAndAutoSkipsIt) {
  std::mt19937 random(5);
  const Network network = random_regular_network(100, random);
  const detail::Problem problem =
      detail::parse(network.expression(),
                    std::vector<std::vector<std::int64_t>>(100, std::vector<std::int64_t>(3, 2)));
  try {
    detail::find_path(problem, PathAlgorithm::dp);
    ADD_FAILURE() << "dp planned a 100-operand component";
  } catch (const Error& error) {
    EXPECT_NE(std::string(error.what()).find("use the greedy or random-greedy search"),
              std::string::npos)
        << error.what();
  }
  EXPECT_GT(detail::find_path(problem, PathAlgorithm::automatic).flops, 0);
}

}  // namespace
}  // namespace einstream
