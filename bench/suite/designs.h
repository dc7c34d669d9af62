// The designs the suite compares, as one reader interface, each reading the
// same database file:
//   docstore  SELECT doc_get(?1) (accesses counted in the segment, flushed by
//             docstore-sidecar)
//   plain     the prepared point-select building the same JSON (no access count)
//   pass1     the report's Pass 1: that select, then a synchronous UPDATE of
//             access_count, per read
//   pass2     the report's Pass 2: a private LRU of 10,000 documents in front of
//             the select; accesses queued and flushed 100 to a transaction by a
//             thread of the process
//   redis     Redis (unix socket) as a shared cache in front of the select: a
//             miss reads SQLite and SETs; the writer DELs after its commit
// bench/suite/worker.py is the same five in Python.
#ifndef DOCSTORE_BENCH_SUITE_DESIGNS_H_
#define DOCSTORE_BENCH_SUITE_DESIGNS_H_

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

namespace docstore::bench {

// The designs' names, in the order tables show them.
const std::vector<std::string>& DesignNames();

struct ReaderConfig {
  std::string database;
  std::string extension;     // docstore.so
  std::string redis_socket;  // the redis design's server
};

class Reader {
 public:
  virtual ~Reader() = default;
  // The document's JSON, copied out; "" when the read failed (error() says
  // why) or found nothing.
  virtual std::string Get(int64_t id) = 0;
  // The documents' JSON; by default one Get each.
  virtual size_t GetMany(const std::vector<int64_t>& ids);
  // Ends background work (pass2's flush thread drains its queue).
  virtual void Finish() {}
};

// A reader of design `name` (one of DesignNames()); exits the process with a
// message on an unknown name or an unusable database.
std::unique_ptr<Reader> OpenReader(const std::string& name, const ReaderConfig& config);

// The message of the last read of this process that failed ("" if none).
const std::string& LastReadError();

// The "version" field of a document's JSON (the last one: metadata or content
// cannot end with it), or -1.
int64_t VersionOf(const std::string& json);

}  // namespace docstore::bench

#endif  // DOCSTORE_BENCH_SUITE_DESIGNS_H_
