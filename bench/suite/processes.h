// The suite's processes and what they share. Every worker, C++ or Python, is
// an exec'd program taking the same arguments:
//
//   WORKER DESIGN DATABASE EXTENSION REDIS_SOCKET IDS_FILE VERSIONS_FILE
//          OFFSET WARMUP OPS READY_FD START_FD RESULT_FD
//
// It opens its reader, reads WARMUP ids (untimed), writes a byte to READY_FD,
// waits for one on START_FD, then reads ids[(OFFSET + i) % length] for i <
// OPS, checking each against VERSIONS_FILE, and writes one line to RESULT_FD:
//
//   OPS ELAPSED_NS STALE VMRSS_KB RSSANON_KB FAILED
//
// FAILED counts gets that returned an error or nothing (not counted stale).
//
// IDS_FILE is the id sequence (little-endian int64s, a power of two of them),
// the same for every design. VERSIONS_FILE holds one int64 per document id,
// the last version of it whose write has committed (written by the writer
// process after each commit). A read is stale when the version it returns is
// older than the one the file held for its id before the read began.
#ifndef DOCSTORE_BENCH_SUITE_PROCESSES_H_
#define DOCSTORE_BENCH_SUITE_PROCESSES_H_

#include <sys/types.h>

#include <cstdint>
#include <string>
#include <vector>

namespace docstore::bench {

struct SuiteFiles {
  std::string database;
  std::string extension;
  std::string sidecar;       // docstore-sidecar, run beside docstore's workers
  std::string redis_socket;
  std::string ids;           // the id sequence
  std::string versions;      // committed versions, one int64 per id
  std::string python_worker; // bench/suite/worker.py
};

struct ConcurrentRun {
  std::string design;
  std::string driver;  // "c++" or "python"
  int workers = 1;
  bool writer = false;
  uint64_t ops_per_worker = 0;
  uint64_t warmup_per_worker = 0;
};

struct ConcurrentResult {
  uint64_t ops = 0;
  double slowest_seconds = 0;
  double ops_per_s = 0;  // ops / slowest worker's wall time
  uint64_t stale = 0;
  uint64_t failed = 0;  // gets that returned an error or nothing
  double max_rss_kb = 0, max_anon_kb = 0;
  uint64_t writes = 0;  // the writer's committed updates
  double writer_seconds = 0;
};

// Writes the id sequence and a zeroed versions file for `documents` ids.
void WriteSharedFiles(const SuiteFiles& files, const std::vector<int64_t>& ids, int64_t documents);

// Runs `run`'s workers together (and the writer, updating 1% of `documents`
// per second, and docstore-sidecar for docstore), waits for them and returns
// what they measured.
ConcurrentResult RunConcurrent(const SuiteFiles& files, const ConcurrentRun& run, int64_t documents);

// The C++ worker and writer processes' mains (argv as above; the writer's is
// DATABASE IDS_FILE VERSIONS_FILE REDIS_SOCKET DOCUMENTS RESULT_FD).
int WorkerMain(int argc, char** argv);
int WriterMain(int argc, char** argv);

// Starts args[0] with `args` (inherited descriptors stay open); waits for a
// process and ends the run with a message naming `what` unless it exited 0.
pid_t Spawn(const std::vector<std::string>& args);
void WaitOk(pid_t pid, const std::string& what);

// This process's VmRSS and RssAnon in KiB.
void ResidentKb(double* rss_kb, double* anon_kb);

}  // namespace docstore::bench

#endif  // DOCSTORE_BENCH_SUITE_PROCESSES_H_
