#pragma once
// One tile of a JPEG 2000 image, encoded by OpenJPEG into memory as a one-tile J2K codestream of an
// image that is exactly that tile at its place on the reference grid, then taken apart into its main
// header and its tile-parts (see jp2_encode.cc for why the tile-parts are those of the whole image).
// Included by jp2_encode.cc only.

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <string>
#include <vector>

#include <openjpeg.h>

namespace vitrine_jp2 {

// The encoder's options, as jp2_encode.h describes them.
struct Settings {
  std::string path;
  uint32_t width = 0, height = 0, channels = 3, tileSize = 1024, resolutions = 6, threads = 1;
  std::vector<uint32_t> precincts;
  bool lossless = false;
  std::vector<float> psnr;
};

// A growable in-memory output for OpenJPEG's stream callbacks.
struct MemorySink {
  std::vector<uint8_t> bytes;
  size_t position = 0;
};

inline OPJ_SIZE_T WriteMemory(void* buffer, OPJ_SIZE_T size, void* user) {
  auto* sink = static_cast<MemorySink*>(user);
  if (sink->position + size > sink->bytes.size()) sink->bytes.resize(sink->position + size);
  std::memcpy(sink->bytes.data() + sink->position, buffer, size);
  sink->position += size;
  return size;
}

inline OPJ_OFF_T SkipMemory(OPJ_OFF_T size, void* user) {
  auto* sink = static_cast<MemorySink*>(user);
  if (size < 0 && static_cast<size_t>(-size) > sink->position) return -1;
  sink->position = static_cast<size_t>(static_cast<OPJ_OFF_T>(sink->position) + size);
  return size;
}

inline OPJ_BOOL SeekMemory(OPJ_OFF_T offset, void* user) {
  if (offset < 0) return OPJ_FALSE;
  static_cast<MemorySink*>(user)->position = static_cast<size_t>(offset);
  return OPJ_TRUE;
}

// OpenJPEG's messages end with a newline; keep the first error, which says what went wrong first.
inline void KeepError(const char* message, void* user) {
  auto* error = static_cast<std::string*>(user);
  if (!error->empty()) return;
  *error = message;
  while (!error->empty() && (error->back() == '\n' || error->back() == ' ')) error->pop_back();
}

inline void Ignore(const char*, void*) {}

struct Rect {
  uint32_t x0, y0, width, height;
};

// Everything OpenJPEG allocates for one tile, freed on every path.
struct OpjTile {
  opj_image_t* image = nullptr;
  opj_codec_t* codec = nullptr;
  opj_stream_t* stream = nullptr;
  ~OpjTile() {
    if (stream != nullptr) opj_stream_destroy(stream);
    if (codec != nullptr) opj_destroy_codec(codec);
    if (image != nullptr) opj_image_destroy(image);
  }
};

// Encodes `planes` (one byte per sample, a plane per component) as the tile `r` of the image.
inline bool EncodeTile(const Settings& s, const Rect& r, uint8_t* planes, int opjThreads, MemorySink& out, std::string& error) {
  std::string opjError;
  auto fail = [&](const char* what) {
    error = what;
    if (!opjError.empty()) error += ": " + opjError;
    return false;
  };
  OpjTile t;
  opj_image_cmptparm_t components[3];
  std::memset(components, 0, sizeof components);
  for (uint32_t c = 0; c < s.channels; c++) {
    components[c].dx = 1;
    components[c].dy = 1;
    components[c].w = r.width;
    components[c].h = r.height;
    components[c].x0 = r.x0;
    components[c].y0 = r.y0;
    components[c].prec = 8;
    components[c].sgnd = 0;
  }
  // A header-only image: the pixels go in through opj_write_tile.
  t.image = opj_image_tile_create(s.channels, components, s.channels == 1 ? OPJ_CLRSPC_GRAY : OPJ_CLRSPC_SRGB);
  if (t.image == nullptr) return fail("cannot allocate an image header");
  t.image->x0 = r.x0;
  t.image->y0 = r.y0;
  t.image->x1 = r.x0 + r.width;
  t.image->y1 = r.y0 + r.height;

  opj_cparameters_t p;
  opj_set_default_encoder_parameters(&p);
  p.tile_size_on = OPJ_TRUE;
  p.cp_tx0 = static_cast<int>(r.x0);  // the tile grid starts at this tile: it is tile 0 here
  p.cp_ty0 = static_cast<int>(r.y0);
  p.cp_tdx = static_cast<int>(s.tileSize);
  p.cp_tdy = static_cast<int>(s.tileSize);
  p.numresolution = static_cast<int>(s.resolutions);
  p.cblockw_init = 64;
  p.cblockh_init = 64;
  p.prog_order = OPJ_RPCL;
  // Precincts for every level, highest first (OpenJPEG would halve the last size given for the levels
  // below it; an explicit list keeps the size asked for).
  p.csty |= 0x01;
  p.res_spec = static_cast<int>(s.resolutions);
  for (uint32_t i = 0; i < s.resolutions; i++) {
    const uint32_t side = s.precincts[std::min<size_t>(i, s.precincts.size() - 1)];
    p.prcw_init[i] = static_cast<int>(side);
    p.prch_init[i] = static_cast<int>(side);
  }
  p.tcp_mct = s.channels == 3 ? 1 : 0;
  // One tile-part per resolution level: a reader wanting a reduced level stops early.
  p.tp_on = 1;
  p.tp_flag = 'R';
  if (s.lossless) {
    p.irreversible = 0;
    p.tcp_numlayers = 1;
    p.tcp_rates[0] = 0;  // 0: keep every bit
    p.cp_disto_alloc = 1;
  } else {
    p.irreversible = 1;
    p.tcp_numlayers = static_cast<int>(s.psnr.size());
    for (size_t i = 0; i < s.psnr.size(); i++) p.tcp_distoratio[i] = s.psnr[i];
    p.cp_fixed_quality = 1;
  }

  t.codec = opj_create_compress(OPJ_CODEC_J2K);
  if (t.codec == nullptr) return fail("cannot create an OpenJPEG encoder");
  opj_set_error_handler(t.codec, KeepError, &opjError);
  opj_set_warning_handler(t.codec, Ignore, nullptr);
  opj_set_info_handler(t.codec, Ignore, nullptr);
  if (!opj_setup_encoder(t.codec, &p, t.image)) return fail("invalid encoder settings");
  // PLT here; the TLM segments are the assembler's (they list the tile-parts of every tile).
  const char* const extra[] = {"PLT=YES", nullptr};
  if (!opj_encoder_set_extra_options(t.codec, extra)) return fail("cannot enable PLT markers");
  if (opjThreads > 1 && opj_has_thread_support() && !opj_codec_set_threads(t.codec, opjThreads)) {
    return fail("cannot start OpenJPEG's threads");
  }
  t.stream = opj_stream_create(1 << 20, OPJ_FALSE);
  if (t.stream == nullptr) return fail("cannot allocate an output stream");
  opj_stream_set_user_data(t.stream, &out, nullptr);
  opj_stream_set_write_function(t.stream, WriteMemory);
  opj_stream_set_skip_function(t.stream, SkipMemory);
  opj_stream_set_seek_function(t.stream, SeekMemory);
  if (!opj_start_compress(t.codec, t.image, t.stream)) return fail("cannot start the codestream");
  const size_t size = static_cast<size_t>(r.width) * r.height * s.channels;
  if (!opj_write_tile(t.codec, 0, planes, static_cast<OPJ_UINT32>(size), t.stream)) return fail("cannot encode the tile");
  if (!opj_end_compress(t.codec, t.stream)) return fail("cannot end the codestream");
  out.bytes.resize(out.position);
  return true;
}

inline uint16_t Be16(const uint8_t* p) { return static_cast<uint16_t>(p[0] << 8 | p[1]); }
inline uint32_t Be32(const uint8_t* p) { return static_cast<uint32_t>(p[0]) << 24 | static_cast<uint32_t>(p[1]) << 16 | p[2] << 8 | p[3]; }
inline void PutBe16(uint8_t* p, uint32_t v) {
  p[0] = static_cast<uint8_t>(v >> 8);
  p[1] = static_cast<uint8_t>(v);
}
inline void PutBe32(uint8_t* p, uint32_t v) {
  PutBe16(p, v >> 16);
  PutBe16(p + 2, v);
}

constexpr uint16_t kSoc = 0xff4f, kSiz = 0xff51, kSot = 0xff90, kEoc = 0xffd9, kTlm = 0xff55, kCom = 0xff64;

// A tile's one-tile codestream, taken apart: its main header and its tile-parts.
struct CodedTile {
  std::vector<uint8_t> bytes;
  size_t headerEnd = 0;              // the main header is [0, headerEnd): SOC … up to the first SOT
  std::vector<uint32_t> partLengths; // the tile-parts follow it, back to back, then EOC
};

// Checks the codestream's layout, sets the tile index of every tile-part to `index`.
inline bool Dissect(CodedTile& tile, uint32_t index, std::string& error) {
  std::vector<uint8_t>& b = tile.bytes;
  const size_t n = b.size();
  if (n < 4 || Be16(b.data()) != kSoc) return error = "OpenJPEG's codestream does not start with SOC", false;
  size_t at = 2;
  while (at + 4 <= n && Be16(&b[at]) != kSot) {
    if (b[at] != 0xff) return error = "unexpected bytes in OpenJPEG's main header", false;
    at += 2 + Be16(&b[at + 2]);
  }
  tile.headerEnd = at;
  while (at + 12 <= n && Be16(&b[at]) == kSot) {
    const uint32_t length = Be32(&b[at + 6]);
    if (length < 14 || at + length > n) return error = "a tile-part of OpenJPEG's codestream has a bad length", false;
    PutBe16(&b[at + 4], index);
    tile.partLengths.push_back(length);
    at += length;
  }
  if (tile.partLengths.empty() || at + 2 != n || Be16(&b[at]) != kEoc) return error = "OpenJPEG's codestream does not end as expected", false;
  return true;
}

}  // namespace vitrine_jp2
