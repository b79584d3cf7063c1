# Runs the real binary the way a user would, from an empty working directory:
#   - `validate samples/*.yaml` exits 0;
#   - `validate` exits 2 on every plan in tests/data/invalid/ (their exact text is golden_test's job);
#   - `estimate --offline` works on every sample (exit 0, or 5 for a sample whose budget is meant to
#     be short): a local plan is otherwise quoted by the network, which tests never reach;
#   - none of it creates a file (no .sogni-flow directory, nothing at all) in the working directory.
file(GLOB samples ${SRC}/samples/*.yaml)
file(GLOB invalid ${SRC}/tests/data/invalid/*.yaml)
set(work ${CMAKE_CURRENT_BINARY_DIR}/validate-samples-cwd)
file(REMOVE_RECURSE ${work})
file(MAKE_DIRECTORY ${work})

execute_process(COMMAND ${BIN} validate ${samples} WORKING_DIRECTORY ${work}
                RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE err)
if(NOT rc EQUAL 0)
  message(FATAL_ERROR "validate samples exited ${rc}\n${out}\n${err}")
endif()
list(LENGTH samples n)
if(n LESS 6)
  message(FATAL_ERROR "expected at least 6 samples, found ${n}")
endif()
foreach(s IN LISTS samples)
  execute_process(COMMAND ${BIN} estimate --offline ${s} WORKING_DIRECTORY ${work}
                  RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE err)
  if(NOT (rc EQUAL 0 OR rc EQUAL 5))
    message(FATAL_ERROR "estimate ${s} exited ${rc}\n${out}\n${err}")
  endif()
  if(NOT out MATCHES "total: ")
    message(FATAL_ERROR "estimate ${s} printed no total\n${out}")
  endif()
endforeach()
foreach(p IN LISTS invalid)
  # A case may need extra arguments ("# args: -p seconds=50"), as tests/cli/golden_test.cc reads them.
  file(STRINGS ${p} argline REGEX "^# args: ")
  set(extra "")
  if(argline)
    string(REGEX REPLACE "^# args: " "" argline "${argline}")
    separate_arguments(extra UNIX_COMMAND "${argline}")
  endif()
  execute_process(COMMAND ${BIN} validate ${extra} ${p} WORKING_DIRECTORY ${work}
                  RESULT_VARIABLE rc OUTPUT_QUIET ERROR_QUIET)
  if(NOT rc EQUAL 2)
    message(FATAL_ERROR "validate ${p} exited ${rc}, expected 2")
  endif()
endforeach()
file(GLOB_RECURSE left LIST_DIRECTORIES true ${work}/*)
if(left)
  message(FATAL_ERROR "validate/estimate created files: ${left}")
endif()
message(STATUS "${n} samples valid and estimated; all invalid plans exit 2; no file created")
