# USDT probes (txn/trace.h): on when <sys/sdt.h> is there (Debian
# systemtap-sdt-dev) and JOBTXN_USDT is ON; otherwise compiled out.
include(CheckIncludeFile)
option(JOBTXN_USDT "USDT probes (provider jobtxn) in the library; needs <sys/sdt.h>" ON)
set(JOBTXN_USDT_ACTIVE OFF)
if(JOBTXN_USDT)
  check_include_file(sys/sdt.h JOBTXN_HAVE_SYS_SDT_H)
  if(JOBTXN_HAVE_SYS_SDT_H)
    set(JOBTXN_USDT_ACTIVE ON)
    target_compile_definitions(jobtxn_objects PRIVATE JOBTXN_USDT)
  else()
    message(STATUS "jobtxn: <sys/sdt.h> not found (Debian systemtap-sdt-dev): USDT probes compiled out")
  endif()
endif()
