// docstore-sidecar's metrics of its database (core/metrics_text.h says what
// they are), for Prometheus:
//
//   docstore-sidecar --metrics-listen 127.0.0.1:9464 docs.db   # GET /metrics
//   docstore-sidecar --metrics-file /var/lib/prometheus/node-exporter/docstore.prom docs.db
//
// --metrics-listen HOST:PORT serves GET /metrics with cpp-httplib, in threads
// of the sidecar (two workers; every other path is 404). The port is bound
// with SO_REUSEADDR only, not the SO_REUSEPORT httplib sets by default, so
// a port another process holds is an error at start rather than a port two
// processes share; each connection serves one request, so a scraper's
// connection never keeps the others waiting. The metrics name the database's
// path and count its reads, nothing of its documents; still, listen on
// loopback, or keep the port behind a firewall.
//
// --metrics-file PATH writes the same text for node_exporter's textfile
// collector after a flush interval, once a second at most: into PATH.tmp in
// PATH's directory (made anew, never through a link; mode 0644 less the
// umask, for node_exporter's user), then renamed over PATH, so a reader sees
// the old text or the new, never a part. It is not fsynced: a metrics file
// need not survive a crash, and its mtime (node_textfile_mtime_seconds) says
// how fresh it is. The last one written, when the sidecar stops, says
// docstore_sidecar_up 0.
//
// Until the database's segment exists the metrics are docstore_cache_up 0
// with the reason, and docstore_sidecar_up 1.
#ifndef DOCSTORE_SIDECAR_METRICS_SERVER_H_
#define DOCSTORE_SIDECAR_METRICS_SERVER_H_

#include <atomic>
#include <chrono>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <thread>

#include "document_cache.h"
#include "status.h"

namespace httplib {
class Server;
}

namespace docstore {

// HOST:PORT, HOST a name, an IPv4 address or a bracketed IPv6 one
// ([::1]:9464), PORT from 1 to 65535; kInvalidArgument saying what is wrong.
Status ParseListenAddress(std::string_view text, std::string* host, int* port);

class SidecarMetrics {
 public:
  // `database` as given on the command line (shown as its absolute path).
  explicit SidecarMetrics(const std::string& database);
  // Stops serving; writes the file a last time, the sidecar down.
  ~SidecarMetrics();
  SidecarMetrics(const SidecarMetrics&) = delete;
  SidecarMetrics& operator=(const SidecarMetrics&) = delete;

  // Listens on `listen` and writes `file` a first time, each if not empty:
  // an error (the port in use, a directory that cannot be written) says which.
  Status Start(const std::string& listen, const std::string& file);
  // The segment the sidecar flushes, once attached.
  void Attached(std::shared_ptr<DocumentCache> cache);
  // Why there is none yet.
  void Waiting(const std::string& why);
  // After a flush interval: writes the file if a second has passed since the
  // last time. A failure is said on stderr once, until a write works again.
  void Tick();
  // The metrics now, as served.
  std::string Text(bool sidecar_up = true);

 private:
  void WriteFile(bool sidecar_up);
  void StopServer();

  const std::string database_;
  std::mutex mutex_;  // guards cache_ and waiting_for_ (the server's threads read them)
  std::shared_ptr<DocumentCache> cache_;
  std::string waiting_for_ = "the sidecar has not looked for the segment yet";

  std::unique_ptr<httplib::Server> server_;
  std::thread server_thread_;
  std::atomic<bool> server_returned_{false};

  std::string file_;
  std::chrono::steady_clock::time_point file_written_at_{};
  std::string file_error_;  // the last failure said, until a write works
};

}  // namespace docstore

#endif  // DOCSTORE_SIDECAR_METRICS_SERVER_H_
