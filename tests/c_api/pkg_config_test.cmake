# Installs einstream from EINSTREAM_BUILD_DIR into WORK_DIR/prefix, asks
# pkg-config for its flags there, and builds and runs the C API test with
# those flags alone, as a C project without CMake would.
file(REMOVE_RECURSE ${WORK_DIR})
file(MAKE_DIRECTORY ${WORK_DIR})
if(NOT CONFIG)
  set(CONFIG Release)
endif()

function(run_step output_variable)
  execute_process(COMMAND ${ARGN} RESULT_VARIABLE status OUTPUT_VARIABLE output ERROR_VARIABLE errors
                  OUTPUT_STRIP_TRAILING_WHITESPACE)
  if(NOT status EQUAL 0)
    message(FATAL_ERROR "step failed (${status}): ${ARGN}\n${output}\n${errors}")
  endif()
  set(${output_variable} "${output}" PARENT_SCOPE)
endfunction()

run_step(ignored ${CMAKE_COMMAND} --install ${EINSTREAM_BUILD_DIR} --prefix ${WORK_DIR}/prefix
         --config ${CONFIG})
file(GLOB pc_file ${WORK_DIR}/prefix/lib*/pkgconfig/einstream.pc ${WORK_DIR}/prefix/lib/*/pkgconfig/einstream.pc)
if(NOT pc_file)
  message(FATAL_ERROR "install did not place lib/pkgconfig/einstream.pc")
endif()
get_filename_component(pc_dir ${pc_file} DIRECTORY)
set(ENV{PKG_CONFIG_PATH} ${pc_dir})
run_step(cflags ${PKG_CONFIG} --cflags einstream)
run_step(libs ${PKG_CONFIG} --libs einstream)
message(STATUS "pkg-config --cflags --libs einstream: ${cflags} ${libs}")
separate_arguments(cflags UNIX_COMMAND "${cflags}")
separate_arguments(libs UNIX_COMMAND "${libs}")
separate_arguments(c_flags UNIX_COMMAND "${C_FLAGS}")
separate_arguments(linker_flags UNIX_COMMAND "${EXE_LINKER_FLAGS}")
run_step(ignored ${C_COMPILER} -std=c99 ${c_flags} ${cflags} ${C_SOURCE} -o ${WORK_DIR}/c_api_test
         ${linker_flags} ${libs} -lm)
run_step(output ${WORK_DIR}/c_api_test)
message(STATUS "${output}")
