# cmake -DEXE=<stress executable> -DSITE=<function> -DSITE_FILE=<file>
#       -P expect_tsan_race.cmake
# Passes only if ThreadSanitizer reports a data race whose report names the
# injected site (function and file). Each attempt runs the stress executable
# for at most 10 s with halt_on_error, so the first report ends it with
# exit code 66; up to 3 attempts.
foreach(var EXE SITE SITE_FILE)
  if(NOT DEFINED ${var})
    message(FATAL_ERROR "expect_tsan_race.cmake: -D${var}=... is required")
  endif()
endforeach()

set(ENV{TSAN_OPTIONS} "halt_on_error=1:exitcode=66:second_deadlock_stack=1")
foreach(attempt 1 2 3)
  execute_process(COMMAND ${EXE} --seconds 10 --seed ${attempt}
    RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE err TIMEOUT 120)
  string(FIND "${err}" "WARNING: ThreadSanitizer: data race" at_race)
  string(FIND "${err}" "${SITE} " at_site)
  string(FIND "${err}" "${SITE_FILE}:" at_file)
  if(rc EQUAL 66 AND at_race GREATER -1 AND at_site GREATER -1 AND at_file GREATER -1)
    string(REGEX MATCH "WARNING: ThreadSanitizer: data race[^\n]*\n([^\n]*\n)([^\n]*\n)" head "${err}")
    message(STATUS "attempt ${attempt}: TSan reported the injected race:\n${head}")
    return()
  endif()
  message(STATUS "attempt ${attempt}: exit ${rc}, race report ${at_race}, site ${at_site}, file ${at_file}")
endforeach()
message(FATAL_ERROR "ThreadSanitizer did not report the injected race in ${SITE} (${SITE_FILE}):\n"
  "--- stdout ---\n${out}\n--- stderr (tail) ---\n${err}")
