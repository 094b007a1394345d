// Bounds-checked little helpers for the stored state format: varints,
// zigzag, fixed-width integers. Readers never read past the end; they report
// Corruption instead, so a damaged value cannot crash the daemon.
#pragma once

#include <cstdint>
#include <cstring>
#include <string>
#include <string_view>

#include "common/status.h"

namespace featmon {

inline void PutVarint(std::string* out, uint64_t v) {
  while (v >= 0x80) {
    out->push_back(static_cast<char>(v | 0x80));
    v >>= 7;
  }
  out->push_back(static_cast<char>(v));
}
// Writes `v` as a varint at `out`, which has room for kMaxVarintBytes;
// returns the bytes written.
inline constexpr size_t kMaxVarintBytes = 10;
inline size_t WriteVarint(char* out, uint64_t v) {
  size_t n = 0;
  for (; v >= 0x80; v >>= 7) out[n++] = static_cast<char>(v | 0x80);
  out[n++] = static_cast<char>(v);
  return n;
}
inline uint64_t ZigZag(int64_t v) { return (static_cast<uint64_t>(v) << 1) ^ static_cast<uint64_t>(v >> 63); }
inline int64_t UnZigZag(uint64_t v) { return static_cast<int64_t>(v >> 1) ^ -static_cast<int64_t>(v & 1); }
inline void PutSigned(std::string* out, int64_t v) { PutVarint(out, ZigZag(v)); }
template <typename T>
inline void PutFixed(std::string* out, T v) {
  char buf[sizeof(T)];
  std::memcpy(buf, &v, sizeof(T));  // little-endian hosts only; checked at build time below
  out->append(buf, sizeof(T));
}
static_assert(__BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__, "stored state format assumes little-endian");

class ByteReader {
 public:
  explicit ByteReader(std::string_view data) : data_(data) {}
  bool ReadVarint(uint64_t* v) {
    uint64_t result = 0;
    for (int shift = 0; shift <= 63; shift += 7) {
      if (pos_ >= data_.size()) return false;
      uint8_t b = static_cast<uint8_t>(data_[pos_++]);
      result |= static_cast<uint64_t>(b & 0x7f) << shift;
      if (!(b & 0x80)) {
        *v = result;
        return true;
      }
    }
    return false;
  }
  bool ReadSigned(int64_t* v) {
    uint64_t u;
    if (!ReadVarint(&u)) return false;
    *v = UnZigZag(u);
    return true;
  }
  template <typename T>
  bool ReadFixed(T* v) {
    if (remaining() < sizeof(T)) return false;
    std::memcpy(v, data_.data() + pos_, sizeof(T));
    pos_ += sizeof(T);
    return true;
  }
  bool ReadBytes(size_t n, std::string_view* out) {
    if (remaining() < n) return false;
    *out = data_.substr(pos_, n);
    pos_ += n;
    return true;
  }
  bool ReadLengthPrefixed(std::string_view* out) {
    uint64_t n;
    return ReadVarint(&n) && n <= remaining() && ReadBytes(static_cast<size_t>(n), out);
  }
  size_t remaining() const { return data_.size() - pos_; }
  bool done() const { return pos_ == data_.size(); }

 private:
  std::string_view data_;
  size_t pos_ = 0;
};

}  // namespace featmon
