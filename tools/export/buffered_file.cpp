#include "tools/export/buffered_file.h"

#include <fcntl.h>

#include <cerrno>
#include <climits>
#include <cstring>

namespace featmon::exporter {

namespace {
Status FileError(const std::string& path) { return Status::IOError(path + ": " + std::strerror(errno)); }
}  // namespace

BufferedFile::~BufferedFile() {
  if (file_) std::fclose(file_);
}

Status BufferedFile::Open(std::string path, const char* mode) {
  path_ = std::move(path);
  file_ = std::fopen(path_.c_str(), mode);
  if (!file_) return FileError(path_);
  buffer_.resize(kBuffer);
  std::setvbuf(file_, buffer_.data(), _IOFBF, buffer_.size());
  return Status::Ok();
}

Status BufferedFile::Write(std::string_view bytes) {
  if (std::fwrite(bytes.data(), 1, bytes.size(), file_) != bytes.size()) return FileError(path_);
  return Status::Ok();
}

Status BufferedFile::Rewind() {
  if (std::fflush(file_) != 0) return FileError(path_);
  std::rewind(file_);
  return Status::Ok();
}

Status BufferedFile::Read(void* to, size_t n) {
  if (std::fread(to, 1, n, file_) != n) return Status::IOError(path_ + ": truncated");
  return Status::Ok();
}

Status BufferedFile::ReleaseRead() {
  const long read = std::ftell(file_);
  if (read < 0) return FileError(path_);
  const long upto = read / static_cast<long>(kBuffer) * static_cast<long>(kBuffer);
  if (upto <= released_) return Status::Ok();
  if (fallocate(fileno(file_), FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, released_, upto - released_) != 0) {
    // A file system without holes keeps the space until the file goes: only
    // the saving is lost.
    if (errno != EOPNOTSUPP && errno != ENOSYS) return FileError(path_);
    released_ = LONG_MAX;
    return Status::Ok();
  }
  released_ = upto;
  return Status::Ok();
}

Status BufferedFile::Close() {
  if (!file_) return Status::Ok();
  std::FILE* file = file_;
  file_ = nullptr;
  if (std::fclose(file) != 0) return FileError(path_);
  return Status::Ok();
}

}  // namespace featmon::exporter
