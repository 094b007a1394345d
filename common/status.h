// Status and Result<T>: expected failures as values, in the manner of
// rocksdb::Status and absl::StatusOr. Both are [[nodiscard]], so a caller
// cannot drop an error by accident.
//
//   Result<Config> cfg = LoadConfig(path);
//   if (!cfg.ok()) return cfg.status();
//   Use(*cfg);
#pragma once

#include <cassert>
#include <optional>
#include <string>
#include <utility>

namespace featmon {

enum class StatusCode {
  kOk = 0,
  kInvalidArgument,  // caller's input is wrong (bad config, bad request)
  kNotFound,
  kCorruption,       // stored bytes do not decode
  kIOError,          // disk, network or a library below us failed
  kUnavailable,      // try again later (broker down, store closed)
  kNoSpace,          // the disk is full; retrying succeeds once space returns
  kInternal,         // a bug: an invariant does not hold
};

class [[nodiscard]] Status {
 public:
  Status() = default;
  static Status Ok() { return Status(); }
  static Status InvalidArgument(std::string msg) { return {StatusCode::kInvalidArgument, std::move(msg)}; }
  static Status NotFound(std::string msg) { return {StatusCode::kNotFound, std::move(msg)}; }
  static Status Corruption(std::string msg) { return {StatusCode::kCorruption, std::move(msg)}; }
  static Status IOError(std::string msg) { return {StatusCode::kIOError, std::move(msg)}; }
  static Status Unavailable(std::string msg) { return {StatusCode::kUnavailable, std::move(msg)}; }
  static Status NoSpace(std::string msg) { return {StatusCode::kNoSpace, std::move(msg)}; }
  static Status Internal(std::string msg) { return {StatusCode::kInternal, std::move(msg)}; }

  bool ok() const { return code_ == StatusCode::kOk; }
  StatusCode code() const { return code_; }
  const std::string& message() const { return message_; }
  std::string ToString() const;

 private:
  Status(StatusCode code, std::string msg) : code_(code), message_(std::move(msg)) {}
  StatusCode code_ = StatusCode::kOk;
  std::string message_;
};

// Either a value or a non-OK Status.
template <typename T>
class [[nodiscard]] Result {
 public:
  Result(T value) : value_(std::move(value)) {}  // NOLINT: implicit by design
  Result(Status status) : status_(std::move(status)) {  // NOLINT
    assert(!status_.ok() && "Result built from an OK status carries no value");
  }
  bool ok() const { return status_.ok(); }
  const Status& status() const { return status_; }
  T& value() { assert(ok()); return *value_; }
  const T& value() const { assert(ok()); return *value_; }
  T& operator*() { return value(); }
  const T& operator*() const { return value(); }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }

 private:
  Status status_;
  std::optional<T> value_;
};

}  // namespace featmon
