#===- StaticMLIR.cmake - Find LLVM/MLIR 22 and link them statically ------===#
#
# Debian's LLVM is configured with LLVM_LINK_LLVM_DYLIB, so the exported MLIR
# targets link against libLLVM.so. We want one self-contained libflashcore.so
# that can be carried to a machine without LLVM, so every exported MLIR target
# is rewritten to link the static LLVM component archives instead.
#
#===----------------------------------------------------------------------===#
if(NOT MLIR_DIR AND EXISTS /usr/lib/llvm-22/lib/cmake/mlir)
  set(MLIR_DIR /usr/lib/llvm-22/lib/cmake/mlir)
endif()
find_package(MLIR REQUIRED CONFIG)
message(STATUS "Using MLIR ${LLVM_PACKAGE_VERSION} from ${MLIR_DIR}")
if(LLVM_VERSION_MAJOR VERSION_LESS 22)
  message(FATAL_ERROR "FlashCore needs LLVM/MLIR 22, found ${LLVM_PACKAGE_VERSION}")
endif()

list(APPEND CMAKE_MODULE_PATH "${MLIR_CMAKE_DIR}" "${LLVM_CMAKE_DIR}")
include(TableGen)
include(AddLLVM)
include(AddMLIR)

# LLVM components the generator needs: IR, the O3 pipeline, the NVPTX backend.
set(FLASHCORE_LLVM_LIBS
  LLVMSupport LLVMCore LLVMAnalysis LLVMTransformUtils LLVMPasses LLVMipo
  LLVMTarget LLVMTargetParser LLVMMC LLVMCodeGen LLVMFrontendOpenMP
  LLVMFrontendOffloading LLVMBitWriter LLVMIRReader LLVMAsmParser LLVMLinker
  LLVMNVPTXCodeGen LLVMNVPTXDesc LLVMNVPTXInfo)

foreach(t ${MLIR_EXPORTED_TARGETS})
  if(TARGET ${t})
    get_target_property(_libs ${t} INTERFACE_LINK_LIBRARIES)
    if(_libs)
      list(TRANSFORM _libs REPLACE "^LLVM$" "${FLASHCORE_LLVM_LIBS}")
      set_target_properties(${t} PROPERTIES INTERFACE_LINK_LIBRARIES "${_libs}")
    endif()
  endif()
endforeach()

# MLIR/LLVM headers are third-party: no warnings from them.
include_directories(SYSTEM ${LLVM_INCLUDE_DIRS} ${MLIR_INCLUDE_DIRS})
add_definitions(${LLVM_DEFINITIONS})

find_program(FLASHCORE_LIT lit HINTS ${LLVM_TOOLS_BINARY_DIR} /usr/lib/llvm-22/bin REQUIRED)
find_program(FLASHCORE_FILECHECK FileCheck HINTS ${LLVM_TOOLS_BINARY_DIR} /usr/lib/llvm-22/bin REQUIRED)
