#pragma once
// What the fuzz targets share: the fuzzer's bytes split into a few parameter bytes and a file, and
// that file put behind a descriptor (memfd), since the decoders read with pread as they do in serve.

#include <sys/mman.h>
#include <unistd.h>

#include <cstddef>
#include <cstdint>
#include <cstdlib>

#include "../src/decoded_pixels.h"

namespace vitrine_fuzz {

// The first `count` bytes as parameters (zeros when the input is shorter), the rest as the file.
struct Input {
  uint8_t params[8] = {};
  const uint8_t* file = nullptr;
  size_t fileSize = 0;

  Input(const uint8_t* data, size_t size, size_t count) {
    if (count > sizeof params) count = sizeof params;
    const size_t taken = size < count ? size : count;
    for (size_t i = 0; i < taken; i++) params[i] = data[i];
    file = data + taken;
    fileSize = size - taken;
  }
};

// An anonymous in-memory file holding `bytes`, closed with the object.
class MemoryFile {
 public:
  MemoryFile(const uint8_t* bytes, size_t size) : fd_(memfd_create("vitrine-fuzz", 0)) {
    size_t done = 0;
    while (fd_ >= 0 && done < size) {
      const ssize_t wrote = write(fd_, bytes + done, size - done);
      if (wrote <= 0) break;
      done += static_cast<size_t>(wrote);
    }
    ok_ = fd_ >= 0 && done == size;
  }
  ~MemoryFile() {
    if (fd_ >= 0) close(fd_);
  }
  MemoryFile(const MemoryFile&) = delete;
  MemoryFile& operator=(const MemoryFile&) = delete;

  bool ok() const { return ok_; }
  int fd() const { return fd_; }

 private:
  int fd_;
  bool ok_ = false;
};

// Reads every byte of decoded pixels (each one handed to JavaScript must have been written, which the
// sanitizers check on the read), then frees them.
inline void ReadAndFree(DecodedPixels& pixels, bool decoded) {
  if (decoded) {
    volatile unsigned sum = 0;
    const size_t bytes = static_cast<size_t>(pixels.width) * pixels.height * pixels.channels;
    for (size_t i = 0; i < bytes; i++) sum = sum + pixels.data[i];
  }
  std::free(pixels.data);
  pixels.data = nullptr;
}

}  // namespace vitrine_fuzz
