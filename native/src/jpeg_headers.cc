#include "jpeg_headers.h"

namespace vitrine_crop {
namespace {

// libjpeg's JPEG_MAX_DIMENSION: a larger image is refused by decoders, our output's too.
constexpr int kMaxDimension = 65500;

int Read16(const uint8_t* p) { return p[0] << 8 | p[1]; }

// SOF0/SOF1: 8-bit samples, a height given here (not by DNL), 1 to 3 components as libjpeg takes them.
const char* ReadFrame(const uint8_t* body, size_t size, StreamHeaders& headers) {
  if (size < 6) return "short SOF";
  if (body[0] != 8) return "not 8-bit";
  headers.height = Read16(body + 1);
  headers.width = Read16(body + 3);
  const int count = body[5];
  if (headers.width == 0 || headers.height == 0) return "no size in SOF";
  if (headers.width > kMaxDimension || headers.height > kMaxDimension) return "larger than libjpeg takes";
  if (count < 1 || count > 3) return "not 1 to 3 components";
  if (size != 6 + 3 * static_cast<size_t>(count)) return "bad SOF length";
  headers.componentCount = count;
  for (int i = 0; i < count; i++) {
    const uint8_t* c = body + 6 + 3 * i;
    FrameComponent& component = headers.components[i];
    component.id = c[0];
    component.h = c[1] >> 4;
    component.v = c[1] & 15;
    component.quantTable = c[2];
    if (component.h < 1 || component.h > 4 || component.v < 1 || component.v > 4) return "bad sampling factors";
    if (component.quantTable > 3) return "bad quantisation table number";
    for (int j = 0; j < i; j++) {
      if (headers.components[j].id == component.id) return "two components with one id";
    }
  }
  return nullptr;
}

const char* ReadHuffman(const uint8_t* body, size_t size, StreamHeaders& headers) {
  while (size > 0) {
    if (size < 17) return "short DHT";
    const int kind = body[0] >> 4;
    const int slot = body[0] & 15;
    if (kind > 1 || slot > 3) return "bad DHT table number";
    size_t count = 0;
    for (int i = 1; i <= 16; i++) count += body[i];
    if (count > 256 || 17 + count > size) return "bad DHT counts";
    headers.huffman[kind][slot] = HuffmanEntry{body + 1, 16 + count};
    body += 17 + count;
    size -= 17 + count;
  }
  return nullptr;
}

const char* ReadQuant(const uint8_t* body, size_t size, bool defined[4]) {
  while (size > 0) {
    const int precision = body[0] >> 4;
    const int slot = body[0] & 15;
    if (precision > 1 || slot > 3) return "bad DQT table";
    const size_t length = 1 + 64 * (precision + 1);
    if (length > size) return "short DQT";
    defined[slot] = true;
    body += length;
    size -= length;
  }
  return nullptr;
}

// One scan of all the frame's components, sequential (spectral selection 0–63, no approximation).
const char* ReadScan(const uint8_t* body, size_t size, StreamHeaders& headers) {
  if (headers.componentCount == 0) return "SOS before SOF";
  if (size < 1) return "short SOS";
  const int count = body[0];
  if (size != 4 + 2 * static_cast<size_t>(count)) return "bad SOS length";
  if (count != headers.componentCount) return "scan without all components";
  bool used[3] = {};
  for (int i = 0; i < count; i++) {
    const uint8_t* c = body + 1 + 2 * i;
    int found = -1;
    for (int j = 0; j < headers.componentCount; j++) {
      if (headers.components[j].id == c[0]) found = j;
    }
    if (found < 0 || used[found]) return "bad SOS component";
    used[found] = true;
    ScanComponent& component = headers.scan[i];
    component.frameIndex = found;
    component.dcTable = c[1] >> 4;
    component.acTable = c[1] & 15;
    if (component.dcTable > 3 || component.acTable > 3) return "bad SOS table number";
    if (headers.huffman[0][component.dcTable].bytes == nullptr || headers.huffman[1][component.acTable].bytes == nullptr) {
      return "Huffman table not defined";
    }
  }
  const uint8_t* tail = body + 1 + 2 * count;
  if (tail[0] != 0 || tail[1] != 63 || tail[2] != 0) return "not a sequential scan";
  headers.scanCount = count;
  return nullptr;
}

}  // namespace

const char* ReadHeaders(const uint8_t* jpeg, size_t size, StreamHeaders& headers) {
  if (size < 4 || jpeg[0] != 0xFF || jpeg[1] != 0xD8) return "no SOI";
  bool quantDefined[4] = {};
  size_t at = 2;
  for (;;) {
    if (at + 4 > size) return "no scan";
    if (jpeg[at] != 0xFF) return "bytes between segments";
    const int marker = jpeg[at + 1];
    const size_t length = static_cast<size_t>(Read16(jpeg + at + 2));
    if (length < 2 || length > size - at - 2) return "segment past the end";
    const uint8_t* body = jpeg + at + 4;
    const size_t bodySize = length - 2;
    const char* why = nullptr;
    if (marker == 0xC0 || marker == 0xC1) {
      if (headers.componentCount != 0) return "two frames";
      headers.frameAt = at;
      why = ReadFrame(body, bodySize, headers);
    } else if (marker == 0xC4) {
      why = ReadHuffman(body, bodySize, headers);
    } else if (marker == 0xDB) {
      why = ReadQuant(body, bodySize, quantDefined);
    } else if (marker == 0xDD) {
      if (bodySize != 2) return "bad DRI length";
      if (headers.restartFieldCount == 4) return "too many DRI segments";
      headers.restartInterval = Read16(body);
      headers.restartFieldAt[headers.restartFieldCount++] = at + 4;
    } else if (marker == 0xDA) {
      why = ReadScan(body, bodySize, headers);
      if (why) return why;
      for (int i = 0; i < headers.componentCount; i++) {
        if (!quantDefined[headers.components[i].quantTable]) return "quantisation table not defined";
      }
      headers.dataAt = at + 2 + length;
      return nullptr;
    } else if (!((marker >= 0xE0 && marker <= 0xEF) || marker == 0xFE)) {
      // Progressive, lossless, arithmetic-coded frames, DAC, DNL, markers out of place: not ours.
      return "marker outside the fast case";
    }
    if (why) return why;
    at += 2 + length;
  }
}

}  // namespace vitrine_crop
