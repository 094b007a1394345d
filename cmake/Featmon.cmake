# One helper declares every library and test, so that each folder's
# CMakeLists.txt states only its sources and its explicit dependencies.

# featmon_library(NAME featmon_x SOURCES a.cpp b.cpp DEPS dep1 dep2)
# Headers are included as "folder/file.h" from the repository root.
function(featmon_library)
  cmake_parse_arguments(ARG "" "NAME" "SOURCES;DEPS" ${ARGN})
  add_library(${ARG_NAME} STATIC ${ARG_SOURCES})
  target_include_directories(${ARG_NAME} PUBLIC ${PROJECT_SOURCE_DIR} ${PROJECT_BINARY_DIR})
  target_link_libraries(${ARG_NAME} PUBLIC ${ARG_DEPS})
endfunction()

# featmon_test(NAME x_test SOURCES x_test.cpp DEPS featmon_x [LABELS unit])
function(featmon_test)
  cmake_parse_arguments(ARG "" "NAME;TIMEOUT" "SOURCES;DEPS;LABELS" ${ARGN})
  add_executable(${ARG_NAME} ${ARG_SOURCES})
  target_include_directories(${ARG_NAME} PRIVATE ${PROJECT_SOURCE_DIR} ${PROJECT_BINARY_DIR})
  target_link_libraries(${ARG_NAME} PRIVATE ${ARG_DEPS} GTest::gtest GTest::gtest_main)
  add_test(NAME ${ARG_NAME} COMMAND ${ARG_NAME})
  if(NOT ARG_TIMEOUT)
    set(ARG_TIMEOUT 120)
  endif()
  if(NOT ARG_LABELS)
    set(ARG_LABELS unit)
  endif()
  set_tests_properties(${ARG_NAME} PROPERTIES TIMEOUT ${ARG_TIMEOUT} LABELS "${ARG_LABELS}")
  if("concurrent" IN_LIST ARG_LABELS)
    add_dependencies(featmon_concurrent_tests ${ARG_NAME})
  endif()
endfunction()

# featmon_use_jemalloc(target): links a program with jemalloc when the build
# has it (FEATMON_JEMALLOC, no sanitizers), replacing malloc and new for it.
function(featmon_use_jemalloc target)
  if(TARGET PkgConfig::JEMALLOC)
    target_link_libraries(${target} PRIVATE PkgConfig::JEMALLOC)
  endif()
endfunction()
