// featmond refuses a data directory it cannot trust, says why, and touches
// nothing in it: a directory of someone else's files, a RocksDB whose CURRENT
// file is garbage, one whose MANIFEST is overwritten. A path whose parents do not
// exist yet is created.
#include <filesystem>
#include <fstream>

#include "tests/daemon/temp_dir.h"
#include "tests/integration/harness.h"

namespace featmon::testing {
namespace {

namespace fs = std::filesystem;

// Names and contents of every file under dir, except RocksDB's own
// diagnostic log (LOG, LOG.old.*), which records the failed open.
std::map<std::string, std::string> Snapshot(const std::string& dir) {
  std::map<std::string, std::string> files;
  for (const auto& e : fs::recursive_directory_iterator(dir)) {
    if (!e.is_regular_file() || e.path().filename().string().rfind("LOG", 0) == 0) continue;
    std::ifstream f(e.path(), std::ios::binary);
    files[e.path().string()] = std::string((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
  }
  return files;
}

// Starts featmond on `data` and expects it to refuse: exit 1, a message naming
// the directory and `why`, and the directory exactly as it was.
void ExpectRefused(const std::string& dir, const std::string& data, const std::string& why) {
  const auto before = Snapshot(data);
  const std::string log = dir + "/refused.log";
  Process proc({FEATMOND_BIN, "--embedded-kafka", "--data-dir", data, "--http-listen", "127.0.0.1:0"}, log);
  EXPECT_EQ(proc.Wait(std::chrono::seconds(20)), 1) << ReadFile(log);
  const std::string text = ReadFile(log);
  EXPECT_NE(text.find("cannot start"), std::string::npos) << text;
  EXPECT_NE(text.find(data), std::string::npos) << text;
  EXPECT_NE(text.find(why), std::string::npos) << text;
  EXPECT_EQ(Snapshot(data), before) << "featmond changed a directory it refused";
}

// A real featmond store with some state in it, closed cleanly.
void MakeStore(const std::string& dir, const std::string& data) {
  Process proc({FEATMOND_BIN, "--embedded-kafka", "--data-dir", data, "--http-listen", "127.0.0.1:0"}, dir + "/make.log");
  ASSERT_TRUE(WaitFor([&] { return fs::exists(data + "/CURRENT"); }, std::chrono::seconds(20)));
  std::this_thread::sleep_for(std::chrono::milliseconds(500));
  proc.Signal(SIGTERM);
  ASSERT_EQ(proc.Wait(std::chrono::seconds(20)), 0) << ReadFile(dir + "/make.log");
}

TEST(DataDirTest, ForeignFilesAreRefusedUntouched) {
  TempDir dir;
  const std::string data = dir.sub("data");
  fs::create_directories(data + "/notes");
  std::ofstream(data + "/thesis.tex") << "\\documentclass{article}";
  std::ofstream(data + "/notes/todo.txt") << "finish chapter 3";
  ExpectRefused(dir.path(), data, "holds no RocksDB database");
}

TEST(DataDirTest, GarbageCurrentFileIsRefusedUntouched) {
  TempDir dir;
  const std::string data = dir.sub("data");
  MakeStore(dir.path(), data);
  std::ofstream(data + "/CURRENT", std::ios::trunc) << "not a manifest name\n";
  ExpectRefused(dir.path(), data, "opening");
}

TEST(DataDirTest, OverwrittenManifestIsRefusedUntouched) {
  TempDir dir;
  const std::string data = dir.sub("data");
  MakeStore(dir.path(), data);
  std::string manifest = ReadFile(data + "/CURRENT");
  while (!manifest.empty() && manifest.back() == '\n') manifest.pop_back();
  const std::string path = data + "/" + manifest;
  ASSERT_TRUE(fs::exists(path)) << path;
  {
    std::fstream f(path, std::ios::in | std::ios::out | std::ios::binary);
    const std::string junk(64, '\xff');  // the first records' checksums no longer match
    f.write(junk.data(), static_cast<std::streamsize>(junk.size()));
  }
  ExpectRefused(dir.path(), data, "Corruption");
}

TEST(DataDirTest, MissingParentsAreCreated) {
  TempDir dir;
  const std::string data = dir.sub("srv/featmon/data");
  MakeStore(dir.path(), data);
  EXPECT_TRUE(fs::exists(data + "/CURRENT"));
}

}  // namespace
}  // namespace featmon::testing
