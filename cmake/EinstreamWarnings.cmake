# Warnings for einstream's own targets (never exported to consumers).
function(einstream_set_warnings target)
  # -Wshadow: a local that shadows another once made a streaming helper
  # read the vector it was building.
  set(flags -Wall -Wextra -Wshadow)
  if(EINSTREAM_WARNINGS_AS_ERRORS)
    list(APPEND flags -Werror)
  endif()
  target_compile_options(${target} PRIVATE $<$<COMPILE_LANGUAGE:CXX>:${flags}>)
  if(EINSTREAM_WARNINGS_AS_ERRORS)
    target_compile_options(${target} PRIVATE
      $<$<COMPILE_LANGUAGE:CUDA>:-Werror=all-warnings -Xcompiler=-Wall,-Wextra,-Wshadow,-Werror>)
  endif()
endfunction()
