# SHMC_STATIC_DEPS: link msgpack-c, zstd and xxHash from their static archives (Debian's
# lib*-dev packages ship them, built -fPIC), so that libshmchunk.so and the shmchunk binary
# of the wheel need nothing from the system but libc. --exclude-libs keeps their symbols
# out of libshmchunk.so's dynamic table: a process that also loads another zstd (pyarrow's,
# the system's) binds each caller to its own copy.
set(SHMC_DEPS Threads::Threads)
foreach(dep MSGPACK ZSTD XXHASH)
  foreach(name ${${dep}_LIBRARIES})
    find_library(SHMC_STATIC_${name} NAMES lib${name}.a HINTS ${${dep}_LIBRARY_DIRS})
    if(NOT SHMC_STATIC_${name})
      message(FATAL_ERROR "SHMC_STATIC_DEPS: no static archive lib${name}.a for ${dep} "
              "(searched ${${dep}_LIBRARY_DIRS} and the system paths; Debian's lib*-dev has it)")
    endif()
    list(APPEND SHMC_DEPS ${SHMC_STATIC_${name}})
  endforeach()
  add_library(shmc_headers_${dep} INTERFACE)
  target_include_directories(shmc_headers_${dep} INTERFACE ${${dep}_INCLUDE_DIRS})
  list(APPEND SHMC_DEPS shmc_headers_${dep})
endforeach()
add_link_options(LINKER:--exclude-libs,ALL)
message(STATUS "SHMC_STATIC_DEPS: linking ${SHMC_DEPS}")
