# Fails when a file includes a header of a layer it must not see, so the arrows of the architecture only point down:
# apps -> dist -> models, data -> engine -> kernels -> base. The kernels are plain functions over raw buffers and
# descriptors (their Tensor adapters live in engine/cuda/); above the engine nothing reaches past it into kernels/.
# Run by ctest with -DSOURCE_DIR=<the project's source dir>.
set(rules
  "base:engine/|kernels/|data/|models/|dist/|apps/"
  "kernels:engine/|data/|models/|dist/|apps/"
  "engine:data/|models/|dist/|apps/"
  "data:kernels/|models/|dist/|apps/"
  "models:kernels/|data/|dist/|apps/"
  "dist:kernels/|apps/"
  "apps:kernels/")
set(offenders "")
set(count 0)
foreach(rule IN LISTS rules)
  string(REPLACE ":" ";" parts "${rule}")
  list(GET parts 0 dir)
  list(GET parts 1 forbidden)
  file(GLOB_RECURSE sources "${SOURCE_DIR}/${dir}/*.h" "${SOURCE_DIR}/${dir}/*.cpp" "${SOURCE_DIR}/${dir}/*.cu"
       "${SOURCE_DIR}/${dir}/*.cuh")
  list(LENGTH sources n)
  math(EXPR count "${count} + ${n}")
  foreach(f IN LISTS sources)
    file(STRINGS "${f}" lines REGEX "^[ \t]*#[ \t]*include[ \t]*[\"<](${forbidden})")
    foreach(line IN LISTS lines)
      file(RELATIVE_PATH rel "${SOURCE_DIR}" "${f}")
      string(STRIP "${line}" line)
      list(APPEND offenders "  ${rel}: ${line}")
    endforeach()
  endforeach()
endforeach()
if(offenders)
  list(JOIN offenders "\n" listing)
  message(FATAL_ERROR "these includes point up or skip a layer (apps -> dist -> models, data -> engine -> kernels -> "
                      "base); pass pointers and descriptors down, or reach kernels through an engine header:\n${listing}")
endif()
message(STATUS "checked ${count} files: every include points down")
