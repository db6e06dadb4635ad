"""CPU code generation through numba / LLVM."""
