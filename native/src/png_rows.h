#pragma once
// An uncompressed PNG read as it streams in. libvips writes the image into a named pipe as a PNG at
// compression level 0: the zlib data is deflate "stored" blocks, the bytes as they are, so nothing
// needs inflating; rows come out whole and unfiltered. Included by jp2_encode.cc only.

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <string>
#include <utility>
#include <vector>

namespace vitrine_jp2 {

inline uint32_t PngBe32(const uint8_t* p) {
  return static_cast<uint32_t>(p[0]) << 24 | static_cast<uint32_t>(p[1]) << 16 | static_cast<uint32_t>(p[2]) << 8 | p[3];
}

class PngRows {
 public:
  PngRows(uint32_t width, uint32_t height, uint32_t channels)
      : width_(width), height_(height), channels_(channels), stride_(static_cast<size_t>(width) * channels), row_(stride_), previous_(stride_) {}

  // Feeds the next bytes; `row(data)` receives each complete, unfiltered row in order.
  template <typename RowSink>
  bool Push(const uint8_t* data, size_t size, RowSink&& row, std::string& error) {
    size_t at = 0;
    while (at < size) {
      switch (chunk_) {
        case Chunk::kSignature: {
          if (!Gather(data, size, at, 8)) break;
          static const uint8_t signature[8] = {0x89, 'P', 'N', 'G', 0x0d, 0x0a, 0x1a, 0x0a};
          if (std::memcmp(scratch_, signature, 8) != 0) return error = "the image stream is not a PNG", false;
          chunk_ = Chunk::kHeader;
          break;
        }
        case Chunk::kHeader:
          if (!Gather(data, size, at, 8)) break;
          chunkLeft_ = PngBe32(scratch_);
          std::memcpy(type_, scratch_ + 4, 4);
          if (!StartChunk(error)) return false;
          break;
        case Chunk::kData: {
          if (Is("IHDR")) {
            if (!Gather(data, size, at, 13)) break;
            if (!ReadHeader(error)) return false;
            chunkLeft_ = 0;
            chunk_ = Chunk::kCrc;
            break;
          }
          const size_t end = at + std::min<size_t>(chunkLeft_, size - at);
          if (Is("IDAT") && !Zlib(data, at, end, row, error)) return false;
          chunkLeft_ -= static_cast<uint32_t>(end - at);
          at = end;
          if (chunkLeft_ == 0) chunk_ = Chunk::kCrc;
          break;
        }
        case Chunk::kCrc:  // a local pipe from libvips: not checked
          if (!Gather(data, size, at, 4)) break;
          chunk_ = Is("IEND") ? Chunk::kEnd : Chunk::kHeader;
          break;
        case Chunk::kEnd:
          return error = "data after the end of the PNG stream", false;
      }
    }
    return true;
  }

  bool Complete() const { return chunk_ == Chunk::kEnd; }
  uint32_t rows() const { return rowsDone_; }

 private:
  enum class Chunk { kSignature, kHeader, kData, kCrc, kEnd };
  enum class Z { kHeader, kBlockHeader, kStored, kAdler, kEnd };

  bool Is(const char* type) const { return std::memcmp(type_, type, 4) == 0; }

  // Gathers `need` bytes into `into` across calls (`fill` counts them); true once they are all there
  // (and resets the count).
  static bool GatherInto(uint8_t* into, size_t& fill, const uint8_t* data, size_t end, size_t& at, size_t need) {
    const size_t take = std::min(need - fill, end - at);
    std::memcpy(into + fill, data + at, take);
    fill += take;
    at += take;
    if (fill < need) return false;
    fill = 0;
    return true;
  }
  bool Gather(const uint8_t* data, size_t size, size_t& at, size_t need) { return GatherInto(scratch_, fill_, data, size, at, need); }
  bool GatherZ(const uint8_t* data, size_t end, size_t& at, size_t need) { return GatherInto(z_, zfill_, data, end, at, need); }

  bool StartChunk(std::string& error) {
    if (Is("IHDR")) {
      if (headerSeen_ || chunkLeft_ != 13) return error = "bad PNG header chunk", false;
    } else if (!headerSeen_) {
      return error = "the PNG stream does not start with its header", false;
    } else if (Is("IEND") && (z_state_ != Z::kEnd || rowsDone_ != height_)) {
      return error = "the PNG stream ended early (" + std::to_string(rowsDone_) + " of " + std::to_string(height_) + " rows)", false;
    }
    chunk_ = chunkLeft_ == 0 ? Chunk::kCrc : Chunk::kData;
    return true;
  }

  bool ReadHeader(std::string& error) {
    headerSeen_ = true;
    const uint32_t width = PngBe32(scratch_), height = PngBe32(scratch_ + 4);
    const uint8_t depth = scratch_[8], colour = scratch_[9], interlace = scratch_[12];
    if (depth != 8 || (colour != 0 && colour != 2) || scratch_[10] != 0 || scratch_[11] != 0 || interlace != 0) {
      return error = "unexpected PNG layout: " + std::to_string(depth) + "-bit, colour type " + std::to_string(colour) + ", interlace " +
                     std::to_string(interlace) + "; expected 8-bit grey or RGB",
             false;
    }
    const uint32_t channels = colour == 0 ? 1 : 3;
    if (width != width_ || height != height_ || channels != channels_) {
      return error = "libvips wrote " + std::to_string(width) + "×" + std::to_string(height) + "×" + std::to_string(channels) + ", expected " +
                     std::to_string(width_) + "×" + std::to_string(height_) + "×" + std::to_string(channels_),
             false;
    }
    return true;
  }

