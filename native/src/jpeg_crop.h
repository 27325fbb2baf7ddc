#pragma once
#include <napi.h>

// cropJpeg(jpeg: Buffer, width: number, height: number): Buffer
// Lossless crop of the top-left width×height of a baseline JPEG, as jpegtran -crop does: nothing is
// decoded to pixels or re-quantized. Sequential Huffman-coded 8-bit streams (what pyramidal TIFFs
// store) are cropped by jpeg_crop_core.cc, which rewrites only the kept MCUs' DC differences; any
// other stream goes through libjpeg-turbo's tjTransform, which throws on garbage.
//
// cropJpegInPlace(jpeg, width, height): number — the first way alone, written over `jpeg`: the
// cropped stream's length, or 0 (jpeg unchanged) where it declines or the result would not fit.
// cropJpegTransform(jpeg, width, height): Buffer — tjTransform alone (for tests and benchmarks).
// Width and height are the crop's, from the top-left corner; beyond the image, tjTransform throws.
void RegisterJpegCrop(Napi::Env env, Napi::Object exports);
