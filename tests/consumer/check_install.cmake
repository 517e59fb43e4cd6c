# ctest script: installs the built engine into a scratch prefix, checks that the installed package names none of
# the command-line tool's libraries, then builds and runs tests/consumer against it and checks what it links.
file(REMOVE_RECURSE ${WORK_DIR})
function(run_step)
  execute_process(COMMAND ${ARGV} RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE err)
  message("${out}")
  if(NOT rc EQUAL 0)
    message(FATAL_ERROR "step failed (${rc}): ${ARGV}\n${err}")
  endif()
endfunction()

# TOML, the command line, PNG (and zlib, which only PNG needed) belong to apps/, and the engine uses nlohmann_json
# privately: an installed engine's users need none of them.
set(FORBIDDEN "toml|cli11|spng|libpng|png\\.h|zlib|nlohmann")
function(check_no_app_dependency what text)
  string(TOLOWER "${text}" lower)
  if(lower MATCHES "(${FORBIDDEN})")
    message(FATAL_ERROR "${what} names '${CMAKE_MATCH_1}': the installed engine must not depend on the command-line "
                        "tool's libraries (TOML, CLI11, PNG) or the engine's private JSON library; move that use to apps/ or a .cpp")
  endif()
endfunction()

run_step(${CMAKE_COMMAND} --install ${BINARY_DIR} --prefix ${WORK_DIR}/prefix)
file(GLOB_RECURSE package_files ${WORK_DIR}/prefix/lib*/cmake/asyndgan/*.cmake)
if(NOT package_files)
  message(FATAL_ERROR "no CMake package files installed under ${WORK_DIR}/prefix")
endif()
foreach(f ${package_files})
  file(READ ${f} text)
  check_no_app_dependency("installed package file ${f}" "${text}")
endforeach()
file(GLOB_RECURSE headers ${WORK_DIR}/prefix/include/asyndgan/*.h ${WORK_DIR}/prefix/include/asyndgan/*.cuh)
foreach(h ${headers})
  file(STRINGS ${h} includes REGEX "^[ \t]*#[ \t]*include")
  check_no_app_dependency("installed header ${h}" "${includes}")
endforeach()

run_step(${CMAKE_COMMAND} -S ${SOURCE_DIR}/tests/consumer -B ${WORK_DIR}/build
         -DCMAKE_PREFIX_PATH=${WORK_DIR}/prefix -DCMAKE_BUILD_TYPE=Release)
run_step(${CMAKE_COMMAND} --build ${WORK_DIR}/build)
# The consumer's link line and its shared-library dependencies name none of them either.
file(GLOB_RECURSE link_lines ${WORK_DIR}/build/CMakeFiles/consumer.dir/link.txt)
foreach(f ${link_lines})
  file(READ ${f} text)
  check_no_app_dependency("the consumer's link line (${f})" "${text}")
endforeach()
find_program(LDD ldd)
if(LDD)
  execute_process(COMMAND ${LDD} ${WORK_DIR}/build/consumer OUTPUT_VARIABLE libs RESULT_VARIABLE rc)
  # libz may come in through a vendor library (cuDNN); the check is on the engine's own dependencies above.
  string(REGEX REPLACE "libz\\.so[^\n]*" "" libs "${libs}")
  check_no_app_dependency("the consumer's shared libraries (ldd)" "${libs}")
endif()
run_step(${WORK_DIR}/build/consumer)
