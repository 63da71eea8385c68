# man3 pages generated from include/jobtxn.h at build time (no tool beyond
# CMake), installed under ${CMAKE_INSTALL_MANDIR}/man3.
option(JOBTXN_MAN "Generate and install man3 pages from the public header" ON)
if(JOBTXN_MAN)
  set(JOBTXN_MAN_DIR ${PROJECT_BINARY_DIR}/man/man3)
  add_custom_command(OUTPUT ${PROJECT_BINARY_DIR}/man/man3.stamp
    COMMAND ${CMAKE_COMMAND} -DHEADER=${PROJECT_SOURCE_DIR}/include/jobtxn.h
            -DOUT_DIR=${JOBTXN_MAN_DIR} -DVERSION=${PROJECT_VERSION}
            -P ${PROJECT_SOURCE_DIR}/cmake/JobtxnManPages.cmake
    COMMAND ${CMAKE_COMMAND} -E touch ${PROJECT_BINARY_DIR}/man/man3.stamp
    DEPENDS ${PROJECT_SOURCE_DIR}/include/jobtxn.h ${PROJECT_SOURCE_DIR}/cmake/JobtxnManPages.cmake
    COMMENT "man3 pages from jobtxn.h"
    VERBATIM)
  add_custom_target(jobtxn_man ALL DEPENDS ${PROJECT_BINARY_DIR}/man/man3.stamp)
  install(DIRECTORY ${JOBTXN_MAN_DIR} DESTINATION ${CMAKE_INSTALL_MANDIR})
endif()
