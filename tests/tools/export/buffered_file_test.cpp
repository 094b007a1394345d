// The export's files report what stdio would swallow: a full disk at the
// last flush, a missing directory, a read past the end.
#include "tools/export/buffered_file.h"

#include <gtest/gtest.h>

#include <sys/stat.h>

#include <string>

#include "tests/daemon/temp_dir.h"

namespace featmon::exporter {
namespace {

TEST(BufferedFile, ReadsBackWhatItWroteAndSaysWhenItRunsOut) {
  testing::TempDir dir;
  BufferedFile file;
  ASSERT_TRUE(file.Open(dir.sub("spill"), "w+b").ok());
  const std::string big(3 << 20, 'x');  // more than one buffer
  ASSERT_TRUE(file.Write(big).ok());
  ASSERT_TRUE(file.Write("tail").ok());
  ASSERT_TRUE(file.Rewind().ok());
  std::string back(big.size() + 4, '\0');
  ASSERT_TRUE(file.Read(back.data(), back.size()).ok());
  EXPECT_EQ(back, big + "tail");
  char more;
  const Status past = file.Read(&more, 1);
  EXPECT_EQ(past.code(), StatusCode::kIOError);
  EXPECT_NE(past.ToString().find(dir.sub("spill") + ": truncated"), std::string::npos) << past.ToString();
  EXPECT_TRUE(file.Close().ok());
  EXPECT_TRUE(file.Close().ok()) << "closing twice is harmless";
}

// A file read once gives its space back as it is read, and what is left
// still reads as written.
TEST(BufferedFile, ReleasesWhatWasReadAndKeepsTheRest) {
  testing::TempDir dir;
  BufferedFile file;
  ASSERT_TRUE(file.Open(dir.sub("spill"), "w+b").ok());
  std::string data(5 << 20, '\0');
  for (size_t i = 0; i < data.size(); ++i) data[i] = static_cast<char>('a' + i % 23);
  ASSERT_TRUE(file.Write(data).ok());
  ASSERT_TRUE(file.Rewind().ok());
  auto allocated = [&] {
    struct stat st {};
    EXPECT_EQ(::stat(dir.sub("spill").c_str(), &st), 0);
    return static_cast<int64_t>(st.st_blocks) * 512;
  };
  const int64_t before = allocated();
  ASSERT_GE(before, static_cast<int64_t>(data.size()));
  std::string back(data.size(), '\0');
  const size_t first = (3 << 20) + 12345;
  ASSERT_TRUE(file.Read(back.data(), first).ok());
  ASSERT_TRUE(file.ReleaseRead().ok());
  ASSERT_TRUE(file.ReleaseRead().ok()) << "releasing again is harmless";
  // Whole 1 MiB buffers up to the read position: 3 MiB.
  EXPECT_LE(allocated(), before - (3 << 20));
  ASSERT_TRUE(file.Read(back.data() + first, data.size() - first).ok());
  EXPECT_EQ(back, data);
  EXPECT_TRUE(file.Close().ok());
}

// What fits in the buffer is written only at Close: a full disk shows there.
TEST(BufferedFile, ReportsAFullDiskAtClose) {
  BufferedFile file;
  ASSERT_TRUE(file.Open("/dev/full", "wb").ok());
  ASSERT_TRUE(file.Write("a row that stays in the buffer\n").ok());
  const Status closed = file.Close();
  EXPECT_EQ(closed.code(), StatusCode::kIOError);
  EXPECT_NE(closed.ToString().find("/dev/full: No space left on device"), std::string::npos) << closed.ToString();
  EXPECT_FALSE(file.is_open());
}

TEST(BufferedFile, ReportsAFullDiskOnAWriteLargerThanTheBuffer) {
  BufferedFile file;
  ASSERT_TRUE(file.Open("/dev/full", "wb").ok());
  const Status wrote = file.Write(std::string(2 << 20, 'x'));
  EXPECT_EQ(wrote.code(), StatusCode::kIOError) << wrote.ToString();
}

TEST(BufferedFile, NamesThePathItCannotOpen) {
  testing::TempDir dir;
  BufferedFile file;
  const Status opened = file.Open(dir.sub("missing/train.csv"), "wb");
  EXPECT_EQ(opened.code(), StatusCode::kIOError);
  EXPECT_NE(opened.ToString().find(dir.sub("missing/train.csv") + ": No such file or directory"), std::string::npos)
      << opened.ToString();
  EXPECT_FALSE(file.is_open());
}

}  // namespace
}  // namespace featmon::exporter
