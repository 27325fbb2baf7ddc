#pragma once
#include <napi.h>

// cropJpeg(jpeg: Buffer, width: number, height: number): Buffer
// Lossless crop of the top-left width×height of a baseline JPEG (libjpeg-turbo's tjTransform,
// as jpegtran -crop does): Huffman data is rewritten, nothing is decoded to pixels or re-quantized.
Napi::Value CropJpeg(const Napi::CallbackInfo& info);
