// The files of sql/, compiled in (the generated embedded_sql.cc defines these).
#ifndef DOCSTORE_EXTENSION_EMBEDDED_SQL_H_
#define DOCSTORE_EXTENSION_EMBEDDED_SQL_H_

#include <cstddef>

namespace docstore {

struct EmbeddedSqlFile {
  const char* name;  // e.g. "002_fulltext.fts5.sql"
  const char* text;
};

extern const EmbeddedSqlFile kEmbeddedSqlFiles[];
extern const size_t kEmbeddedSqlFileCount;

}  // namespace docstore

#endif  // DOCSTORE_EXTENSION_EMBEDDED_SQL_H_
