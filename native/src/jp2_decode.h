#pragma once
#include <napi.h>

// decodeJp2(job): Promise<{ data: Buffer, width, height, channels }>
// Decodes one area of a JPEG 2000 file (JP2 or raw J2K codestream) at a reduced resolution with
// OpenJPEG, on libuv's thread pool. Only the code-blocks the area needs are decoded, at the
// resolution asked for, so a deep-zoom tile costs milliseconds whatever the image's size.
//
// job = {
//   fd: number, size: number,    // an open file descriptor (read with pread, never moved) and the file's size
//   codec: 0 | 1,                // 0: raw J2K codestream, 1: JP2 file
//   reduce: number,              // discard this many highest resolution levels (1 halves each side)
//   x0, y0, x1, y1: number,      // the area on the reference grid (full resolution), [x0, x1) × [y0, y1)
//   threads: number,             // OpenJPEG worker threads for this decode (1: none)
//   fullResolution?: boolean,    // decode at full resolution and average down (palette images)
// }
// The result is row-major, interleaved, 8 bits per sample: 1 (grey), 2 (grey, alpha), 3 (RGB) or
// 4 (RGB, alpha) channels, exactly the area's size at that level (jp2_colour.h: subsampled
// components upsampled, samples scaled to 8 bits, sYCC, e-sYCC, CIELab, CMYK and embedded ICC
// profiles converted to sRGB). Any OpenJPEG error, or a decode that covers less than the area,
// rejects the promise with its reason.
Napi::Value DecodeJp2(const Napi::CallbackInfo& info);

// Adds decodeJp2 to the exports.
void RegisterJp2Decode(Napi::Env env, Napi::Object exports);
