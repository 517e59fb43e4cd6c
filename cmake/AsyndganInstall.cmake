# Installs the engine library, its headers and a CMake package so that find_package(asyndgan) gives asyndgan::engine.
include(GNUInstallDirs)
include(CMakePackageConfigHelpers)

install(TARGETS asyndgan_base asyndgan_kernels asyndgan_engine EXPORT asyndganTargets
  ARCHIVE DESTINATION ${CMAKE_INSTALL_LIBDIR}
  INCLUDES DESTINATION include/asyndgan)
# engine/io/json.h is left out: it is nlohmann's, which the installed package does not bring along.
foreach(dir base kernels engine)
  install(DIRECTORY ${PROJECT_SOURCE_DIR}/${dir}/ DESTINATION include/asyndgan/${dir}
    FILES_MATCHING PATTERN "*.h" PATTERN "*.cuh" REGEX "/engine/io/json\\.h$" EXCLUDE)
endforeach()
install(EXPORT asyndganTargets NAMESPACE asyndgan:: DESTINATION ${CMAKE_INSTALL_LIBDIR}/cmake/asyndgan)
configure_package_config_file(${PROJECT_SOURCE_DIR}/cmake/asyndganConfig.cmake.in
  ${PROJECT_BINARY_DIR}/asyndganConfig.cmake INSTALL_DESTINATION ${CMAKE_INSTALL_LIBDIR}/cmake/asyndgan)
write_basic_package_version_file(${PROJECT_BINARY_DIR}/asyndganConfigVersion.cmake COMPATIBILITY SameMinorVersion)
install(FILES ${PROJECT_BINARY_DIR}/asyndganConfig.cmake ${PROJECT_BINARY_DIR}/asyndganConfigVersion.cmake
  DESTINATION ${CMAKE_INSTALL_LIBDIR}/cmake/asyndgan)
