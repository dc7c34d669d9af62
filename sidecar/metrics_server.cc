#include "metrics_server.h"

#include <fcntl.h>
#include <httplib.h>
#include <netdb.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <climits>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <utility>

#include "clock.h"
#include "metrics_text.h"

namespace docstore {
namespace {

constexpr const char* kListenExample = "(for example 127.0.0.1:9464)";
constexpr auto kFileInterval = std::chrono::seconds(1);

// The absolute path, as the extension's docstore_metrics() shows it (SQLite
// opens a database by its full path), or `path` if it cannot be had.
std::string AbsolutePath(const std::string& path) {
  char resolved[PATH_MAX];
  return realpath(path.c_str(), resolved) != nullptr ? std::string(resolved) : path;
}

// `text` whole into `path`, by way of PATH.tmp renamed over it.
Status WriteWhole(const std::string& path, const std::string& text) {
  const std::string temporary = path + ".tmp";
  auto failed = [&](const char* what) {
    const Status status =
        Status::Error(std::string("cannot ") + what + " the metrics file " + temporary + ": " + std::strerror(errno));
    unlink(temporary.c_str());
    return status;
  };
  // Made anew, never through a link someone left in its place.
  if (unlink(temporary.c_str()) != 0 && errno != ENOENT) return failed("remove an old");
  const int fd = open(temporary.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0644);
  if (fd < 0) return failed("create");
  for (size_t written = 0; written < text.size();) {
    const ssize_t n = write(fd, text.data() + written, text.size() - written);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      const int write_errno = errno;
      close(fd);
      errno = write_errno;
      return failed("write");
    }
    written += static_cast<size_t>(n);
  }
  if (close(fd) != 0) return failed("write");
  if (rename(temporary.c_str(), path.c_str()) != 0) return failed("rename into place");
  return Status::Ok();
}

}  // namespace

Status ParseListenAddress(std::string_view text, std::string* host, int* port) {
  const size_t colon = text.rfind(':');
  if (colon == std::string_view::npos) {
    return Status::InvalidArgument("--metrics-listen wants HOST:PORT " + std::string(kListenExample) + ", not '" +
                                   std::string(text) + "'");
  }
  std::string_view name = text.substr(0, colon);
  const std::string digits(text.substr(colon + 1));
  if (name.size() >= 2 && name.front() == '[' && name.back() == ']') {
    name = name.substr(1, name.size() - 2);
  } else if (name.find(':') != std::string_view::npos) {
    return Status::InvalidArgument("--metrics-listen: put an IPv6 address in brackets, as in [::1]:9464");
  }
  if (name.empty()) {
    return Status::InvalidArgument("--metrics-listen: no host in '" + std::string(text) +
                                   "'; give 127.0.0.1:PORT for this machine alone, 0.0.0.0:PORT for every interface");
  }
  char* end = nullptr;
  const long value = std::strtol(digits.c_str(), &end, 10);
  if (digits.empty() || *end != '\0' || value < 1 || value > 65535) {
    return Status::InvalidArgument("--metrics-listen: the port must be a number from 1 to 65535, not '" + digits + "'");
  }
  *host = std::string(name);
  *port = static_cast<int>(value);
  return Status::Ok();
}

SidecarMetrics::SidecarMetrics(const std::string& database) : database_(AbsolutePath(database)) {}

SidecarMetrics::~SidecarMetrics() {
  StopServer();
  if (!file_.empty()) WriteFile(/*sidecar_up=*/false);
}

Status SidecarMetrics::Start(const std::string& listen, const std::string& file) {
  if (!listen.empty()) {
    std::string host;
    int port = 0;
    if (Status status = ParseListenAddress(listen, &host, &port); !status.ok()) return status;
    addrinfo hints{};
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV;
    addrinfo* found = nullptr;
    if (const int rc = getaddrinfo(host.c_str(), std::to_string(port).c_str(), &hints, &found); rc != 0) {
      return Status::InvalidArgument("--metrics-listen " + listen + ": cannot resolve " + host + ": " +
                                     gai_strerror(rc));
    }
    freeaddrinfo(found);
    server_ = std::make_unique<httplib::Server>();
    server_->set_socket_options([](int socket) {
      const int yes = 1;
      setsockopt(socket, SOL_SOCKET, SO_REUSEADDR, &yes, sizeof yes);
    });
    server_->new_task_queue = [] { return new httplib::ThreadPool(2); };
    server_->set_keep_alive_max_count(1);
    server_->Get("/metrics", [this](const httplib::Request&, httplib::Response& response) {
      response.set_content(Text(), kMetricsContentType);
    });
    server_->set_error_handler([](const httplib::Request&, httplib::Response& response) {
      if (response.status == 404) response.set_content("docstore-sidecar serves GET /metrics\n", "text/plain");
    });
    errno = 0;
    if (!server_->bind_to_port(host, port)) {
      const std::string why = errno != 0 ? std::strerror(errno) : "refused";
      server_.reset();
      return Status::Error("cannot listen on " + listen + " for --metrics-listen: " + why);
    }
    server_thread_ = std::thread([this] {
      server_->listen_after_bind();
      server_returned_ = true;
    });
  }
  if (!file.empty()) {
    if (Status status = WriteWhole(file, Text()); !status.ok()) return status.WithContext("--metrics-file");
    file_ = file;
    file_written_at_ = std::chrono::steady_clock::now();
  }
  return Status::Ok();
}

void SidecarMetrics::Attached(std::shared_ptr<DocumentCache> cache) {
  std::lock_guard lock(mutex_);
  cache_ = std::move(cache);
}

void SidecarMetrics::Waiting(const std::string& why) {
  std::lock_guard lock(mutex_);
  waiting_for_ = why;
}

std::string SidecarMetrics::Text(bool sidecar_up) {
  std::shared_ptr<DocumentCache> cache;
  MetricsInput input;
  {
    std::lock_guard lock(mutex_);
    cache = cache_;
    if (cache == nullptr) input.cache_off = "no segment: " + waiting_for_;
  }
  CacheStats stats;
  if (cache != nullptr) {
    stats = cache->Stats();
    input.stats = &stats;
  }
  input.database = database_;
  input.sidecar_up = sidecar_up;
  input.now_ms = NowMilliseconds();
  return RenderMetrics(input);
}

void SidecarMetrics::Tick() {
  if (file_.empty() || std::chrono::steady_clock::now() - file_written_at_ < kFileInterval) return;
  WriteFile(/*sidecar_up=*/true);
}

void SidecarMetrics::WriteFile(bool sidecar_up) {
  file_written_at_ = std::chrono::steady_clock::now();
  const Status status = WriteWhole(file_, Text(sidecar_up));
  if (!status.ok() && status.message() != file_error_) {
    std::fprintf(stderr, "docstore-sidecar: %s (will retry)\n", status.message().c_str());
  } else if (status.ok() && !file_error_.empty()) {
    std::fprintf(stderr, "docstore-sidecar: writing the metrics file again\n");
  }
  file_error_ = status.ok() ? "" : status.message();
}

// httplib's stop() does nothing before its loop runs, so it is called once
// the loop is seen running (or has returned on its own).
void SidecarMetrics::StopServer() {
  if (server_ == nullptr) return;
  while (!server_returned_) {
    if (server_->is_running()) {
      server_->stop();
      break;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  server_thread_.join();
}

}  // namespace docstore
