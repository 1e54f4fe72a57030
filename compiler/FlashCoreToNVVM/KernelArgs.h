//===- KernelArgs.h - A kernel's parameters by name -------------*- C++ -*-===//
//
// The entry block arguments of a kernel built by createKernelFunction, indexed
// by the KernelParam enumerators of its kind's ABI table (KernelABI.h).
//
//===----------------------------------------------------------------------===//

#ifndef FLASHCORE_COMPILER_FLASHCORETONVVM_KERNELARGS_H
#define FLASHCORE_COMPILER_FLASHCORETONVVM_KERNELARGS_H

#include "compiler/FlashCoreToNVVM/KernelEmitter.h"

namespace flashcore {

class KernelArgs {
public:
  explicit KernelArgs(mlir::Block *entry) : entry(entry) {}
  mlir::Value operator[](KernelParam p) const {
    return entry->getArgument(static_cast<unsigned>(p));
  }

private:
  mlir::Block *entry;
};

} // namespace flashcore

#endif // FLASHCORE_COMPILER_FLASHCORETONVVM_KERNELARGS_H
