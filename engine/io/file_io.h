// Crash-safe whole-file writes (temporary file, fsync, rename) and bounds-checked reads, shared by the
// checkpoint and safetensors formats so neither can leave a half-written file or trust a length blindly.
#pragma once
#include <cstdint>
#include <cstdio>
#include <string>
#include <sys/types.h>

namespace asyndgan {

// Writes go to `path + ".tmp.<pid>"`; commit() flushes, fsyncs, renames it over `path` and fsyncs the
// directory, so `path` holds either the old file or the complete new one, whatever happens meanwhile.
class AtomicFileWriter {
 public:
  explicit AtomicFileWriter(std::string path);  // IOError naming the file when it cannot be created
  // The file gets exactly `mode` (0600 for a private key, say), set on the temporary before any byte is written,
  // so no other user can read it at any moment whatever the umask.
  AtomicFileWriter(std::string path, mode_t mode);
  // For a library that opens the file itself by name (zlib's gzopen, say): the temporary is created empty and
  // left closed; the library writes temp_path(), a hidden name beside `path` ending in `suffix` as `path` does
  // (".nii.gz": a reader that checks the name can read it back), and commit() fsyncs it by name and renames it.
  // write() is refused. ValueError when `path` does not end in `suffix`.
  struct ByName {
    std::string suffix;
  };
  AtomicFileWriter(std::string path, ByName by_name);
  ~AtomicFileWriter();  // without commit(): removes the temporary file
  AtomicFileWriter(const AtomicFileWriter&) = delete;
  AtomicFileWriter& operator=(const AtomicFileWriter&) = delete;

  void write(const void* data, size_t n);  // IOError on a short write (disk full, file size limit)
  void commit();
  const std::string& path() const { return path_; }
  const std::string& temp_path() const { return tmp_; }

 private:
  [[noreturn]] void fail(const std::string& what);
  std::string path_, tmp_;
  std::FILE* file_ = nullptr;
  bool by_name_ = false;
  bool committed_ = false;
};

// `text` as the whole of `path`, through an AtomicFileWriter (a temporary, synced, then renamed).
void write_text_file(const std::string& path, const std::string& text);

// Sequential or seeking reads that never go past the end: every read (and every size about to be
// allocated) is checked against the bytes that remain first, and a shortfall is a FormatError.
class FileReader {
 public:
  explicit FileReader(std::string path);  // IOError naming the file when it cannot be opened
  ~FileReader();
  FileReader(const FileReader&) = delete;
  FileReader& operator=(const FileReader&) = delete;

  uint64_t size() const { return size_; }
  uint64_t position() const { return pos_; }
  uint64_t remaining() const { return size_ - pos_; }
  const std::string& path() const { return path_; }

  // Throws the "truncated" FormatError unless n bytes remain; `what` names the field ("tensor 'w' data").
  void require(uint64_t n, const std::string& what) const;
  void read(void* dst, uint64_t n, const std::string& what);
  template <class T> T read_le(const std::string& what) {  // a little-endian integer (the host order)
    T v;
    read(&v, sizeof v, what);
    return v;
  }
  void seek(uint64_t pos);
  // CRC-32 of every byte read so far, for formats that checksum a sequential stream.
  uint32_t crc() const { return crc_; }
  // A FormatError "<path>: <what>".
  [[noreturn]] void fail(const std::string& what) const;

 private:
  std::string path_;
  std::FILE* file_ = nullptr;
  uint64_t size_ = 0, pos_ = 0;
  uint32_t crc_ = 0;
};

}  // namespace asyndgan
