#include "jpeg_huffman.h"

#include <cstring>

namespace vitrine_crop {
namespace {

constexpr uint32_t kLookupSize = 1u << kLookupBits;

// Reads a DHT entry into canonical form, calling visit(code, length, symbol) for each code. False
// for a table libjpeg refuses: more than 256 symbols, or codes that do not fit their lengths (the
// all-ones code of a length included).
template <typename Visit>
bool ReadCodes(const uint8_t* entry, size_t size, CanonicalCodes& codes, Visit visit) {
  if (size < 16) return false;
  size_t total = 0;
  for (int i = 0; i < 16; i++) total += entry[i];
  if (total > 256 || 16 + total != size) return false;
  std::memcpy(codes.values, entry + 16, total);
  uint32_t code = 0;
  int index = 0;
  for (int length = 1; length <= 16; length++) {
    const int count = entry[length - 1];
    codes.maxCode[length] = count == 0 ? -1 : static_cast<int32_t>(code) + count - 1;
    codes.valueOffset[length] = index - static_cast<int32_t>(code);
    for (int i = 0; i < count; i++, index++, code++) {
      if (code + 1 >= (1u << length)) return false;
      visit(code, length, codes.values[index]);
    }
    code <<= 1;
  }
  return true;
}

}  // namespace

bool DecodeSymbol(const CanonicalCodes& codes, uint32_t next, int& symbol, int& length) {
  // The first length whose prefix is within its codes is the code, as libjpeg decodes.
  for (int len = 1; len <= 16; len++) {
    const int32_t prefix = static_cast<int32_t>(next >> (16 - len));
    if (prefix <= codes.maxCode[len]) {
      const int32_t at = prefix + codes.valueOffset[len];
      if (at < 0 || at >= 256) return false;
      symbol = codes.values[at];
      length = len;
      return true;
    }
  }
  return false;
}

bool BuildDcTable(const uint8_t* entry, size_t size, DcTable& table) {
  std::memset(table.difference, 0, sizeof table.difference);
  std::memset(table.codeLength, 0, sizeof table.codeLength);
  bool accepted = true;
  const bool read = ReadCodes(entry, size, table.codes, [&](uint32_t code, int length, int category) {
    // libjpeg refuses DC tables with symbols above 15; 8-bit data has categories up to 11.
    if (category > 15) accepted = false;
    if (category > 11) return;
    if (table.codeLength[category] == 0) {
      table.code[category] = static_cast<uint16_t>(code);
      table.codeLength[category] = static_cast<uint8_t>(length);
    }
    if (length + category > kLookupBits) return;
    const int spare = kLookupBits - length - category;
    for (uint32_t extra = 0; extra < (1u << category); extra++) {
      int difference = 0;
      if (category > 0) {
        difference = extra < (1u << (category - 1)) ? static_cast<int>(extra) - (1 << category) + 1 : static_cast<int>(extra);
      }
      const uint32_t value = static_cast<uint32_t>(length + category) | static_cast<uint32_t>(static_cast<uint16_t>(difference)) << 16;
      const uint32_t first = ((code << category) | extra) << spare;
      for (uint32_t at = first; at < first + (1u << spare); at++) table.difference[at] = value;
    }
  });
  return read && accepted;
}

bool BuildAcTable(const uint8_t* entry, size_t size, AcTable& table) {
  uint8_t length[kLookupSize] = {};
  std::memset(table.skip, 0, sizeof table.skip);
  const bool read = ReadCodes(entry, size, table.codes, [&](uint32_t code, int codeLength, int symbol) {
    if (codeLength > kLookupBits) return;
    const uint16_t skip = AcSkipEntry(symbol, codeLength);
    const uint32_t first = code << (kLookupBits - codeLength);
    for (uint32_t at = first; at < first + (1u << (kLookupBits - codeLength)); at++) {
      length[at] = static_cast<uint8_t>(codeLength);
      table.skip[at] = skip;
    }
  });
  if (!read) return false;

  // A window's group is its first symbol followed by the group of the bits left after it.
  uint16_t* partial = table.groups;
  partial[0] = 0;
  partial[1] = 0;
  for (int r = 1; r <= kLookupBits; r++) {
    for (uint32_t bits = 0; bits < (1u << r); bits++) {
      const uint32_t at = bits << (kLookupBits - r);
      const uint16_t skip = table.skip[at];
      uint32_t group = 0;
      if (skip != 0 && length[at] <= r) {
        const int used = skip & 0xFF;
        const int step = skip >> 8;
        if (step == kEndOfBlock) {
          group = static_cast<uint32_t>(used) | kGroupEndOfBlock;
        } else {
          group = static_cast<uint32_t>(used | step << 5);
          if (used < r) {
            const int left = r - used;
            const uint32_t rest = partial[(1u << left) + (bits & ((1u << left) - 1))];
            const int advance = step + static_cast<int>((rest >> 5) & 63);
            if (rest != 0 && advance <= 63) {
              group = static_cast<uint32_t>(used + static_cast<int>(rest & 31)) | static_cast<uint32_t>(advance) << 5 | (rest & kGroupEndOfBlock);
            }
          }
        }
      }
      partial[(1u << r) + bits] = static_cast<uint16_t>(group);
    }
  }
  return true;
}

void BuildBlockStartTable(const DcTable& dc, const AcTable& ac, BlockStartTable& table) {
  for (uint32_t bits = 0; bits < kLookupSize; bits++) {
    const uint32_t difference = dc.difference[bits];
    uint32_t entry = difference;
    const int used = static_cast<int>(difference & 0xFF);
    const int left = kLookupBits - used;
    if (difference != 0 && left > 0) {
      const uint32_t group = ac.groups[(1u << left) + (bits & ((1u << left) - 1))];
      if (group != 0 && ((group >> 5) & 63) <= 62) entry = (difference & 0xFFFF0000u) | static_cast<uint32_t>(used + (group & 31)) | (group & ~31u & 0xFFFF);
    }
    table.entries[bits] = entry;
  }
}

}  // namespace vitrine_crop
