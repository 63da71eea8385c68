# Install: header, shared + static library, pkg-config file, CMake package.
include(CMakePackageConfigHelpers)

install(TARGETS jobtxn jobtxn_static EXPORT jobtxnTargets
  LIBRARY DESTINATION ${CMAKE_INSTALL_LIBDIR}
  ARCHIVE DESTINATION ${CMAKE_INSTALL_LIBDIR}
  RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR}
  INCLUDES DESTINATION ${CMAKE_INSTALL_INCLUDEDIR})
install(FILES include/jobtxn.h DESTINATION ${CMAKE_INSTALL_INCLUDEDIR})

install(EXPORT jobtxnTargets NAMESPACE jobtxn:: FILE jobtxnTargets.cmake
  DESTINATION ${CMAKE_INSTALL_LIBDIR}/cmake/jobtxn)
# Imported targets of the dependencies, created by jobtxnConfig.cmake.
if(JOBTXN_ALLOCATOR STREQUAL "jemalloc")
  set(JOBTXN_CONFIG_JEMALLOC TRUE)
else()
  set(JOBTXN_CONFIG_JEMALLOC FALSE)
endif()
configure_package_config_file(cmake/jobtxnConfig.cmake.in
  ${PROJECT_BINARY_DIR}/jobtxnConfig.cmake
  INSTALL_DESTINATION ${CMAKE_INSTALL_LIBDIR}/cmake/jobtxn)
write_basic_package_version_file(${PROJECT_BINARY_DIR}/jobtxnConfigVersion.cmake
  COMPATIBILITY SameMajorVersion)
install(FILES ${PROJECT_BINARY_DIR}/jobtxnConfig.cmake ${PROJECT_BINARY_DIR}/jobtxnConfigVersion.cmake
  DESTINATION ${CMAKE_INSTALL_LIBDIR}/cmake/jobtxn)

if(JOBTXN_ALLOCATOR STREQUAL "jemalloc")
  set(JOBTXN_PC_REQUIRES_PRIVATE "liburcu-bp jemalloc")
else()
  set(JOBTXN_PC_REQUIRES_PRIVATE "liburcu-bp")
endif()
configure_file(cmake/jobtxn.pc.in ${PROJECT_BINARY_DIR}/jobtxn.pc @ONLY)
install(FILES ${PROJECT_BINARY_DIR}/jobtxn.pc DESTINATION ${CMAKE_INSTALL_LIBDIR}/pkgconfig)
