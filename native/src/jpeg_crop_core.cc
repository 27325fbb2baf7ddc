#include "jpeg_crop_core.h"

#include <cstring>

#include "jpeg_bits.h"
#include "jpeg_headers.h"

namespace vitrine_crop {
namespace {

// libjpeg's limit on the blocks of one MCU (sampling factors summing to more are refused).
constexpr int kMaxBlocksInMcu = 10;

// The largest DC difference category 8-bit data has (values of up to 11 bits).
constexpr int kMaxDcCategory = 11;

// DC values of 8-bit data are within ±1024; a value beyond this is a corrupt stream.
constexpr int kMaxDcValue = 2047;

// Copies the entropy-coded data from `data` to scratch.entropy without its stuffed zero bytes, up
// to the first marker (EOI, normally) other than RSTn when the stream has a restart interval,
// noting where each RSTn was. Returns the size.
size_t Unstuff(const uint8_t* data, size_t size, bool restarts, CropScratch& scratch) {
  std::vector<uint8_t>& out = scratch.entropy;
  if (out.size() < size + kReaderPadding) out.resize(size + kReaderPadding);
  scratch.restarts.clear();
  size_t from = 0;
  size_t to = 0;
  while (from < size) {
    const void* found = std::memchr(data + from, 0xFF, size - from);
    const size_t run = found ? static_cast<size_t>(static_cast<const uint8_t*>(found) - (data + from)) : size - from;
    std::memcpy(out.data() + to, data + from, run);
    to += run;
    from += run;
    if (found == nullptr || from + 1 >= size) break;
    const uint8_t next = data[from + 1];
    if (next == 0x00) {
      out[to++] = 0xFF;
    } else if (restarts && next >= 0xD0 && next <= 0xD7) {
      scratch.restarts.push_back(RestartMarker{to, next & 7});
    } else {
      break;
    }
    from += 2;
  }
  std::memset(out.data() + to, 0, kReaderPadding);
  return to;
}

inline int Extend(uint32_t bits, int category) {
  return bits < (1u << (category - 1)) ? static_cast<int>(bits) - (1 << category) + 1 : static_cast<int>(bits);
}

inline int Category(int value) {
  const unsigned magnitude = static_cast<unsigned>(value < 0 ? -value : value);
  return magnitude == 0 ? 0 : 32 - __builtin_clz(magnitude);
}

// Bits of the source data to copy as they are: kept blocks one after the other, all but the first
// with its DC difference unchanged.
struct SourceRun {
  uint64_t start = 0, end = 0;

