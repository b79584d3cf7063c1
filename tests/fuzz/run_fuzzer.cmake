# Seeds a corpus from the samples and the invalid-plan corpus, then fuzzes for a fixed time.
file(REMOVE_RECURSE ${WORK})
file(MAKE_DIRECTORY ${WORK})
file(GLOB seeds ${SRC}/samples/*.yaml ${SRC}/tests/data/invalid/*.yaml)
foreach(s IN LISTS seeds)
  file(COPY ${s} DESTINATION ${WORK})
endforeach()
execute_process(COMMAND ${FUZZER} -max_total_time=60 -seed=1 -rss_limit_mb=2048 -max_len=65536 ${WORK}
                RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE err)
string(REGEX MATCH "Done [0-9]+ runs" done "${err}")
if(NOT rc EQUAL 0)
  message(FATAL_ERROR "the plan fuzzer failed (${rc}):\n${err}")
endif()
message(STATUS "libFuzzer: ${done} in 60 s, no crash")
