// einstream: Einstein summation for tensors larger than the GPU.
// The one header a user includes.
#pragma once

#include "einstream/devices.hpp"
#include "einstream/error.hpp"
#include "einstream/npy.hpp"
#include "einstream/plan.hpp"
#include "einstream/report.hpp"
#include "einstream/tensor.hpp"
#include "einstream/version.hpp"
