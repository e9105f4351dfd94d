// A small fork-join pool for host-side bulk work (block gathers and scatters
// between pageable user tensors and pinned staging buffers).
//
// The threads are created once and parked between calls, so a streaming
// executor can call parallel_for once per block without paying thread start-up
// each time. The calling thread takes chunks too: a pool of size() == 3 has two
// worker threads.
//
// Threading contract: parallel_for may be called repeatedly, but from one
// thread at a time, and not from inside a body running on the same pool (it
// would wait on itself); both misuses throw einstream::Error instead of
// deadlocking or corrupting the pool.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <exception>
#include <functional>
#include <mutex>
#include <thread>
#include <vector>

namespace einstream::detail {

class ThreadPool {
 public:
  // Default size when threads == 0: hardware threads beyond this rarely add
  // host-memory bandwidth, and each costs a parked thread.
  static constexpr int kMaxDefaultThreads = 16;
  // Counts below this run inline. The pool cannot know what one index costs,
  // so it only skips what cannot be split; callers that know the cost (the
  // block copies, by bytes) decide whether to hand the pool small work at all.
  static constexpr std::int64_t kMinParallelCount = 2;

  // threads: how many threads run chunks, the caller included; 0 picks
  // std::thread::hardware_concurrency(), capped at kMaxDefaultThreads.
  explicit ThreadPool(int threads = 0);
  ~ThreadPool();
  ThreadPool(const ThreadPool&) = delete;
  ThreadPool& operator=(const ThreadPool&) = delete;

  int size() const { return static_cast<int>(workers_.size()) + 1; }

  // Runs body(begin, end) over about size() contiguous chunks covering
  // [0, count) exactly once, on the workers and the calling thread, and returns
  // when every chunk has finished. If chunks throw, the first exception caught
  // is rethrown here, after all chunks are done (the others are dropped).
  // Each chunk passes through FaultSite::thread_pool_task first
  // (src/fault_injection.hpp), where tests make a chosen chunk throw.
  void parallel_for(std::int64_t count,
                    const std::function<void(std::int64_t begin, std::int64_t end)>& body);

  // Called on the thread that ran each chunk, after it ran, with the thread's
  // number (0 is the caller of parallel_for, 1.. the workers) and when the
  // chunk began and ended: how a timeline sees the pool's threads. It may be
  // called from several threads at once. Set it between calls; an empty
  // function turns it off.
  using ChunkObserver = std::function<void(int thread, std::chrono::steady_clock::time_point begin,
                                           std::chrono::steady_clock::time_point end)>;
  void set_chunk_observer(ChunkObserver observer);

 private:
  void worker_loop(int thread);
  // Takes and runs chunks of the current job until none is left; `lock` is held
  // on entry and on return, released while a body runs.
  void run_chunks(std::unique_lock<std::mutex>& lock, int thread);
  void run_body(const std::function<void(std::int64_t, std::int64_t)>& body, std::int64_t begin,
                std::int64_t end, int thread) const;

  std::vector<std::thread> workers_;
  // Job state, guarded by mutex_. Chunks are handed out under the lock rather
  // than with a lone atomic counter: with about size() chunks per call the lock
  // costs nothing measurable, and it rules out a late worker taking a chunk of
  // the next job with the previous job's body.
  std::mutex mutex_;
  std::condition_variable work_ready_;
  std::condition_variable work_done_;
  const std::function<void(std::int64_t, std::int64_t)>* body_ = nullptr;
  std::int64_t count_ = 0;
  std::int64_t chunks_ = 0;
  std::int64_t next_chunk_ = 0;
  std::int64_t chunks_finished_ = 0;
  std::exception_ptr first_error_;
  bool in_call_ = false;
  bool stopping_ = false;
  ChunkObserver observer_;  // changed only between calls
};

}  // namespace einstream::detail
