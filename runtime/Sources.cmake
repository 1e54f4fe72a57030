#===- runtime/Sources.cmake - Sources of the fc_runtime object library ---===#
#
# Included by runtime/CMakeLists.txt. Everything here is MLIR-free; only
# LLVMSupport (SHA-256, YAML I/O) is used, privately.
#
#===----------------------------------------------------------------------===#
set(FLASHCORE_RUNTIME_SOURCES
  ${CMAKE_CURRENT_SOURCE_DIR}/ArgValidation.cpp
  ${CMAKE_CURRENT_SOURCE_DIR}/CApi.cpp
  ${CMAKE_CURRENT_SOURCE_DIR}/CacheApi.cpp
  ${CMAKE_CURRENT_SOURCE_DIR}/CacheEntry.cpp
  ${CMAKE_CURRENT_SOURCE_DIR}/CacheKey.cpp
  ${CMAKE_CURRENT_SOURCE_DIR}/Compile.cpp
  ${CMAKE_CURRENT_SOURCE_DIR}/CudaDriver.cpp
  ${CMAKE_CURRENT_SOURCE_DIR}/Device.cpp
  ${CMAKE_CURRENT_SOURCE_DIR}/DiskCache.cpp
  ${CMAKE_CURRENT_SOURCE_DIR}/Dispatch.cpp
  ${CMAKE_CURRENT_SOURCE_DIR}/DispatchTable.cpp
  ${CMAKE_CURRENT_SOURCE_DIR}/KernelArgs.cpp
  ${CMAKE_CURRENT_SOURCE_DIR}/KernelCache.cpp
  ${CMAKE_CURRENT_SOURCE_DIR}/Launcher.cpp
  ${CMAKE_CURRENT_SOURCE_DIR}/Log.cpp
  ${CMAKE_CURRENT_SOURCE_DIR}/Nvrtc.cpp
  ${CMAKE_CURRENT_SOURCE_DIR}/PtxAssembler.cpp
  ${CMAKE_CURRENT_SOURCE_DIR}/Subprocess.cpp
  ${CMAKE_CURRENT_SOURCE_DIR}/TemplateKernel.cpp
  ${CMAKE_CURRENT_SOURCE_DIR}/TensorMap.cpp)
