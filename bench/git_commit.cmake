# Writes OUT with the commit SRC is at (git describe --always --dirty), or
# "unknown" outside a git checkout. Rewrites OUT only when it changes.
execute_process(COMMAND git -C "${SRC}" describe --always --dirty --abbrev=12
  OUTPUT_VARIABLE commit OUTPUT_STRIP_TRAILING_WHITESPACE ERROR_QUIET RESULT_VARIABLE rc)
if(NOT rc EQUAL 0 OR commit STREQUAL "")
  set(commit "unknown")
endif()
file(CONFIGURE OUTPUT "${OUT}" CONTENT "#define JT_BENCH_GIT_COMMIT \"${commit}\"\n")
