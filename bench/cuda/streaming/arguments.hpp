// The streaming bench's command line: its options, their usage text and
// the parse.
#pragma once

#include <stdexcept>
#include <string>
#include <vector>

namespace streaming_bench {

struct Arguments {
  std::string problems_path;
  std::string out_path = "streaming-results.json";
  std::vector<std::string> only;
  int repeat = 3;
  std::vector<std::string> modes = {"pageable", "pinned", "registered"};
  std::string trace_dir;
  int device = 0;
  std::vector<int> devices;  // --devices: several GPUs (Options::devices)
  std::string command_line;
};

struct UsageError : std::runtime_error {
  using std::runtime_error::runtime_error;
};

inline constexpr const char* kUsage =
    "usage: einstream_streaming_bench PROBLEMS.json [--out RESULTS.json] [--only NAME,...]\n"
    "           [--repeat N] [--modes pageable,pinned,registered,device] [--trace-dir DIR] "
    "[--device N] [--devices 0,1,...]\n"
    "  PROBLEMS.json  problems as in bench/ooc.json\n"
    "  --out          where the results go, rewritten after every measurement\n"
    "                 (default streaming-results.json)\n"
    "  --only         run only these problems\n"
    "  --repeat       timed executions per problem and mode after one warm-up (default 3)\n"
    "  --modes        where inputs and output live (default pageable,pinned,registered)\n"
    "  --trace-dir    write one Chrome trace per problem (pinned mode, one extra execution)\n"
    "  --device       CUDA device (default 0)\n"
    "  --devices      run on these devices at once (Options::devices; host modes only)\n";

// Throws UsageError on an unknown option or a bad value; prints kUsage and
// exits on --help.
Arguments parse_arguments(int argc, char** argv);

std::string join(const std::vector<std::string>& parts, const char* separator);
// The non-empty parts of `text` between separators.
std::vector<std::string> split(const std::string& text, char separator);

}  // namespace streaming_bench
