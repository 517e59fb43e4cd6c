# Fails when a doctest case name holds a ';': ctest's discovery splits the name there, and each half then
# selects no case at all, so both ctest tests would pass without running anything. Run by ctest with
# -DBINARIES=<test executables separated by '|'>.
string(REPLACE "|" ";" binaries "${BINARIES}")
foreach(bin IN LISTS binaries)
  execute_process(COMMAND ${bin} --list-test-cases OUTPUT_VARIABLE listing RESULT_VARIABLE rc)
  if(NOT rc EQUAL 0)
    message(FATAL_ERROR "${bin} --list-test-cases failed (${rc})")
  endif()
  string(FIND "${listing}" ";" at)
  if(NOT at EQUAL -1)
    string(SUBSTRING "${listing}" ${at} 80 context)
    message(FATAL_ERROR "${bin}: a test case name holds ';' (near \"${context}\"); use ',' instead, or ctest "
                        "splits it into tests that run nothing")
  endif()
endforeach()
message(STATUS "checked the test case names of ${BINARIES}")
