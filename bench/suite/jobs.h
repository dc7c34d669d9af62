// The suite's single-process measurements. Each runs in a process of its own
// (`docstore_suite --job NAME ...`), so that a docstore job starts with no
// segment mapped: the caller removes the segment first when the job wants a
// fresh one. Each appends its records, one JSON object a line, to OUT.
#ifndef DOCSTORE_BENCH_SUITE_JOBS_H_
#define DOCSTORE_BENCH_SUITE_JOBS_H_

#include <cstdint>
#include <string>
#include <vector>

namespace docstore::bench {

struct JobArgs {
  std::string name;    // import, create, memory, cached, uncached, coldwarm
  std::string design;  // a design of designs.h
  std::string database, extension, redis_socket, ids, out;
  int64_t documents = 0;
  bool quick = false;
};

// argv: --job NAME DESIGN DATABASE EXTENSION REDIS_SOCKET IDS OUT DOCUMENTS QUICK(0|1)
int JobMain(int argc, char** argv);

// The argv that runs `job` in a child.
std::vector<std::string> JobCommand(const JobArgs& job);

}  // namespace docstore::bench

#endif  // DOCSTORE_BENCH_SUITE_JOBS_H_
