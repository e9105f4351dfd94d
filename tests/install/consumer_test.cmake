# Installs einstream from EINSTREAM_BUILD_DIR into WORK_DIR/prefix, then
# configures, builds and runs examples/ against that prefix with
# find_package(einstream), exactly as a separate project would.
file(REMOVE_RECURSE ${WORK_DIR})
file(MAKE_DIRECTORY ${WORK_DIR})
if(NOT CONFIG)
  set(CONFIG Release)
endif()

function(run_step)
  execute_process(COMMAND ${ARGN} RESULT_VARIABLE status OUTPUT_VARIABLE output ERROR_VARIABLE output)
  if(NOT status EQUAL 0)
    message(FATAL_ERROR "step failed (${status}): ${ARGN}\n${output}")
  endif()
endfunction()

run_step(${CMAKE_COMMAND} --install ${EINSTREAM_BUILD_DIR} --prefix ${WORK_DIR}/prefix --config ${CONFIG})
if(NOT EXISTS ${WORK_DIR}/prefix/include/einstream/einstream.hpp)
  message(FATAL_ERROR "install did not place include/einstream/einstream.hpp")
endif()
# The library's compiler and flags: a library built with sanitizer flags only
# links into a program built with the same ones.
set(compiler_args)
if(CXX_COMPILER)
  list(APPEND compiler_args -DCMAKE_CXX_COMPILER=${CXX_COMPILER})
endif()
run_step(${CMAKE_COMMAND} -S ${EINSTREAM_SOURCE_DIR}/examples -B ${WORK_DIR}/build
         -DCMAKE_PREFIX_PATH=${WORK_DIR}/prefix -DCMAKE_BUILD_TYPE=${CONFIG} ${compiler_args}
         "-DCMAKE_CXX_FLAGS=${CXX_FLAGS}" "-DCMAKE_EXE_LINKER_FLAGS=${EXE_LINKER_FLAGS}")
run_step(${CMAKE_COMMAND} --build ${WORK_DIR}/build --config ${CONFIG})
find_program(example matrix_chain PATHS ${WORK_DIR}/build ${WORK_DIR}/build/${CONFIG} NO_DEFAULT_PATH REQUIRED)
execute_process(COMMAND ${example} RESULT_VARIABLE status OUTPUT_VARIABLE output ERROR_VARIABLE output)
if(NOT status EQUAL 0)
  message(FATAL_ERROR "example failed (${status}):\n${output}")
endif()
message(STATUS "example ran:\n${output}")
