//===- EmbeddedFile.h - Files compiled into the library ---------*- C++ -*-===//
//
// runtime/EmbedFiles.cmake writes `{"name", R"(text)"},` lines for shipped
// files (specs/, templates/); a .cpp includes them into an array of these
// and looks names up with findEmbedded.
//
//===----------------------------------------------------------------------===//

#ifndef FLASHCORE_RUNTIME_EMBEDDEDFILE_H
#define FLASHCORE_RUNTIME_EMBEDDEDFILE_H

#include <cstring>
#include <iterator>

namespace flashcore {

struct EmbeddedFile {
  const char *name;
  const char *text;
};

/// The file called `name` among `files`, or null.
template <size_t N>
const EmbeddedFile *findEmbedded(const EmbeddedFile (&files)[N],
                                 const char *name) {
  for (const EmbeddedFile &f : files)
    if (std::strcmp(f.name, name) == 0)
      return &f;
  return nullptr;
}

} // namespace flashcore

#endif // FLASHCORE_RUNTIME_EMBEDDEDFILE_H
