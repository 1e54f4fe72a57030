#===- runtime/RewriteIncludes.cmake - Public headers for the install tree ===#
#
# Script mode, run at build time:
#
#   cmake -DSRC=<header> -DOUT=<copy> -P RewriteIncludes.cmake
#
# Copies a public header, turning `#include "compiler/X.h"` into
# `#include "flashcore/compiler/X.h"`, so that the installed tree
# (<prefix>/include/flashcore/...) needs only -I<prefix>/include.
#
#===----------------------------------------------------------------------===#
file(READ "${SRC}" text)
string(REPLACE "#include \"compiler/" "#include \"flashcore/compiler/" text "${text}")
set(old "")
if(EXISTS "${OUT}")
  file(READ "${OUT}" old)
endif()
if(NOT old STREQUAL text)
  file(WRITE "${OUT}" "${text}")
endif()
