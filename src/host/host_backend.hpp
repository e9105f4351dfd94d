// Host backend: executes a contraction path on the CPU, one pairwise step at
// a time.
//
// Each step is itself a small einsum evaluated by the reference executor into
// an intermediate held in double (or complex double), so the host backend is
// as accurate as the reference while costing only the path's FLOPs rather
// than the product of every extent. The last step writes the caller's output
// with alpha and beta.
#pragma once

#include <vector>

#include "planner/path.hpp"
#include "planner/problem.hpp"
#include "src/reference.hpp"

namespace einstream::detail {

void execute_path_on_host(const Problem& problem, const ContractionPath& path,
                          const std::vector<ReferenceInput>& inputs, const ReferenceOutput& output,
                          Scalar alpha, Scalar beta);

}  // namespace einstream::detail
