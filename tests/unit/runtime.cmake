#===- tests/unit/runtime.cmake - Runtime unit tests (CPU, no GPU) --------===#
#
# Included from tests/unit/CMakeLists.txt. The runtime objects are linked
# without the generator: flashcore::generate is a weak reference there and
# the tests inject their own compile functions.
#
#===----------------------------------------------------------------------===#
add_executable(runtime_tests
  ${CMAKE_CURRENT_SOURCE_DIR}/RuntimeArgValidationTest.cpp
  ${CMAKE_CURRENT_SOURCE_DIR}/RuntimeCApiTest.cpp
  ${CMAKE_CURRENT_SOURCE_DIR}/RuntimeCacheStressTest.cpp
  ${CMAKE_CURRENT_SOURCE_DIR}/RuntimeCacheKeyTest.cpp
  ${CMAKE_CURRENT_SOURCE_DIR}/RuntimeDiskCacheRaceTest.cpp
  ${CMAKE_CURRENT_SOURCE_DIR}/RuntimeDiskCacheTest.cpp
  ${CMAKE_CURRENT_SOURCE_DIR}/RuntimeDispatchTableTest.cpp
  ${CMAKE_CURRENT_SOURCE_DIR}/RuntimeDispatchTest.cpp
  ${CMAKE_CURRENT_SOURCE_DIR}/RuntimeKernelCacheTest.cpp
  ${CMAKE_CURRENT_SOURCE_DIR}/RuntimePtxasTest.cpp
  ${CMAKE_CURRENT_SOURCE_DIR}/RuntimeTensorMapTest.cpp
  ${CMAKE_CURRENT_SOURCE_DIR}/RuntimeTemplateKernelTest.cpp
  $<TARGET_OBJECTS:fc_runtime>
  $<TARGET_OBJECTS:fc_spec>)
target_link_libraries(runtime_tests PRIVATE
  fc_runtime fc_spec GTest::gtest GTest::gtest_main ${CMAKE_DL_LIBS} -pthread)
# Keys memoize the ptxas version in the cache directory: keep it in the build.
gtest_discover_tests(runtime_tests DISCOVERY_MODE PRE_TEST
  PROPERTIES ENVIRONMENT "FLASHCORE_CACHE_DIR=${FLASHCORE_BINARY_DIR}/test-cache")

# The disk cache end to end through flashcore-gen (CPU: needs ptxas only).
add_test(NAME runtime_cache_cli
  COMMAND bash ${FLASHCORE_SOURCE_DIR}/tests/runtime/cache_cli.sh
          $<TARGET_FILE:flashcore-gen> ${FLASHCORE_SOURCE_DIR}/specs)
set_tests_properties(runtime_cache_cli PROPERTIES TIMEOUT 300)

# The installed tree alone builds examples/ (CPU); on a GPU the example runs
# and checks its result against fp64 (skipped without one).
add_test(NAME runtime_install_example
  COMMAND bash ${FLASHCORE_SOURCE_DIR}/tests/runtime/example_install.sh
          ${FLASHCORE_BINARY_DIR} ${FLASHCORE_SOURCE_DIR})
add_test(NAME gpu_example_run
  COMMAND bash ${FLASHCORE_SOURCE_DIR}/tests/runtime/example_install.sh
          ${FLASHCORE_BINARY_DIR} ${FLASHCORE_SOURCE_DIR} --run)
set_tests_properties(runtime_install_example gpu_example_run PROPERTIES
  TIMEOUT 600 RESOURCE_LOCK flashcore_example_install)
set_tests_properties(gpu_example_run PROPERTIES SKIP_RETURN_CODE 77 LABELS gpu)

# GPU (skipped without torch / CUDA devices): several devices from threads,
# the correctness suite through a second process's disk cache.
find_package(Python3 COMPONENTS Interpreter)
if(Python3_Interpreter_FOUND)
  add_test(NAME gpu_multigpu
    COMMAND ${Python3_EXECUTABLE} ${FLASHCORE_SOURCE_DIR}/tests/gpu/test_multigpu.py)
  add_test(NAME gpu_cache_two_process
    COMMAND ${Python3_EXECUTABLE} ${FLASHCORE_SOURCE_DIR}/tests/gpu/test_cache_two_process.py)
  set_tests_properties(gpu_multigpu gpu_cache_two_process PROPERTIES
    SKIP_RETURN_CODE 77 TIMEOUT 3600 LABELS gpu
    ENVIRONMENT "FLASHCORE_LIB=$<TARGET_FILE:flashcore>")
endif()
