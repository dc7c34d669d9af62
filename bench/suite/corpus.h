// The suite's documents: `count` documents of about 1 KiB, their words drawn
// from a fixed vocabulary (so that searches find something), their metadata
// {"category": "c<id % 20>", "n": id}, with their document_access rows (the
// comparison designs count accesses into them). Every design reads the same
// file.
#ifndef DOCSTORE_BENCH_SUITE_CORPUS_H_
#define DOCSTORE_BENCH_SUITE_CORPUS_H_

#include <sqlite3.h>

#include <cstdint>
#include <string>
#include <vector>

namespace docstore::bench {

// The words documents are made of; searches draw theirs from it too.
const std::vector<std::string>& Vocabulary();

// Inserts documents first_id .. first_id + count - 1 into `db` (docstore's
// schema already there), `per_transaction` to a transaction, with every
// trigger (full-text index, audit, change log) firing. Returns the seconds it
// took.
double InsertDocuments(sqlite3* db, int64_t first_id, int64_t count, int per_transaction);

}  // namespace docstore::bench

#endif  // DOCSTORE_BENCH_SUITE_CORPUS_H_
