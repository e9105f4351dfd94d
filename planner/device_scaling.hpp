// The scaling model: a plan's predicted time when its blocks are shared
// among several equal devices of one host (Options::devices), for
// explain(). Each device has its own host link and pipeline; every device
// copies the resident inputs itself and runs one contiguous range of the
// loop order (planner/block_assignment); devices that own whole blocks of a
// streamed output write them in place, otherwise each sums its share into a
// partial output in host memory, which the host then adds. Pageable
// operands go through the host's staging threads, whose copy rate all
// devices share, so the host binds before the links do.
#pragma once

#include <cstdint>

#include "planner/problem.hpp"
#include "planner/slice.hpp"

namespace einstream::detail {

struct ScalingInputs {
  double resident_bytes = 0;  // spans of the inputs `plan` keeps resident
  double output_bytes = 0;    // the output's span
  // Bytes/s of the host adding one partial output into another (a read of
  // each and a write).
  double host_add = 20e9;
};

struct DeviceScaling {
  int devices = 1;
  double seconds = 0;          // predicted, on `devices`
  double combine_seconds = 0;  // of which: adding the partials on the host
  bool staging_bound = false;  // the host's staging rate sets `seconds`
  int devices_with_work = 1;   // fewer than `devices` when blocks run out
};

// `plan`'s predicted time (plan.seconds on one device) on `devices` equal
// devices. Throws Error for devices < 1.
DeviceScaling predict_on_devices(const Problem& problem, const SlicePlan& plan, int devices,
                                 const Rates& rates, const ScalingInputs& inputs);

}  // namespace einstream::detail
