// docstore-sidecar --list-segments [--remove-orphans]: every docstore
// segment on the host (/dev/shm/docstore-*) with its database's path (from
// its header), its size and entries, the processes that have it mapped (as
// far as this user can see), and whether its database still exists and is
// the same file (the segment's name carries the file's device and inode).
//
// An orphan is a segment whose database file is gone, or whose path now
// names another file. --remove-orphans removes those, and only those, that
// no process has open or mapped (the kernel says so, whoever the process
// and whatever its PID namespace: core/segment_inventory.h); it says what it
// removed and what it kept and why. It never removes a segment whose header
// it could not read (another owner's, another build's layout: no path to
// check). /proc names the users it can see. `under`, if not
// empty, limits all this to segments whose database path lies under that
// directory.
#ifndef DOCSTORE_SIDECAR_SEGMENT_LIST_H_
#define DOCSTORE_SIDECAR_SEGMENT_LIST_H_

#include <string>

namespace docstore {

// Prints the list on stdout; 0, or 1 when /dev/shm could not be listed or a
// removal failed.
int ListSegmentsCommand(bool remove_orphans, const std::string& under);

// docstore-sidecar --remove-segment DATABASE: removes the segments of the
// database file `database` (its device and inode, whatever the database id
// or PID namespace) that no process has open or mapped, and says which it
// kept. For a service's ExecStopPost, run with the privileges to remove
// another user's file from /dev/shm (it is sticky). 0, or 1 when the
// database cannot be found or a removal failed; a segment in use is no
// failure.
int RemoveDatabaseSegmentsCommand(const std::string& database);

}  // namespace docstore

#endif  // DOCSTORE_SIDECAR_SEGMENT_LIST_H_
