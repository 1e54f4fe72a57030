#===- bench/latency.cmake - flashcore-latency (a benchmark, not a test) ---===#
#
# Included from the top-level CMakeLists.txt. Links libflashcore.so like the
# other tools and uses only its exported API. See bench/latency.cpp.
add_executable(flashcore-latency ${CMAKE_CURRENT_LIST_DIR}/latency.cpp)
target_include_directories(flashcore-latency PRIVATE ${FLASHCORE_SOURCE_DIR})
target_compile_definitions(flashcore-latency PRIVATE
  FLASHCORE_SOURCE_DIR="${FLASHCORE_SOURCE_DIR}")
target_link_libraries(flashcore-latency PRIVATE flashcore)
set_target_properties(flashcore-latency PROPERTIES BUILD_RPATH "\$ORIGIN/../lib")
