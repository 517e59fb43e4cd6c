// POSIX implementation of the atomic writer and the bounded reader.
#include "engine/io/file_io.h"
#include <atomic>
#include <bit>
#include <cerrno>
#include <cstring>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>
#include "base/error.h"
#include "engine/io/checksum.h"

namespace asyndgan {

static_assert(std::endian::native == std::endian::little, "the file formats are little-endian; add byte swaps");

namespace {

std::string errno_text() { return std::strerror(errno); }

// Makes the rename itself durable: without this a power cut can forget the new directory entry.
void fsync_directory(const std::string& path) {
  const size_t slash = path.find_last_of('/');
  const std::string dir = slash == std::string::npos ? "." : (slash == 0 ? "/" : path.substr(0, slash));
  int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY);
  if (fd < 0) return;  // the file is written; only the durability guarantee is weaker
  ::fsync(fd);
  ::close(fd);
}

}  // namespace

AtomicFileWriter::AtomicFileWriter(std::string path) : path_(std::move(path)) {
  tmp_ = path_ + ".tmp." + std::to_string(::getpid());
  file_ = std::fopen(tmp_.c_str(), "wb");
  if (!file_) throw IOError(msg("cannot create '", tmp_, "' to write '", path_, "': ", errno_text()));
}

AtomicFileWriter::AtomicFileWriter(std::string path, mode_t mode) : path_(std::move(path)) {
  tmp_ = path_ + ".tmp." + std::to_string(::getpid());
  // Created with no permission beyond `mode` (an old temporary of this name is truncated and chmod-ed too).
  const int fd = ::open(tmp_.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode & 07777);
  if (fd < 0) throw IOError(msg("cannot create '", tmp_, "' to write '", path_, "': ", errno_text()));
  if (::fchmod(fd, mode & 07777) != 0 || !(file_ = ::fdopen(fd, "wb"))) {
    const std::string reason = errno_text();
    ::close(fd);
    std::remove(tmp_.c_str());
    throw IOError(msg("cannot set the mode of '", tmp_, "' to write '", path_, "': ", reason));
  }
}

AtomicFileWriter::AtomicFileWriter(std::string path, ByName by_name) : path_(std::move(path)), by_name_(true) {
  const std::string& suffix = by_name.suffix;
  if (!path_.ends_with(suffix) || path_.size() == suffix.size() || path_.back() == '/')
    throw ValueError(msg("AtomicFileWriter: '", path_, "' does not end in a name with the suffix '", suffix, "'"));
  static std::atomic<uint64_t> counter{0};  // two writes of one file in one process get their own temporaries
  const size_t slash = path_.find_last_of('/');
  const std::string dir = slash == std::string::npos ? "" : path_.substr(0, slash + 1);
  const std::string stem = path_.substr(dir.size(), path_.size() - dir.size() - suffix.size());
  // Hidden, since it carries the destination's suffix: a directory scan for that suffix must not take it.
  tmp_ = msg(dir, ".", stem, ".tmp", ::getpid(), "_", counter++, suffix);
  const int fd = ::open(tmp_.c_str(), O_WRONLY | O_CREAT | O_EXCL, 0666);  // claims the name
  if (fd < 0) throw IOError(msg("cannot create '", tmp_, "' to write '", path_, "': ", errno_text()));
  ::close(fd);
}

AtomicFileWriter::~AtomicFileWriter() {
  if (file_) std::fclose(file_);
  if (!committed_) std::remove(tmp_.c_str());
}

void AtomicFileWriter::fail(const std::string& what) {
  const std::string reason = errno_text();
  if (file_) std::fclose(file_);
  file_ = nullptr;
  std::remove(tmp_.c_str());
  throw IOError(msg("writing '", path_, "' failed while ", what, ": ", reason, "; the previous file, if any, is unchanged"));
}

void AtomicFileWriter::write(const void* data, size_t n) {
  if (by_name_) throw IOError(msg("writing '", path_, "': this writer's temporary is written by name (temp_path())"));
  if (!file_) throw IOError(msg("writing '", path_, "': the writer is already closed"));
  if (n && std::fwrite(data, 1, n, file_) != n) fail("writing data");
}

void AtomicFileWriter::commit() {
  if (committed_ || (!file_ && !by_name_)) throw IOError(msg("writing '", path_, "': the writer is already closed"));
  if (by_name_) {
    const int fd = ::open(tmp_.c_str(), O_RDONLY);
    if (fd < 0) fail("reopening the temporary file to sync it");
    const bool synced = ::fsync(fd) == 0;
    const int error = errno;
    ::close(fd);
    errno = error;  // fail() reports fsync's reason, not close's
    if (!synced) fail("syncing to disk");
  } else {
    if (std::fflush(file_) != 0) fail("flushing");
    if (::fsync(::fileno(file_)) != 0) fail("syncing to disk");
    std::FILE* f = file_;
    file_ = nullptr;
    if (std::fclose(f) != 0) fail("closing");
  }
  if (std::rename(tmp_.c_str(), path_.c_str()) != 0) fail("renaming the temporary file over it");
  committed_ = true;
  fsync_directory(path_);
}

FileReader::FileReader(std::string path) : path_(std::move(path)) {
  file_ = std::fopen(path_.c_str(), "rb");
  if (!file_) throw IOError(msg("cannot open '", path_, "': ", errno_text()));
  struct stat st {};
  if (::fstat(::fileno(file_), &st) != 0 || !S_ISREG(st.st_mode)) {
    std::fclose(file_);
    file_ = nullptr;
    throw IOError(msg("'", path_, "' is not a regular file"));
  }
  size_ = static_cast<uint64_t>(st.st_size);
}

FileReader::~FileReader() {
  if (file_) std::fclose(file_);
}

void FileReader::fail(const std::string& what) const { throw FormatError(msg(path_, ": ", what)); }

void FileReader::require(uint64_t n, const std::string& what) const {
  if (n > remaining())
    fail(msg("the file is truncated or corrupt: ", what, " needs ", n, " bytes at offset ", pos_, " but only ",
             remaining(), " remain (file size ", size_, "); was the write interrupted? Re-save it or use an earlier copy"));
}

void FileReader::read(void* dst, uint64_t n, const std::string& what) {
  require(n, what);
  if (n && std::fread(dst, 1, n, file_) != n)
    throw IOError(msg("reading '", path_, "' at offset ", pos_, " (", what, ") failed: ", errno_text()));
  crc_ = crc32_update(crc_, dst, n);
  pos_ += n;
}

void FileReader::seek(uint64_t pos) {
  if (pos > size_) fail(msg("seek to offset ", pos, " beyond the end (file size ", size_, ")"));
  if (::fseeko(file_, static_cast<off_t>(pos), SEEK_SET) != 0)
    throw IOError(msg("seeking in '", path_, "' failed: ", errno_text()));
  pos_ = pos;
}

void write_text_file(const std::string& path, const std::string& text) {
  AtomicFileWriter w(path);
  w.write(text.data(), text.size());
  w.commit();
}

}  // namespace asyndgan
