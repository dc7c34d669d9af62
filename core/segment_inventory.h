// Every docstore segment on the host, read back for docstore-sidecar
// --list-segments: its name's parts (segment_name.h), its file, and what its
// header says (the label its creator wrote, its size, its entries), or why
// it could not be read (another owner's, another build's layout, damaged).
// Reading a segment changes nothing in it; no trust is needed to read one
// (its label is bounded and only shown), so none is checked beyond what
// shmcache always checks (a regular file with one name).
#ifndef DOCSTORE_CORE_SEGMENT_INVENTORY_H_
#define DOCSTORE_CORE_SEGMENT_INVENTORY_H_

#include <sys/stat.h>

#include <cstdint>
#include <string>
#include <vector>

#include "segment_name.h"
#include "status.h"

namespace docstore {

struct SegmentReport {
  std::string name;          // "/docstore-...", the file /dev/shm/docstore-...
  bool named = false;        // the name parses (ParseSegmentName) into `parts`
  SegmentName parts;
  struct stat file {};       // lstat of the file: size, blocks, owner, mode
  std::string unreadable;    // why its header could not be read, "" when it was
  SegmentLabel label;        // from here on only when it was read
  uint64_t segment_bytes = 0;
  uint64_t entries = 0;
};

// The segments in /dev/shm whose file names start "docstore-", by name.
// kError only when /dev/shm cannot be listed.
Status ListSegments(std::vector<SegmentReport>* reports);
// Whether any process (of any user, in any PID namespace) has the segment
// open or mapped: the kernel answers (a read lease on its file is refused
// while anyone holds it for writing, as every attached process does).
// kBusy when one does; kError when it cannot be told (a lease on another
// owner's file needs CAP_LEASE).
Status CheckSegmentUnused(const std::string& name);
// Removes the segment `name` if no process has it open or mapped (kBusy
// otherwise), holding the lease while it unlinks: a process that opens it
// meanwhile waits until the name is gone, then finds it removed (document_cache.h)
// and makes a new one.
Status RemoveUnusedSegment(const std::string& name);

}  // namespace docstore

#endif  // DOCSTORE_CORE_SEGMENT_INVENTORY_H_
