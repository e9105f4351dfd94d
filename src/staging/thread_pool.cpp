#include "src/staging/thread_pool.hpp"

#include <algorithm>
#include <string>

#include "einstream/error.hpp"
#include "src/fault_injection.hpp"

namespace einstream::detail {

ThreadPool::ThreadPool(int threads) {
  if (threads < 0) {
    throw Error("ThreadPool: thread count " + std::to_string(threads) +
                " is negative; pass 0 for the hardware's count or a positive count");
  }
  if (threads == 0) {
    const int hardware = static_cast<int>(std::thread::hardware_concurrency());
    threads = std::clamp(hardware, 1, kMaxDefaultThreads);
  }
  workers_.reserve(static_cast<std::size_t>(threads - 1));
  try {
    for (int worker = 1; worker < threads; ++worker) {
      workers_.emplace_back([this, worker] { worker_loop(worker); });
    }
  } catch (...) {
    // A failed thread start must not leave running threads behind a
    // half-built object whose destructor will never run.
    {
      std::lock_guard<std::mutex> lock(mutex_);
      stopping_ = true;
    }
    work_ready_.notify_all();
    for (auto& worker : workers_) worker.join();
    throw;
  }
}

ThreadPool::~ThreadPool() {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    stopping_ = true;
  }
  work_ready_.notify_all();
  for (auto& worker : workers_) worker.join();
}

void ThreadPool::set_chunk_observer(ChunkObserver observer) {
  std::lock_guard<std::mutex> lock(mutex_);
  if (in_call_) {
    throw Error("ThreadPool::set_chunk_observer: called while parallel_for is running");
  }
  observer_ = std::move(observer);
}

void ThreadPool::run_body(const std::function<void(std::int64_t, std::int64_t)>& body,
                          std::int64_t begin, std::int64_t end, int thread) const {
  if (FaultInjection::fails_now(FaultSite::thread_pool_task)) {
    throw Error(FaultInjection::message(FaultSite::thread_pool_task) +
                " (ThreadPool::parallel_for, chunk [" + std::to_string(begin) + ", " +
                std::to_string(end) + ") on thread " + std::to_string(thread) + ")");
  }
  if (!observer_) {
    body(begin, end);
    return;
  }
  const auto start = std::chrono::steady_clock::now();
  body(begin, end);
  observer_(thread, start, std::chrono::steady_clock::now());
}

void ThreadPool::worker_loop(int thread) {
  std::unique_lock<std::mutex> lock(mutex_);
  for (;;) {
    work_ready_.wait(lock, [this] { return stopping_ || next_chunk_ < chunks_; });
    if (stopping_) return;
    run_chunks(lock, thread);
  }
}

void ThreadPool::run_chunks(std::unique_lock<std::mutex>& lock, int thread) {
  while (next_chunk_ < chunks_) {
    const std::int64_t chunk = next_chunk_++;
    const std::int64_t begin = count_ * chunk / chunks_;
    const std::int64_t end = count_ * (chunk + 1) / chunks_;
    const auto* body = body_;
    lock.unlock();
    std::exception_ptr error;
    try {
      run_body(*body, begin, end, thread);
    } catch (...) {
      error = std::current_exception();
    }
    lock.lock();
    if (error && !first_error_) first_error_ = error;
    if (++chunks_finished_ == chunks_) work_done_.notify_all();
  }
}

void ThreadPool::parallel_for(
    std::int64_t count, const std::function<void(std::int64_t begin, std::int64_t end)>& body) {
  if (count <= 0) return;
  if (count < kMinParallelCount || workers_.empty()) {
    run_body(body, 0, count, 0);
    return;
  }
  std::unique_lock<std::mutex> lock(mutex_);
  if (in_call_) {
    throw Error(
        "ThreadPool::parallel_for: called while another call on this pool is running "
        "(from a second thread, or from inside a body); the pool serves one caller at a time");
  }
  in_call_ = true;
  body_ = &body;
  count_ = count;
  chunks_ = std::min<std::int64_t>(count, size());
  next_chunk_ = 0;
  chunks_finished_ = 0;
  first_error_ = nullptr;
  lock.unlock();
  work_ready_.notify_all();
  lock.lock();
  run_chunks(lock, 0);
  work_done_.wait(lock, [this] { return chunks_finished_ == chunks_; });
  // Leave no chunk to hand out, so parked workers stay parked.
  body_ = nullptr;
  chunks_ = 0;
  next_chunk_ = 0;
  in_call_ = false;
  std::exception_ptr error = first_error_;
  first_error_ = nullptr;
  lock.unlock();
  if (error) std::rethrow_exception(error);
}

}  // namespace einstream::detail
