# The fuzz targets: tests/fuzz/NAME_fuzzer.cc, each with the sources and libraries it needs, the
# seed directories besides tests/fuzz/corpus/NAME (a trailing /*.yaml takes only YAML files) and
# libFuzzer's -max_len. Shared by the libFuzzer build (tests/fuzz), the deterministic smoke
# build (tests/fuzz_smoke) and scripts/soak, which reads the SEEDS and MAX_LEN lines as written
# here (one set() per line). -max_len: long enough for every structure the reader has (a 4 KiB
# plan holds dozens of steps, 1 KiB of event stream twenty frames; larger seeds are cut to it),
# short enough that an execution stays cheap.
set(SFLOW_FUZZERS plan sse json envelope url param approval http_answer batch report)

set(SFLOW_FUZZER_plan_LIBS sflow_schemas sflow_plans sflow_engine)
set(SFLOW_FUZZER_plan_SEEDS "samples/*.yaml;tests/data/invalid/*.yaml")
set(SFLOW_FUZZER_plan_MAX_LEN 4096)
set(SFLOW_FUZZER_plan_SMOKE_RUNS 50000)

set(SFLOW_FUZZER_sse_LIBS sflow_api_core sflow_engine)
set(SFLOW_FUZZER_sse_MAX_LEN 1024)

set(SFLOW_FUZZER_json_LIBS sflow_engine)
set(SFLOW_FUZZER_json_MAX_LEN 2048)

set(SFLOW_FUZZER_envelope_SOURCES ${CMAKE_SOURCE_DIR}/api/api_envelope.cc ${CMAKE_SOURCE_DIR}/api/http_transport.cc)
set(SFLOW_FUZZER_envelope_LIBS sflow_engine OpenSSL::Crypto)
set(SFLOW_FUZZER_envelope_MAX_LEN 2048)

set(SFLOW_FUZZER_url_SOURCES ${CMAKE_SOURCE_DIR}/api/http_url.cc)
set(SFLOW_FUZZER_url_LIBS sflow_engine)
set(SFLOW_FUZZER_url_MAX_LEN 512)

set(SFLOW_FUZZER_param_LIBS sflow_plans sflow_engine)
set(SFLOW_FUZZER_param_SEEDS "samples/params")
set(SFLOW_FUZZER_param_MAX_LEN 2048)

set(SFLOW_FUZZER_approval_SOURCES ${CMAKE_SOURCE_DIR}/runner/approval.cc ${CMAKE_SOURCE_DIR}/runner/sha256.cc)
set(SFLOW_FUZZER_approval_LIBS sflow_engine Poco::Foundation OpenSSL::Crypto)
set(SFLOW_FUZZER_approval_MAX_LEN 2048)

set(SFLOW_FUZZER_batch_LIBS sflow_plans sflow_engine)
set(SFLOW_FUZZER_batch_SEEDS "samples/*.yaml")
set(SFLOW_FUZZER_batch_MAX_LEN 2048)

set(SFLOW_FUZZER_http_answer_LIBS sflow_api_core sflow_engine)
set(SFLOW_FUZZER_http_answer_MAX_LEN 1024)

set(SFLOW_FUZZER_report_SOURCES ${CMAKE_SOURCE_DIR}/cli/report_media.cc ${CMAKE_SOURCE_DIR}/cli/html_report.cc)
set(SFLOW_FUZZER_report_LIBS sflow_api_core sflow_engine)
set(SFLOW_FUZZER_report_MAX_LEN 4096)