  void CopyTo(BitWriter& writer, const uint8_t* entropy) {
    if (end == start) return;
    writer.Reserve(2 * ((end - start) / 8) + 16);
    writer.CopyBits(entropy, start, end);
    start = end;
  }
};

// The scan's MCU layout: which scan component each block of an MCU belongs to, and the MCU's size.
struct McuLayout {
  int blockComponent[kMaxBlocksInMcu];
  int blocks = 0;
  int width = 8, height = 8;
};

const char* Layout(const StreamHeaders& headers, McuLayout& layout) {
  if (headers.scanCount == 1) {
    // A single-component scan is not interleaved: one block per MCU, whatever its sampling factors.
    layout.blockComponent[0] = 0;
    layout.blocks = 1;
    return nullptr;
  }
  int hMax = 1, vMax = 1;
  for (int i = 0; i < headers.componentCount; i++) {
    if (headers.components[i].h > hMax) hMax = headers.components[i].h;
    if (headers.components[i].v > vMax) vMax = headers.components[i].v;
  }
  layout.width = 8 * hMax;
  layout.height = 8 * vMax;
  for (int i = 0; i < headers.scanCount; i++) {
    const FrameComponent& component = headers.components[headers.scan[i].frameIndex];
    for (int b = 0; b < component.h * component.v; b++) {
      if (layout.blocks == kMaxBlocksInMcu) return "too many blocks in an MCU";
      layout.blockComponent[layout.blocks++] = i;
    }
  }
  return nullptr;
}

}  // namespace

const char* CropTopLeft(const uint8_t* jpeg, size_t size, int width, int height, std::vector<uint8_t>& out, CropScratch& scratch) {
  StreamHeaders headers;
  if (const char* why = ReadHeaders(jpeg, size, headers)) return why;
  if (width < 1 || height < 1 || width > headers.width || height > headers.height) return "crop outside the image";
  McuLayout layout;
  if (const char* why = Layout(headers, layout)) return why;

  const DcTable* dcTables[3];
  const AcTable* acTables[3];
  for (int i = 0; i < headers.scanCount; i++) {
    const HuffmanEntry& dc = headers.huffman[0][headers.scan[i].dcTable];
    const HuffmanEntry& ac = headers.huffman[1][headers.scan[i].acTable];
    dcTables[i] = scratch.dcTables.Get(dc.bytes, dc.size);
    acTables[i] = scratch.acTables.Get(ac.bytes, ac.size);
    if (dcTables[i] == nullptr || acTables[i] == nullptr) return "bad Huffman table";
  }
  const BlockStartTable* blockStarts[3];
  for (int i = 0; i < headers.scanCount; i++) blockStarts[i] = &scratch.blockStarts.Get(*dcTables[i], *acTables[i]);

  const int mcuColumns = (headers.width + layout.width - 1) / layout.width;
  const int keptColumns = (width + layout.width - 1) / layout.width;
  const int keptRows = (height + layout.height - 1) / layout.height;

  const int interval = headers.restartInterval;
  const size_t entropySize = Unstuff(jpeg + headers.dataAt, size - headers.dataAt, interval > 0, scratch);
  const uint8_t* entropy = scratch.entropy.data();
  const std::vector<RestartMarker>& restarts = scratch.restarts;
  // Blocks must end before the next restart marker (or the data's end): libjpeg would not read past it.
  auto limitAfter = [&](size_t seen) { return static_cast<uint64_t>(seen < restarts.size() ? restarts[seen].offset : entropySize) * 8; };

  // Everything before the data as it is, but the new size in SOF and no restart interval.
  out.resize(headers.dataAt + entropySize / 2 + 1024);
  std::memcpy(out.data(), jpeg, headers.dataAt);
  out[headers.frameAt + 5] = static_cast<uint8_t>(height >> 8);
  out[headers.frameAt + 6] = static_cast<uint8_t>(height);
  out[headers.frameAt + 7] = static_cast<uint8_t>(width >> 8);
  out[headers.frameAt + 8] = static_cast<uint8_t>(width);
  for (int i = 0; i < headers.restartFieldCount; i++) {
    out[headers.restartFieldAt[i]] = 0;
    out[headers.restartFieldAt[i] + 1] = 0;
  }

  BitReader reader(entropy, 0);
  BitWriter writer(out, headers.dataAt);
  SourceRun run;
  int dcValue[3] = {};  // each component's last DC value, as decoded
  int keptDc[3] = {};   // each component's last DC value written
  int untilRestart = interval;
  size_t restartsSeen = 0;
  uint64_t limit = limitAfter(0);

  for (int row = 0; row < keptRows; row++) {
    for (int column = 0; column < mcuColumns; column++) {
      if (interval > 0) {
        if (untilRestart == 0) {
          // The data before a restart marker is padded to a whole byte; predictions start again.
          const uint64_t byte = (reader.Position() + 7) / 8;
          if (restartsSeen >= restarts.size()) return "restart marker missing";
          const RestartMarker& marker = restarts[restartsSeen];
          if (marker.offset != byte || marker.number != static_cast<int>(restartsSeen & 7)) return "restart marker out of place";
          reader.SeekToByte(marker.offset);
          limit = limitAfter(++restartsSeen);
          dcValue[0] = dcValue[1] = dcValue[2] = 0;
          untilRestart = interval;
        }
        untilRestart--;
      }
      const bool kept = column < keptColumns;
      for (int b = 0; b < layout.blocks; b++) {
        const int c = layout.blockComponent[b];
        const DcTable& dc = *dcTables[c];
        const AcTable& ac = *acTables[c];

        const uint64_t blockStart = reader.Position();
        reader.Refill();
        // The DC difference and, mostly, the first AC symbols (or the whole block) in one look-up.
        const uint32_t look = reader.Peek(kLookupBits);
        const uint32_t start = blockStarts[c]->entries[look];
        int difference = 0;
        int dcLength = 0;  // known here only from the slow way
        int k = 1;
        if (start != 0) {
          reader.Skip(static_cast<int>(start & 31));
          difference = static_cast<int16_t>(start >> 16);
          k += static_cast<int>(start >> 5) & 63;
        } else {
          int category = 0, length = 0;
          if (!DecodeSymbol(dc.codes, reader.Peek(16), category, length)) return "bad Huffman code";
          reader.Skip(length);
          if (category > kMaxDcCategory) return "DC difference out of range";
          if (category > 0) {
            difference = Extend(reader.Peek(category), category);
            reader.Skip(category);
          }
          dcLength = length + category;
        }
        dcValue[c] += difference;
        if (dcValue[c] < -kMaxDcValue || dcValue[c] > kMaxDcValue) return "DC value out of range";

        const uint16_t* groups = ac.Group();
        while (!(start & kGroupEndOfBlock) && k < 64) {
          if (reader.Bits() < 32) reader.Refill();
          const uint32_t next = reader.Peek(kLookupBits);
          const uint32_t group = groups[next];
          const int advance = static_cast<int>(group >> 5) & 63;
          if (group != 0 && k + advance < 64) {
            reader.Skip(static_cast<int>(group & 31));
            k += advance;
            if (group & kGroupEndOfBlock) break;
            continue;
          }
          uint32_t step = ac.skip[next];
          if (step == 0) {
            int symbol = 0, codeLength = 0;
            if (!DecodeSymbol(ac.codes, reader.Peek(16), symbol, codeLength)) return "bad Huffman code";
            step = AcSkipEntry(symbol, codeLength);
            if (step == 0) return "AC symbol outside baseline";
          }
          reader.Skip(static_cast<int>(step & 0xFF));
          k += static_cast<int>(step >> 8);
        }
        if (k > 64 && k < kEndOfBlock) return "run past the end of a block";
        const uint64_t blockEnd = reader.Position();
        if (blockEnd > limit) return "truncated data";
        if (!kept) continue;

        const int value = dcValue[c];
        const int keptDifference = value - keptDc[c];
        keptDc[c] = value;
        if (keptDifference == difference) {
          // Same predecessor value as in the source: the block's bits are kept as they are.
          if (blockStart != run.end) {
            run.CopyTo(writer, entropy);
            run.start = blockStart;
          }
          run.end = blockEnd;
          continue;
        }
        const int newCategory = Category(keptDifference);
        if (newCategory > kMaxDcCategory || dc.codeLength[newCategory] == 0) return "DC difference without a code";
        run.CopyTo(writer, entropy);
        writer.Reserve(16);
        writer.Put(dc.code[newCategory], dc.codeLength[newCategory]);
        if (newCategory > 0) {
          const int bits = keptDifference < 0 ? keptDifference - 1 : keptDifference;
          writer.Put(static_cast<uint32_t>(bits) & ((1u << newCategory) - 1), newCategory);
        }
        run.start = blockStart + static_cast<uint64_t>(start != 0 ? static_cast<int>(dc.difference[look] & 0xFF) : dcLength);
        run.end = blockEnd;
      }
    }
  }
  run.CopyTo(writer, entropy);

  writer.Reserve(16);
  size_t end = writer.Finish();
  out[end++] = 0xFF;
  out[end++] = 0xD9;
  out.resize(end);
  return nullptr;
}

}  // namespace vitrine_crop
