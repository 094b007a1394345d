// A stdio file with a 1 MiB buffer of its own, so that writing and reading
// it back cost a system call per MiB: given no buffer, glibc's setvbuf
// ignores the size asked for and keeps 4 KiB. Closed with the object (an
// error then goes unreported: call Close to hear it).
#pragma once

#include <cstdio>
#include <string>
#include <string_view>
#include <vector>

#include "common/status.h"

namespace featmon::exporter {

class BufferedFile {
 public:
  BufferedFile() = default;
  BufferedFile(const BufferedFile&) = delete;
  BufferedFile& operator=(const BufferedFile&) = delete;
  ~BufferedFile();

  // `mode` as fopen's: "wb" to write a file, "w+b" to write one and read it back.
  Status Open(std::string path, const char* mode);
  Status Write(std::string_view bytes);
  // Writes what stdio holds and reads from the start.
  Status Rewind();
  // Reads exactly n bytes; an error at the end of the file.
  Status Read(void* to, size_t n);
  // Gives the file system back the space of what was read (a hole punched
  // up to the read position, in whole buffers), for a file read once: its
  // disk and page cache go to the files written while the rest is read,
  // instead of both being held at once. Reading what was released reads
  // zeros. Nothing is released where the file system has no holes.
  Status ReleaseRead();
  // Writes what stdio holds and closes: an error when it did not reach the file.
  Status Close();
  bool is_open() const { return file_ != nullptr; }
  const std::string& path() const { return path_; }

 private:
  static constexpr size_t kBuffer = 1 << 20;
  std::FILE* file_ = nullptr;
  std::vector<char> buffer_;  // stdio's: outlives file_
  std::string path_;
  long released_ = 0;  // bytes from the start given back by ReleaseRead (LONG_MAX: none can be)
};

}  // namespace featmon::exporter
