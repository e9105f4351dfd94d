// A matrix chain and a batched trace with einstream, using only the installed
// headers. Prints the plan and checks the result against plain loops.
#include <einstream/einstream.hpp>

#include <cmath>
#include <cstdio>
#include <vector>

int main() {
  constexpr int kN = 3;
  constexpr int kK = 4;
  std::vector<double> a(kN * kK), b(kK * kK), c(kK * kN);
  for (std::size_t i = 0; i < a.size(); ++i) a[i] = 0.5 * static_cast<double>(i) - 1.0;
  for (std::size_t i = 0; i < b.size(); ++i) b[i] = std::sin(static_cast<double>(i));
  for (std::size_t i = 0; i < c.size(); ++i) c[i] = 1.0 / (1.0 + static_cast<double>(i));

  // D = A B C, planned once and executed.
  einstream::Plan plan("ij,jk,kl->il", {einstream::TensorDesc(einstream::DataType::f64, {kN, kK}),
                                        einstream::TensorDesc(einstream::DataType::f64, {kK, kK}),
                                        einstream::TensorDesc(einstream::DataType::f64, {kK, kN})});
  std::printf("%s", plan.explain().c_str());
  std::vector<double> d(kN * kN);
  plan.execute({a.data(), b.data(), c.data()}, d.data());

  double largest_error = 0;
  for (int i = 0; i < kN; ++i) {
    for (int l = 0; l < kN; ++l) {
      double expected = 0;
      for (int j = 0; j < kK; ++j) {
        for (int k = 0; k < kK; ++k) expected += a[i * kK + j] * b[j * kK + k] * c[k * kN + l];
      }
      largest_error = std::fmax(largest_error, std::fabs(expected - d[i * kN + l]));
    }
  }

  // One-shot form: the trace of D.
  double trace = 0;
  einstream::einsum("ii->", {einstream::view(d.data(), {kN, kN})}, einstream::view(&trace, {}));
  double expected_trace = 0;
  for (int i = 0; i < kN; ++i) expected_trace += d[i * kN + i];

  std::printf("max error %.3g, trace %.6f (expected %.6f)\n", largest_error, trace, expected_trace);
  return largest_error < 1e-12 && std::fabs(trace - expected_trace) < 1e-12 ? 0 : 1;
}
