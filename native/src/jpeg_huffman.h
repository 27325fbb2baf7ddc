#pragma once
// The Huffman tables of a baseline JPEG (DHT entries) made ready to find where symbols end in
// entropy-coded data, fast, and to write DC differences: what the lossless crop
// (jpeg_crop_core.cc) needs. Building them costs about as much as a crop: jpeg_table_cache.h keeps them.

#include <cstddef>
#include <cstdint>

namespace vitrine_crop {

// Codes up to this many bits are found with one look-up; longer ones canonically.
constexpr int kLookupBits = 11;

// How far an end-of-block moves in a block: past any position.
constexpr int kEndOfBlock = 128;

// A DHT entry's codes in canonical form: enough to decode any code, slowly.
struct CanonicalCodes {
  int32_t maxCode[17];      // the largest code of each length, -1 for none
  int32_t valueOffset[17];  // from a code of that length to its symbol's index in `values`
  uint8_t values[256];
};

// The symbol whose code starts the 16 bits `next` (most significant first) and the code's length,
// decoded as libjpeg decodes. False when no code matches.
bool DecodeSymbol(const CanonicalCodes& codes, uint32_t next, int& symbol, int& length);

struct DcTable {
  uint64_t serial = 0;  // which build this is (see jpeg_table_cache.h)
  CanonicalCodes codes;
  // By the next kLookupBits bits, when a code and its extra bits are all in them: the bits they take
  // (low byte) and the difference they code (high 16 bits, signed); 0 otherwise.
  uint32_t difference[1 << kLookupBits];
  // Each difference category's code (0 to 11) and its length, 0 when the table has none.
  uint16_t code[12];
  uint8_t codeLength[12];
};

// An AC look-up entry: low byte, the bits a symbol takes with its extra bits; high byte, how far it
// moves in the block (run + 1, 16 for sixteen zeros, kEndOfBlock).
struct AcTable {
  uint64_t serial = 0;
  CanonicalCodes codes;
  // By the next kLookupBits bits: the entry of the symbol whose code is in them; 0 where the code is
  // longer or a symbol baseline 8-bit data cannot have.
  uint16_t skip[1 << kLookupBits];
  // Groups: as many whole symbols as r known bits hold, to skip at once (an end-of-block ends them),
  // for r from 1 to kLookupBits, at groups[(1 << r) + bits]. Bits 0-4: the bits they take with their
  // extra bits; 5-10: how far they move in the block; kGroupEndOfBlock when they end with
  // end-of-block. 0 where not even one symbol is whole in the r bits.
  uint16_t groups[2 << kLookupBits];
  // By the next kLookupBits bits: their group.
  const uint16_t* Group() const { return groups + (1 << kLookupBits); }
};

// The start of a block (its DC difference, then AC symbols) for one pair of DC and AC tables.
struct BlockStartTable {
  // By the next kLookupBits bits, when a DC code and its extra bits are all in them: bits 0-4, the
  // bits they take with the group of AC symbols whole in the rest (moving at most 62 in the block,
  // so that the block goes on after them unless they end with end-of-block); 5-10: how far those AC
  // symbols move; kGroupEndOfBlock when they end the block; high 16 bits, the DC difference (signed).
  // 0 where the DC code and extra bits are not all in them.
  uint32_t entries[1 << kLookupBits];
};

constexpr uint32_t kGroupEndOfBlock = 1u << 11;

// What an AC symbol does in AcTable::skip's form, with its code's length: 0 when baseline 8-bit data
// cannot have it (a run with no value other than sixteen zeros, more than 10 extra bits).
inline uint16_t AcSkipEntry(int symbol, int codeLength) {
  const int bits = symbol & 15;
  if (symbol == 0x00) return static_cast<uint16_t>(kEndOfBlock << 8 | codeLength);
  if (symbol == 0xF0) return static_cast<uint16_t>(16 << 8 | codeLength);
  if (bits == 0 || bits > 10) return 0;
  return static_cast<uint16_t>(((symbol >> 4) + 1) << 8 | (codeLength + bits));
}

// Build a table from a DHT entry (16 counts, then the symbols; `size` bytes in all). False for a table
// libjpeg would refuse (codes not fitting their lengths or all ones, a DC symbol above 15), which
// then must not be copied into a stream the crop writes.
bool BuildDcTable(const uint8_t* entry, size_t size, DcTable& table);
bool BuildAcTable(const uint8_t* entry, size_t size, AcTable& table);
void BuildBlockStartTable(const DcTable& dc, const AcTable& ac, BlockStartTable& table);

}  // namespace vitrine_crop
