#pragma once
#include <napi.h>

// decodeTiffRgba(job): Promise<{ data: Buffer, width, height, channels }>
// Decodes a rectangle of one TIFF directory with the system libtiff's RGBA interface
// (TIFFRGBAImage), on libuv's thread pool. It is the fallback for what sharp's bundled libtiff was
// built without: old-style JPEG (compression 6), in strips or tiles, with its YCbCr subsampling.
//
// job = {
//   fd: number, size: number,   // an open descriptor (read with pread, never moved) and the file's size
//   offset: number,             // the directory's (IFD's) offset in the file: top-level or SubIFD alike
//   x0, y0, x1, y1: number,     // the rectangle in the directory's pixels, [x0, x1) × [y0, y1)
// }
// The result is row-major, interleaved, 8 bits per sample: 1 channel for greyscale directories, 3
// (RGB), or 4 (RGB, alpha) when the directory has an alpha sample. Any libtiff error (a corrupt or
// missing strip or tile included) rejects the promise with libtiff's message: a decode never
// succeeds with pixels it did not write.
Napi::Value DecodeTiffRgba(const Napi::CallbackInfo& info);

// Adds decodeTiffRgba and libtiffVersion to the exports.
void RegisterTiffRgba(Napi::Env env, Napi::Object exports);
