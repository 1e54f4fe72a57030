#===- runtime/Install.cmake - cmake --install rules ----------------------===#
#
# <prefix>/lib/libflashcore.so
# <prefix>/include/flashcore/{flashcore.h, Runtime.h, Device.h, Compile.h,
#                             Cache.h, compiler/Spec.h, compiler/KernelABI.h}
# <prefix>/lib/cmake/flashcore/flashcoreConfig.cmake (flashcore::flashcore)
#
# The C++ headers include the MLIR-free compiler headers they need; those are
# installed beside them with their includes rewritten (RewriteIncludes.cmake)
# so that -I<prefix>/include is enough.
#
#===----------------------------------------------------------------------===#
set(install_include ${CMAKE_CURRENT_BINARY_DIR}/install-include/flashcore)
set(public_headers
  "include/flashcore/flashcore.h=flashcore.h"
  "include/flashcore/Runtime.h=Runtime.h"
  "include/flashcore/Device.h=Device.h"
  "include/flashcore/Compile.h=Compile.h"
  "include/flashcore/Cache.h=Cache.h"
  "../compiler/Spec.h=compiler/Spec.h"
  "../compiler/KernelABI.h=compiler/KernelABI.h")
set(rewritten)
foreach(pair IN LISTS public_headers)
  string(REPLACE "=" ";" pair "${pair}")
  list(GET pair 0 src)
  list(GET pair 1 dst)
  add_custom_command(OUTPUT ${install_include}/${dst}
    COMMAND ${CMAKE_COMMAND} -DSRC=${CMAKE_CURRENT_SOURCE_DIR}/${src}
            -DOUT=${install_include}/${dst}
            -P ${CMAKE_CURRENT_SOURCE_DIR}/RewriteIncludes.cmake
    DEPENDS ${CMAKE_CURRENT_SOURCE_DIR}/${src}
            ${CMAKE_CURRENT_SOURCE_DIR}/RewriteIncludes.cmake)
  list(APPEND rewritten ${install_include}/${dst})
endforeach()
add_custom_target(flashcore_install_headers ALL DEPENDS ${rewritten})

configure_file(${CMAKE_CURRENT_SOURCE_DIR}/flashcoreConfig.cmake.in
  ${CMAKE_CURRENT_BINARY_DIR}/flashcoreConfig.cmake @ONLY)

install(TARGETS flashcore LIBRARY DESTINATION lib)
install(DIRECTORY ${install_include} DESTINATION include)
install(FILES ${CMAKE_CURRENT_BINARY_DIR}/flashcoreConfig.cmake
  DESTINATION lib/cmake/flashcore)
