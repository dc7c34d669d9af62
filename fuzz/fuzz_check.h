// What every harness needs beside libFuzzer: a check that stays in a Release
// build (assert() does not) and says which property failed, so a crash found
// by a harness reads as the broken promise, not as a bare abort.
#ifndef DOCSTORE_FUZZ_FUZZ_CHECK_H_
#define DOCSTORE_FUZZ_FUZZ_CHECK_H_

#include <cstdio>
#include <cstdlib>

#define FUZZ_CHECK(condition)                                                                  \
  do {                                                                                         \
    if (!(condition)) {                                                                        \
      std::fprintf(stderr, "%s:%d: FUZZ_CHECK failed: %s\n", __FILE__, __LINE__, #condition); \
      std::abort();                                                                            \
    }                                                                                          \
  } while (0)

#endif  // DOCSTORE_FUZZ_FUZZ_CHECK_H_
