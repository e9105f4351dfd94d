// The headline example over MPI (issue 13's targets, issue 17's run): every
// rank builds the same Plan on the same inputs (host memory, pageable or
// pinned by the library's own detection), einstream::execute_distributed
// shares the blocks among the ranks (each rank on GPU rank % GPUs under the
// CUDA backend) and sums the result onto rank 0. Rank 0 prints, and writes
// with --out, the median time, each rank's share and reduction times, the
// balance (largest share over the mean) and the reduction's part of the
// total, then checks the result against a single-process execution.
//
//   mpirun -np 4 einstream_mpi_bench [--extents i=500,j=1000,...]
//       [--backend cuda|host|auto] [--memory-limit 0.9] [--repeat 3] [--out FILE.json]
//
// Defaults: `jrl,ijr,ijrk,ijrl,ikmn->imn` at the old tool's full size (12.5
// GB of f32 input per rank), the default memory limit, 3 timed runs after a
// warm-up.
#include <mpi.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <fstream>
#include <map>
#include <random>
#include <string>
#include <vector>

#include "einstream/devices.hpp"
#include "einstream/einstream.hpp"
#include "einstream/mpi.hpp"

namespace {

using einstream::DataType;
using einstream::TensorDesc;

const char* const kExpression = "jrl,ijr,ijrk,ijrl,ikmn->imn";
const char* const kTerms[] = {"jrl", "ijr", "ijrk", "ijrl", "ikmn"};

struct Arguments {
  std::map<char, std::int64_t> extents = {{'i', 500},  {'j', 1000}, {'r', 3}, {'l', 1024},
                                          {'k', 1024}, {'m', 9},    {'n', 9}};
  std::string backend = "auto";
  std::string memory_limit = "0.9";
  int repeat = 3;
  std::string out;
};

Arguments parse(int argc, char** argv) {
  Arguments arguments;
  for (int index = 1; index < argc; ++index) {
    const std::string word = argv[index];
    if (index + 1 >= argc) throw einstream::Error(word + " needs a value");
    const std::string value = argv[++index];
    if (word == "--extents") {
      std::size_t at = 0;
      while (at < value.size()) {
        const std::size_t comma = std::min(value.find(',', at), value.size());
        const std::string item = value.substr(at, comma - at);
        if (item.size() < 3 || item[1] != '=' || arguments.extents.count(item[0]) == 0) {
          throw einstream::Error("--extents: '" + item + "' is not MODE=EXTENT of jrlikmn");
        }
        arguments.extents[item[0]] = std::stoll(item.substr(2));
        at = comma + 1;
      }
    } else if (word == "--backend") {
      arguments.backend = value;
    } else if (word == "--memory-limit") {
      arguments.memory_limit = value;
    } else if (word == "--repeat") {
      arguments.repeat = std::max(1, std::stoi(value));
    } else if (word == "--out") {
      arguments.out = value;
    } else {
      throw einstream::Error("unknown argument '" + word +
                             "' (known: --extents, --backend, --memory-limit, --repeat, --out)");
    }
  }
  return arguments;
}

double median(std::vector<double> values) {
  std::sort(values.begin(), values.end());
  return values[values.size() / 2];
}

int run(int argc, char** argv) {
  int rank = 0, size = 1;
  MPI_Comm_rank(MPI_COMM_WORLD, &rank);
  MPI_Comm_size(MPI_COMM_WORLD, &size);
  const Arguments arguments = parse(argc, argv);
  einstream::Options options;
  options.backend = einstream::backend_from_string(arguments.backend);
  options.memory_limit = einstream::MemoryLimit::parse(arguments.memory_limit);
  const std::vector<einstream::DeviceInfo> gpus = einstream::devices();
  if (!gpus.empty()) options.device = rank % static_cast<int>(gpus.size());

  std::vector<TensorDesc> descs;
  std::vector<std::vector<float>> inputs;
  std::vector<const void*> pointers;
  std::mt19937 random(7);  // the same inputs on every rank
  std::uniform_real_distribution<float> uniform(-1.0f, 1.0f);
  for (const char* term : kTerms) {
    std::vector<std::int64_t> shape;
    for (const char* mode = term; *mode != '\0'; ++mode)
      shape.push_back(arguments.extents.at(*mode));
    descs.emplace_back(DataType::f32, shape);
    inputs.emplace_back(static_cast<std::size_t>(descs.back().element_count()));
    for (float& value : inputs.back()) value = uniform(random);
    pointers.push_back(inputs.back().data());
  }
  einstream::Plan plan(kExpression, descs, options);
  std::vector<float> output(static_cast<std::size_t>(plan.output().element_count()));
  std::vector<double> totals;
  einstream::DistributedTimes times;
  std::vector<double> shares, reduces;
  for (int trial = 0; trial <= arguments.repeat; ++trial) {
    MPI_Barrier(MPI_COMM_WORLD);
    const double start = MPI_Wtime();
    einstream::execute_distributed(plan, MPI_COMM_WORLD, pointers, output.data(), 1.0, 0.0, 0,
                                   false, &times);
    MPI_Barrier(MPI_COMM_WORLD);
    if (trial == 0) continue;  // warm-up
    totals.push_back(MPI_Wtime() - start);
    shares.push_back(times.share_seconds);
    reduces.push_back(times.reduce_seconds);
  }
  const double share = median(shares), reduce = median(reduces);
  std::vector<double> all_shares(static_cast<std::size_t>(size)),
      all_reduces(static_cast<std::size_t>(size));
  MPI_Gather(&share, 1, MPI_DOUBLE, all_shares.data(), 1, MPI_DOUBLE, 0, MPI_COMM_WORLD);
  MPI_Gather(&reduce, 1, MPI_DOUBLE, all_reduces.data(), 1, MPI_DOUBLE, 0, MPI_COMM_WORLD);
  if (rank != 0) return 0;

  // The single-process result, for the check.
  std::vector<float> expected(output.size());
  plan.execute(pointers, expected.data());
  double difference = 0, norm = 0;
  for (std::size_t at = 0; at < output.size(); ++at) {
    difference += std::pow(static_cast<double>(output[at]) - expected[at], 2);
    norm += std::pow(static_cast<double>(expected[at]), 2);
  }
  const double error = norm > 0 ? std::sqrt(difference / norm) : std::sqrt(difference);
  const double total = median(totals);
  double mean = 0, largest = 0;
  for (double seconds : all_shares) {
    mean += seconds / size;
    largest = std::max(largest, seconds);
  }
  const double balance = mean > 0 ? largest / mean : 1;
  std::printf("einstream_mpi_bench: %d ranks, backend %s, %s GPUs visible, limit %s\n", size,
              einstream::to_string(plan.backend()), std::to_string(gpus.size()).c_str(),
              arguments.memory_limit.c_str());
  std::printf(
      "median %.4f s; largest share %.4f s, balance %.3f (largest/mean); reduction %.4f s "
      "(%.1f%% of the total, with %s); error %.1e against one process\n",
      total, largest, balance, all_reduces[0], 100.0 * all_reduces[0] / total,
      times.reduced_with.c_str(), error);
  for (int r = 0; r < size; ++r) {
    std::printf("  rank %d: share %.4f s, reduction %.4f s\n", r, all_shares[r], all_reduces[r]);
  }
  if (!arguments.out.empty()) {
    std::ofstream file(arguments.out);
    file << "{\"ranks\": " << size << ", \"backend\": \"" << einstream::to_string(plan.backend())
         << "\", \"median_seconds\": " << total << ", \"balance\": " << balance
         << ", \"reduce_share\": " << all_reduces[0] / total << ", \"reduced_with\": \""
         << times.reduced_with << "\", \"error\": " << error << ", \"share_seconds\": [";
    for (int r = 0; r < size; ++r) file << (r ? ", " : "") << all_shares[r];
    file << "], \"reduce_seconds\": [";
    for (int r = 0; r < size; ++r) file << (r ? ", " : "") << all_reduces[r];
    file << "]}\n";
  }
  return error <= 1e-4 ? 0 : 1;
}

}  // namespace

int main(int argc, char** argv) {
  MPI_Init(&argc, &argv);
  int status = 0;
  try {
    status = run(argc, argv);
  } catch (const std::exception& error) {
    std::fprintf(stderr, "einstream_mpi_bench: %s\n", error.what());
    status = 2;
  }
  int worst = 0;
  MPI_Allreduce(&status, &worst, 1, MPI_INT, MPI_MAX, MPI_COMM_WORLD);
  MPI_Finalize();
  return worst;
}
