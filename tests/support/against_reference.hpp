// Test support: evaluate an expression with a Plan (any Options) and with the
// reference executor on the same random data; report the relative error.
#pragma once

#include <random>
#include <string>
#include <vector>

#include "einstream/plan.hpp"
#include "planner/parse.hpp"
#include "src/reference.hpp"
#include "tests/support/tensors.hpp"

namespace einstream::testing {

struct AgainstReference {
  double error = 0;
  std::string explain;  // the plan's explain()
};

inline AgainstReference plan_against_reference(const std::string& expression,
                                               const std::vector<std::vector<std::int64_t>>& shapes,
                                               DataType dtype, const Options& options, Scalar alpha,
                                               Scalar beta, std::mt19937& random) {
  std::vector<TensorDesc> descs;
  std::vector<std::vector<unsigned char>> inputs;
  std::vector<const void*> pointers;
  std::vector<detail::ReferenceInput> reference_inputs;
  for (const auto& shape : shapes) {
    descs.emplace_back(dtype, shape);
    inputs.push_back(random_tensor(dtype, descs.back().element_count(), random));
  }
  for (std::size_t index = 0; index < inputs.size(); ++index) {
    pointers.push_back(inputs[index].data());
    reference_inputs.push_back({inputs[index].data(), dtype, descs[index].effective_strides()});
  }
  Plan plan(expression, descs, options);
  const std::int64_t count = plan.output().element_count();
  const std::vector<unsigned char> initial = random_tensor(dtype, count, random);
  std::vector<unsigned char> actual = initial;
  std::vector<unsigned char> expected = initial;
  plan.execute(pointers, actual.data(), alpha, beta);
  const detail::Problem problem = detail::parse(expression, shapes);
  detail::reference_einsum(problem, reference_inputs,
                           {expected.data(), dtype, plan.output().effective_strides()}, alpha,
                           beta);
  return {relative_error(dtype, actual.data(), expected.data(), count), plan.explain()};
}

}  // namespace einstream::testing
