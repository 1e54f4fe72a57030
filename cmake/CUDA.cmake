#===- CUDA.cmake - The CUDA toolkit pieces FlashCore needs ---------------===#
#
# Only headers (cuda.h for the driver API types) and, at run time, the ptxas
# binary. libcuda is opened with dlopen, so nothing links against it and the
# library loads on machines without a GPU driver.
#
#===----------------------------------------------------------------------===#
set(FLASHCORE_CUDA_HOME "/usr/local/cuda" CACHE PATH "CUDA toolkit root")
find_path(FLASHCORE_CUDA_INCLUDE_DIR cuda.h
  HINTS ${FLASHCORE_CUDA_HOME}/include ${FLASHCORE_CUDA_HOME}/targets/x86_64-linux/include
  REQUIRED)
find_program(FLASHCORE_PTXAS ptxas HINTS ${FLASHCORE_CUDA_HOME}/bin REQUIRED)
message(STATUS "cuda.h: ${FLASHCORE_CUDA_INCLUDE_DIR}; ptxas: ${FLASHCORE_PTXAS}")
