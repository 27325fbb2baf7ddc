#pragma once
// Bit-level reading and writing of JPEG entropy-coded data, for the lossless crop
// (jpeg_crop_core.cc). The reader works on data with its stuffed zero bytes already removed; the
// writer stuffs a zero after every 0xFF byte it writes.

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <vector>

namespace vitrine_crop {

// Zero bytes the reader's data must have after its end: refills read 8 bytes at a time, and a block
// is checked against the end only once it is read whole (at most 64 symbols of 32 bits, 256 bytes).
constexpr size_t kReaderPadding = 512;

inline uint64_t LoadBigEndian64(const uint8_t* p) {
  uint64_t value;
  std::memcpy(&value, p, sizeof value);
  return __builtin_bswap64(value);
}

// Most significant bit first. After Refill() at least 56 bits can be peeked or skipped.
class BitReader {
 public:
  BitReader(const uint8_t* data, size_t byte) : data_(data), next_(byte) { Refill(); }

  void Refill() {
    // The whole bytes that fit in the buffer are taken; a partial one is taken again next time.
    buffer_ |= LoadBigEndian64(data_ + next_) >> bits_;
    next_ += (63 - bits_) >> 3;
    bits_ |= 56;
  }
  int Bits() const { return bits_; }
  // The next `count` bits (1 to 32) as a number.
  uint32_t Peek(int count) const { return static_cast<uint32_t>(buffer_ >> (64 - count)); }
  void Skip(int count) {
    buffer_ <<= count;
    bits_ -= count;
  }
  // Bits read so far from the start of the data.
  uint64_t Position() const { return static_cast<uint64_t>(next_) * 8 - static_cast<uint64_t>(bits_); }
  void SeekToByte(size_t byte) {
    next_ = byte;
    buffer_ = 0;
    bits_ = 0;
    Refill();
  }

 private:
  const uint8_t* data_;
  size_t next_;
  uint64_t buffer_ = 0;
  int bits_ = 0;
};

inline void StoreBigEndian64(uint8_t* p, uint64_t value) {
  value = __builtin_bswap64(value);
  std::memcpy(p, &value, sizeof value);
}

// Appends entropy-coded bits to `out` from `start` on. Reserve() room before writing: Put and
// CopyBits do not check it.
class BitWriter {
 public:
  BitWriter(std::vector<uint8_t>& out, size_t start) : out_(out), at_(start) {}

  // Makes room for `bytes` more bytes (as written, stuffing included).
  void Reserve(size_t bytes) {
    if (at_ + bytes + 8 > out_.size()) out_.resize((at_ + bytes + 8) * 2);
  }

  // Appends the low `count` bits of `value` (count 1 to 56; value has no bits above them).
  void Put(uint64_t value, int count) {
    State state = Load();
    state.Put(value, count);
    Save(state);
  }

  // Appends bits [start, end) of `data` (unstuffed, with kReaderPadding bytes after its end).
  void CopyBits(const uint8_t* data, uint64_t start, uint64_t end) {
    State state = Load();
    if (static_cast<int>(start & 7) == state.count && end - start >= 64) {
      // The source's bytes line up with the output's: whole bytes are copied, stuffed again.
      if (state.count != 0) {
        const int rest = 8 - state.count;
        state.Put(data[start >> 3] & ((1u << rest) - 1), rest);
        start += static_cast<uint64_t>(rest);
      }
      state.CopyBytes(data + (start >> 3), static_cast<size_t>((end >> 3) - (start >> 3)));
      start = end & ~uint64_t{7};
    }
    while (start < end) {
      const int count = end - start < 56 ? static_cast<int>(end - start) : 56;
      const uint64_t window = LoadBigEndian64(data + (start >> 3)) << (start & 7);
      state.Put(window >> (64 - count), count);
      start += static_cast<uint64_t>(count);
    }
    Save(state);
  }

  // Pads the last byte with one bits, as the standard asks, and returns the size written.
  size_t Finish() {
    if (count_ != 0) Put((1u << (8 - count_)) - 1, 8 - count_);
    return at_;
  }

 private:
  // The writer's state in locals while it works: bytes stored through `out` could otherwise alias
  // the members, to be read again from memory after every store.
  struct State {
    uint8_t* out;
    size_t at;
    uint64_t pending;
    int count;  // bits in pending not yet written, fewer than 8 between calls

    void Put(uint64_t value, int bits) {
      pending = (pending << bits) | value;
      count += bits;
      // The whole bytes, written 8 at a time (the ones past them are written again later).
      const int whole = count >> 3;
      const uint64_t word = pending << (64 - count);
      StoreBigEndian64(out + at, word);
      // A 0xFF byte among them (a zero byte of the inverted word) needs a zero after it.
      const uint64_t zeros = (~word - 0x0101010101010101ull) & word & 0x8080808080808080ull;
      if (whole > 0 && (zeros >> (64 - 8 * whole)) != 0) {
        for (int i = 0; i < whole; i++) {
          const uint8_t byte = static_cast<uint8_t>(word >> (56 - 8 * i));
          out[at++] = byte;
          if (byte == 0xFF) out[at++] = 0x00;
        }
      } else {
        at += static_cast<size_t>(whole);
      }
      count &= 7;
    }

    // Appends whole bytes when no bits are pending, with a zero after each 0xFF.
    void CopyBytes(const uint8_t* bytes, size_t size) {
      while (size > 0) {
        const void* found = std::memchr(bytes, 0xFF, size);
        const size_t run = found ? static_cast<size_t>(static_cast<const uint8_t*>(found) - bytes) + 1 : size;
        std::memcpy(out + at, bytes, run);
        at += run;
        if (found) out[at++] = 0x00;
        bytes += run;
        size -= run;
      }
    }
  };

  State Load() const { return State{out_.data(), at_, pending_, count_}; }
  void Save(const State& state) {
    at_ = state.at;
    pending_ = state.pending;
    count_ = state.count;
  }

  std::vector<uint8_t>& out_;
  size_t at_;
  uint64_t pending_ = 0;
  int count_ = 0;
};

}  // namespace vitrine_crop
