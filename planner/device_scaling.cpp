#include "planner/device_scaling.hpp"

#include <algorithm>
#include <string>
#include <vector>

#include "einstream/error.hpp"
#include "planner/block_assignment.hpp"

namespace einstream::detail {

namespace {

struct Shares {
  double largest = 0;  // the largest share of the blocks, as a fraction of them all
  int with_work = 1;   // devices that get any
  bool partial_sums = false;
};

Shares shares_of(const Problem& problem, const SlicePlan& plan, int devices) {
  const BlockAssignment assignment =
      assign_blocks(problem, plan, std::vector<double>(static_cast<std::size_t>(devices), 1.0));
  std::int64_t largest = 0;
  int with_work = 0;
  for (const BlockRange& range : assignment.ranges) {
    largest = std::max(largest, range.size());
    with_work += range.size() > 0;
  }
  const double blocks = static_cast<double>(std::max<std::int64_t>(1, plan.block_count));
  return {static_cast<double>(largest) / blocks, std::max(1, with_work), assignment.partial_sums};
}

}  // namespace

DeviceScaling predict_on_devices(const Problem& problem, const SlicePlan& plan, int devices,
                                 const Rates& rates, const ScalingInputs& inputs) {
  if (devices < 1) {
    throw Error("predict_on_devices: " + std::to_string(devices) + " devices; expected at least 1");
  }
  DeviceScaling scaling;
  scaling.devices = devices;
  if (devices == 1) {
    scaling.seconds = plan.seconds;
    return scaling;
  }
  // Residents cross each device's link first, and a resident output comes
  // back whole; the rest is the blocks' pipelined time, which the ranges
  // divide.
  const double staged_rate =
      rates.staging > 0 ? std::min(rates.host_to_device, rates.staging) : rates.host_to_device;
  const double residents = inputs.resident_bytes / staged_rate;
  const bool output_resident = plan.output == Residency::resident;
  const double output_back = output_resident ? inputs.output_bytes / rates.device_to_host : 0;
  const double blocks = std::max(0.0, plan.seconds - residents - output_back);
  const Shares shares = shares_of(problem, plan, devices);
  const double share = shares.largest;
  const int with_work = shares.with_work;
  scaling.devices_with_work = with_work;
  // Devices that own whole blocks of a streamed output write them in
  // place; otherwise every device's partial is a whole output in host
  // memory: each but the first is added into it, and it into the caller's.
  const bool direct = !shares.partial_sums && plan.output == Residency::streamed;
  scaling.combine_seconds = direct ? 0 : devices * 3.0 * inputs.output_bytes / inputs.host_add;
  // (A streamed output's blocks come back within each device's range.)
  double seconds = residents + blocks * share + output_back;
  if (rates.staging > 0) {
    // All devices' staged bytes share the host's copy rate: each device
    // copies the residents itself.
    const double staged =
        plan.bytes_to_device + plan.bytes_to_host + (with_work - 1) * inputs.resident_bytes;
    const double host = staged / rates.staging;
    if (host > seconds) {
      seconds = host;
      scaling.staging_bound = true;
    }
  }
  scaling.seconds = seconds + scaling.combine_seconds;
  return scaling;
}

}  // namespace einstream::detail
