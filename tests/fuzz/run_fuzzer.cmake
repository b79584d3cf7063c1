# Runs one libFuzzer target: seeds a working corpus from tests/fuzz/corpus/NAME and the SEEDS
# directories (relative to SRC; DIR/*.yaml takes only YAML files), then fuzzes for SECONDS, or for
# RUNS executions when RUNS is set (scripts/soak), stopped after CAP seconds if CAP is set too.
# FLAGS: more libFuzzer flags (a list). REPLAY: another build of the same target (the ASan one,
# when the fuzzing build has no ASan) that then runs every input of the grown working corpus once.
# A crash or a broken invariant fails with the input saved beside the working corpus
# (WORK-crash-*, WORK-replay-crash-*), to be added to tests/fuzz/corpus/NAME. libFuzzer's own
# output goes to WORK-libfuzzer.log.
# Prints "libFuzzer NAME: N runs in T s (R/s), no crash"; with RUNS, "(target RUNS reached)" or,
# when the cap stopped it first, "(SHORT of RUNS: capped at CAP s)" and then fails.
file(REMOVE_RECURSE ${WORK})
file(MAKE_DIRECTORY ${WORK})
set(globs ${SRC}/tests/fuzz/corpus/${NAME}/*)
foreach(dir IN LISTS SEEDS)
  if(dir MATCHES "/\\*\\.yaml$")
    list(APPEND globs ${SRC}/${dir})
  else()
    list(APPEND globs ${SRC}/${dir}/*)
  endif()
endforeach()
file(GLOB seeds LIST_DIRECTORIES false ${globs})
foreach(s IN LISTS seeds)
  file(COPY ${s} DESTINATION ${WORK})
endforeach()
if(NOT MAX_LEN)
  set(MAX_LEN 4096)
endif()
if(RUNS)
  set(budget -runs=${RUNS})
  if(CAP)
    list(APPEND budget -max_total_time=${CAP})
  endif()
else()
  set(budget -max_total_time=${SECONDS})
endif()
# libFuzzer's count of executed inputs (-print_final_stats=1) in OUTPUT, into VAR.
function(executed_units var output)
  string(REGEX MATCH "stat::number_of_executed_units: *[0-9]+" n "${output}")
  string(REGEX REPLACE ".*: *" "" n "${n}")
  set(${var} "${n}" PARENT_SCOPE)
endfunction()
# Stops with MESSAGE and the last 6000 characters of OUTPUT (libFuzzer's report is at its end).
function(fail_with_tail message output)
  string(LENGTH "${output}" n)
  if(n GREATER 6000)
    math(EXPR from "${n} - 6000")
    string(SUBSTRING "${output}" ${from} 6000 output)
  endif()
  message(FATAL_ERROR "${message}:\n${output}")
endfunction()

string(TIMESTAMP t0 "%s")
# -reload=0: one process owns the corpus, so libFuzzer need not list it again every second.
execute_process(COMMAND ${FUZZER} ${budget} -seed=1 -rss_limit_mb=2048 -timeout=20 -max_len=${MAX_LEN} -reload=0
                        ${FLAGS} -print_final_stats=1 -artifact_prefix=${WORK}-crash- ${WORK}
                RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE err)
string(TIMESTAMP t1 "%s")
file(WRITE ${WORK}-libfuzzer.log "${err}")  # the whole output, for the rate over time
math(EXPR elapsed "${t1} - ${t0}")
executed_units(units "${err}")
if(NOT rc EQUAL 0)
  fail_with_tail("the ${NAME} fuzzer failed (${rc}) after ${units} runs" "${err}")
endif()
if(NOT elapsed GREATER 0)
  set(elapsed 1)
endif()
math(EXPR rate "${units} / ${elapsed}")
set(note "")
set(short FALSE)
if(RUNS)
  if(units LESS RUNS)
    set(note " (SHORT of ${RUNS}: capped at ${CAP} s)")
    set(short TRUE)
  else()
    set(note " (target ${RUNS} reached)")
  endif()
endif()
if(REPLAY)
  file(REMOVE_RECURSE ${WORK}-replay-new)
  file(MAKE_DIRECTORY ${WORK}-replay-new)
  execute_process(COMMAND ${REPLAY} -runs=0 -rss_limit_mb=2048 -timeout=20 -print_final_stats=1
                          -artifact_prefix=${WORK}-replay-crash- ${WORK}-replay-new ${WORK}
                  RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE err)
  executed_units(replayed "${err}")
  if(NOT rc EQUAL 0)
    fail_with_tail("the ${NAME} corpus failed (${rc}) when replayed by ${REPLAY}" "${err}")
  endif()
  string(APPEND note "; its grown corpus replayed under ASan+UBSan: ${replayed} runs, no crash")
endif()
message(STATUS "libFuzzer ${NAME}: ${units} runs in ${elapsed} s (${rate}/s), no crash${note}")
if(short)
  message(FATAL_ERROR "the ${NAME} fuzzer made ${units} of the ${RUNS} runs asked before its ${CAP} s cap")
endif()
