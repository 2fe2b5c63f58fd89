// expect: deleted
// A scoped_isa_ceiling restores the ceiling it replaced when it dies; a copy would restore it twice,
// so copying one must not compile (gcc: "use of deleted function", clang: "call to deleted constructor").
#include "qsparse/dispatch/isa.hpp"

void copy_a_scoped_ceiling() {
  qsparse::scoped_isa_ceiling first(qsparse::isa_level::scalar);
  qsparse::scoped_isa_ceiling second(first);
  (void)second;
}
