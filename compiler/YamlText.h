//===- YamlText.h - Positions and diagnostics of YAML I/O input -*- C++ -*-===//
//
// What the two YAML readers (spec files, compiler/SpecYaml.cpp, and the
// dispatch table, runtime/DispatchTable.cpp) share: the line and column of a
// position in the text, and a diagnostic handler for llvm::yaml::Input that
// keeps the first message with its location. Included only by those two
// files (it pulls in llvm/Support/SourceMgr.h).
//
//===----------------------------------------------------------------------===//

#ifndef FLASHCORE_COMPILER_YAMLTEXT_H
#define FLASHCORE_COMPILER_YAMLTEXT_H

#include "llvm/Support/SourceMgr.h"

#include <string>
#include <string_view>

namespace flashcore {
namespace yamltext {

/// 1-based line and column; 0 and 0 when the position is not in the text.
struct LineColumn {
  int line = 0, column = 0;
};

inline LineColumn locate(std::string_view text, const char *position) {
  LineColumn lc;
  if (!position || position < text.data() ||
      position > text.data() + text.size())
    return lc;
  lc.line = 1;
  lc.column = 1;
  for (const char *c = text.data(); c < position; ++c) {
    if (*c == '\n') {
      ++lc.line;
      lc.column = 1;
    } else {
      ++lc.column;
    }
  }
  return lc;
}

/// The first diagnostic llvm::yaml::Input reports (the later ones follow
/// from it): pass captureDiag and a DiagCapture to the Input's constructor.
struct DiagCapture {
  bool seen = false;
  int line = 0, column = 0;
  std::string message;
};

inline void captureDiag(const llvm::SMDiagnostic &d, void *ctxt) {
  auto *capture = static_cast<DiagCapture *>(ctxt);
  if (capture->seen)
    return;
  capture->seen = true;
  capture->line = d.getLineNo();
  capture->column = d.getColumnNo() + 1;
  capture->message = d.getMessage().str();
}

} // namespace yamltext
} // namespace flashcore

#endif // FLASHCORE_COMPILER_YAMLTEXT_H
