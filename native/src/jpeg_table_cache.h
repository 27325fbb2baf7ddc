#pragma once
// Tables built for the lossless crop (jpeg_huffman.h), kept from one crop to the next: all tiles of
// a level share their Huffman tables, and most files have the standard ones, while building the
// tables costs about as much as a crop.

#include <cstddef>
#include <cstdint>
#include <cstring>

#include "jpeg_huffman.h"

namespace vitrine_crop {

// Slots per cache: more than the tables one scan uses (3 components), so that a scan's tables stay
// valid together, the least recently used being replaced.
constexpr int kCacheSlots = 4;

// DC or AC tables, found again by the bytes of their DHT entry.
template <typename Table, bool (*Build)(const uint8_t*, size_t, Table&)>
class TableCache {
 public:
  // The table of a DHT entry, or nullptr when it is refused.
  const Table* Get(const uint8_t* entry, size_t size) {
    if (size > sizeof(Slot::source)) return nullptr;
    clock_++;
    Slot* oldest = &slots_[0];
    for (Slot& slot : slots_) {
      if (slot.size == size && std::memcmp(slot.source, entry, size) == 0) {
        slot.used = clock_;
        return &slot.table;
      }
      if (slot.used < oldest->used) oldest = &slot;
    }
    oldest->size = 0;
    oldest->used = clock_;
    if (!Build(entry, size, oldest->table)) return nullptr;
    std::memcpy(oldest->source, entry, size);
    oldest->size = size;
    oldest->table.serial = ++serial_;
    return &oldest->table;
  }

 private:
  struct Slot {
    uint8_t source[16 + 256];
    size_t size = 0;
    uint64_t used = 0;
    Table table;
  };
  Slot slots_[kCacheSlots];
  uint64_t clock_ = 0;
  uint64_t serial_ = 0;
};

// Block-start tables, found again by the builds of their DC and AC tables.
class BlockStartCache {
 public:
  const BlockStartTable& Get(const DcTable& dc, const AcTable& ac) {
    clock_++;
    Slot* oldest = &slots_[0];
    for (Slot& slot : slots_) {
      if (slot.dcSerial == dc.serial && slot.acSerial == ac.serial) {
        slot.used = clock_;
        return slot.table;
      }
      if (slot.used < oldest->used) oldest = &slot;
    }
    BuildBlockStartTable(dc, ac, oldest->table);
    oldest->dcSerial = dc.serial;
    oldest->acSerial = ac.serial;
    oldest->used = clock_;
    return oldest->table;
  }

 private:
  struct Slot {
    uint64_t dcSerial = 0, acSerial = 0;  // 0: empty (serials start at 1)
    uint64_t used = 0;
    BlockStartTable table;
  };
  Slot slots_[kCacheSlots];
  uint64_t clock_ = 0;
};

}  // namespace vitrine_crop
