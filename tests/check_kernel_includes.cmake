# Fails when a file under kernels/ includes an engine header: the kernels are the layer below the engine (plain
# functions over raw buffers and descriptors), and the engine's Tensor adapters live in engine/cuda/. Run by ctest
# with -DKERNELS_DIR=<source dir>/kernels.
file(GLOB_RECURSE sources "${KERNELS_DIR}/*")
set(offenders "")
foreach(f IN LISTS sources)
  file(STRINGS "${f}" lines REGEX "^[ \t]*#[ \t]*include[ \t]*[\"<]engine/")
  foreach(line IN LISTS lines)
    file(RELATIVE_PATH rel "${KERNELS_DIR}/.." "${f}")
    string(STRIP "${line}" line)
    list(APPEND offenders "  ${rel}: ${line}")
  endforeach()
endforeach()
if(offenders)
  list(JOIN offenders "\n" listing)
  message(FATAL_ERROR "files under kernels/ include engine headers; move the Tensor-facing code to engine/cuda/ "
                      "(or pass pointers and descriptors instead):\n${listing}")
endif()
list(LENGTH sources count)
message(STATUS "checked ${count} files under ${KERNELS_DIR}: none includes an engine header")
