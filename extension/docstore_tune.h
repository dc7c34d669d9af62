// docstore_tune(): WAL, synchronous=NORMAL, page cache, busy timeout and mmap
// (never on an encrypted database), plus the cipher settings in force, as JSON.
#ifndef DOCSTORE_EXTENSION_DOCSTORE_TUNE_H_
#define DOCSTORE_EXTENSION_DOCSTORE_TUNE_H_

#include "sqlite_api.h"

namespace docstore {

int RegisterDocstoreTune(sqlite3* db);

}  // namespace docstore

#endif  // DOCSTORE_EXTENSION_DOCSTORE_TUNE_H_
