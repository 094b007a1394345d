// A fresh directory under /tmp, removed with its contents at scope exit,
// unless FEATMON_KEEP_TEST_DIRS is set: then it stays, with the logs of the
// processes a test ran in it, and its path is printed.
#pragma once

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <string>

namespace featmon::testing {

class TempDir {
 public:
  TempDir() {
    std::string tmpl = (std::filesystem::temp_directory_path() / "featmon-test-XXXXXX").string();
    path_ = mkdtemp(tmpl.data());
  }
  ~TempDir() {
    if (std::getenv("FEATMON_KEEP_TEST_DIRS")) {
      std::fprintf(stderr, "kept %s (FEATMON_KEEP_TEST_DIRS)\n", path_.c_str());
      return;
    }
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
  const std::string& path() const { return path_; }
  std::string sub(const std::string& name) const { return path_ + "/" + name; }

 private:
  std::string path_;
};

}  // namespace featmon::testing