  // The zlib stream inside the IDAT chunks: header, stored blocks, Adler-32 (not checked).
  template <typename RowSink>
  bool Zlib(const uint8_t* data, size_t at, size_t end, RowSink& row, std::string& error) {
    while (at < end) {
      switch (z_state_) {
        case Z::kHeader:
          if (!GatherZ(data, end, at, 2)) break;
          if ((z_[0] & 0x0f) != 8 || (z_[1] & 0x20) != 0) return error = "unexpected zlib header in the PNG stream", false;
          z_state_ = Z::kBlockHeader;
          break;
        case Z::kBlockHeader: {
          if (!GatherZ(data, end, at, 5)) break;
          if (((z_[0] >> 1) & 3) != 0) return error = "a compressed deflate block: the PNG must be written with compression level 0", false;
          const uint32_t length = static_cast<uint32_t>(z_[1] | z_[2] << 8);
          if ((length ^ 0xffffu) != static_cast<uint32_t>(z_[3] | z_[4] << 8)) return error = "corrupt stored block length in the PNG stream", false;
          final_ = (z_[0] & 1) != 0;
          storedLeft_ = length;
          z_state_ = length > 0 ? Z::kStored : final_ ? Z::kAdler : Z::kBlockHeader;
          break;
        }
        case Z::kStored: {
          const size_t stop = at + std::min<size_t>(storedLeft_, end - at);
          if (!Scanlines(data, at, stop, row, error)) return false;
          storedLeft_ -= static_cast<uint32_t>(stop - at);
          at = stop;
          if (storedLeft_ == 0) z_state_ = final_ ? Z::kAdler : Z::kBlockHeader;
          break;
        }
        case Z::kAdler:
          if (!GatherZ(data, end, at, 4)) break;
          z_state_ = Z::kEnd;
          break;
        case Z::kEnd:
          return error = "data after the end of the zlib stream", false;
      }
    }
    return true;
  }

  // Filter bytes and rows.
  template <typename RowSink>
  bool Scanlines(const uint8_t* data, size_t at, size_t end, RowSink& row, std::string& error) {
    while (at < end) {
      if (inRow_ < 0) {
        if (rowsDone_ >= height_) return error = "more rows than the PNG header says", false;
        filter_ = data[at++];
        if (filter_ > 4) return error = "unknown PNG row filter " + std::to_string(filter_), false;
        inRow_ = 0;
        continue;
      }
      const size_t take = std::min(stride_ - static_cast<size_t>(inRow_), end - at);
      std::memcpy(row_.data() + inRow_, data + at, take);
      inRow_ += static_cast<std::ptrdiff_t>(take);
      at += take;
      if (static_cast<size_t>(inRow_) < stride_) continue;
      Unfilter();
      if (!row(row_.data(), error)) return false;
      std::swap(row_, previous_);
      rowsDone_++;
      inRow_ = -1;
    }
    return true;
  }

  // Reverses the row's filter in place, against the previous row (zeros above the first).
  void Unfilter() {
    uint8_t* r = row_.data();
    const uint8_t* up = previous_.data();
    const bool first = rowsDone_ == 0;
    const size_t bpp = channels_, n = stride_;
    switch (filter_) {
      case 1:
        for (size_t i = bpp; i < n; i++) r[i] = static_cast<uint8_t>(r[i] + r[i - bpp]);
        break;
      case 2:
        if (!first) for (size_t i = 0; i < n; i++) r[i] = static_cast<uint8_t>(r[i] + up[i]);
        break;
      case 3:
        for (size_t i = 0; i < n; i++) {
          const int left = i >= bpp ? r[i - bpp] : 0, above = first ? 0 : up[i];
          r[i] = static_cast<uint8_t>(r[i] + ((left + above) >> 1));
        }
        break;
      case 4:
        for (size_t i = 0; i < n; i++) {
          const int a = i >= bpp ? r[i - bpp] : 0, b = first ? 0 : up[i], c = i >= bpp && !first ? up[i - bpp] : 0;
          const int p = a + b - c, pa = std::abs(p - a), pb = std::abs(p - b), pc = std::abs(p - c);
          r[i] = static_cast<uint8_t>(r[i] + (pa <= pb && pa <= pc ? a : pb <= pc ? b : c));
        }
        break;
      default:
        break;
    }
  }

  const uint32_t width_, height_, channels_;
  const size_t stride_;
  std::vector<uint8_t> row_, previous_;
  Chunk chunk_ = Chunk::kSignature;
  uint8_t scratch_[16] = {};
  size_t fill_ = 0;
  char type_[4] = {};
  uint32_t chunkLeft_ = 0;
  bool headerSeen_ = false;
  Z z_state_ = Z::kHeader;
  uint8_t z_[8] = {};
  size_t zfill_ = 0;
  uint32_t storedLeft_ = 0;
  bool final_ = false;
  uint8_t filter_ = 0;
  std::ptrdiff_t inRow_ = -1;
  uint32_t rowsDone_ = 0;
};

}  // namespace vitrine_jp2
