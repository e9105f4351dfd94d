// Output-path checks and the registry of temporary files
// (see src/temporary_file.hpp).
#include "src/temporary_file.hpp"

#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <mutex>
#include <set>

#include "einstream/error.hpp"

namespace einstream::detail {
namespace {

// The registry behind create/commit/remove/abandon_temporary_files. Never
// destroyed: a signal thread may hold its lock while the process exits.
struct TemporaryRegistry {
  std::mutex mutex;
  std::set<std::string> temporaries;
  std::set<std::string> committed_targets;
};

TemporaryRegistry& temporary_registry() {
  static auto* registry = new TemporaryRegistry;
  return *registry;
}

}  // namespace

std::string system_reason(int error_number) {
  return error_number != 0 ? std::string(std::strerror(error_number)) : "unknown I/O error";
}

void check_output_path(const std::string& path, const std::string& what) {
  const auto refuse = [&](const std::string& why) {
    throw Error("cannot write the " + what + " '" + path + "': " + why +
                "; expected a regular file or a new file in an existing directory");
  };
  if (path.empty()) refuse("the path is empty");
  if (path.back() == '/') refuse("the path ends in '/', so it names a directory");
  struct stat status {};
  errno = 0;
  if (lstat(path.c_str(), &status) == 0) {
    // lstat, not stat: the rename would replace a link, not write through it.
    if (S_ISREG(status.st_mode)) return;
    if (S_ISLNK(status.st_mode)) {
      refuse(
          "it is a symbolic link, which writing would replace rather than follow (name its "
          "target instead)");
    }
    if (S_ISDIR(status.st_mode)) refuse("it is a directory");
    if (S_ISCHR(status.st_mode) || S_ISBLK(status.st_mode)) refuse("it is a device");
    if (S_ISFIFO(status.st_mode)) refuse("it is a FIFO (named pipe)");
    if (S_ISSOCK(status.st_mode)) refuse("it is a socket");
    refuse("it is not a regular file");
  }
  if (errno != ENOENT) refuse(system_reason(errno));
  const std::size_t slash = path.find_last_of('/');
  const std::string directory = slash == std::string::npos ? "."
                                : slash == 0               ? "/"
                                                           : path.substr(0, slash);
  struct stat directory_status {};
  errno = 0;
  if (stat(directory.c_str(), &directory_status) != 0) {
    refuse(errno == ENOENT ? "its directory '" + directory + "' does not exist"
                           : "its directory '" + directory + "': " + system_reason(errno));
  }
  if (!S_ISDIR(directory_status.st_mode)) refuse("'" + directory + "' is not a directory");
  errno = 0;
  if (access(directory.c_str(), W_OK | X_OK) != 0) {
    refuse("its directory '" + directory + "' is not writable: " + system_reason(errno));
  }
}

std::FILE* create_temporary_file(const std::string& path) {
  TemporaryRegistry& registry = temporary_registry();
  const std::lock_guard<std::mutex> lock(registry.mutex);
  std::FILE* file = std::fopen(path.c_str(), "wbx");
  if (file != nullptr) registry.temporaries.insert(path);
  return file;
}

int commit_temporary_file(const std::string& temporary, const std::string& target) {
  TemporaryRegistry& registry = temporary_registry();
  const std::lock_guard<std::mutex> lock(registry.mutex);
  errno = 0;
  if (std::rename(temporary.c_str(), target.c_str()) != 0) return errno != 0 ? errno : EIO;
  registry.temporaries.erase(temporary);
  registry.committed_targets.insert(target);
  return 0;
}

void remove_temporary_file(const std::string& temporary) {
  TemporaryRegistry& registry = temporary_registry();
  const std::lock_guard<std::mutex> lock(registry.mutex);
  std::remove(temporary.c_str());
  registry.temporaries.erase(temporary);
}

bool abandon_temporary_files(const std::string& finished_target) {
  TemporaryRegistry& registry = temporary_registry();
  std::unique_lock<std::mutex> lock(registry.mutex);
  if (!finished_target.empty() && registry.committed_targets.count(finished_target) != 0) {
    return false;
  }
  for (const std::string& temporary : registry.temporaries) std::remove(temporary.c_str());
  registry.temporaries.clear();
  lock.release();  // held until the process ends
  return true;
}

}  // namespace einstream::detail
