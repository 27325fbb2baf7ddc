#pragma once
#include <napi.h>

// JPEG 2000 encoding with OpenJPEG, one row of tiles at a time, so memory follows the tile size and
// not the image's; the tiles are encoded in parallel, each on its own (see jp2_encode.cc), and the file
// is byte for byte what OpenJPEG writes encoding the whole image with the same settings.
//
// new Jp2Encoder(options)
//   options = {
//     path: string,                 // the .jp2 file to write (created or truncated)
//     width, height: number,        // the image, 8 bits per sample
//     channels: 1 | 3,              // greyscale or sRGB (the colr box says which); RGB gets the MCT
//     tileSize: number,             // square tiles, from 64 to 16384 (a power of two is usual)
//     resolutions: number,          // resolution levels, 1 to 32 (wavelet decompositions + 1)
//     precincts: number[],          // precinct side per resolution level, highest first, powers of
//                                   // two from 16 to 32768; the last is used for the levels below
//     lossless: boolean,            // reversible 5/3 wavelet, every bit kept
//     psnr: number[],               // when lossy: quality layers, increasing, in dB (irreversible 9/7)
//     threads: number,              // threads encoding tiles (a one-tile image: OpenJPEG's threads)
//   }
//   Codestream: RPCL progression, 64×64 code-blocks, one tile-part per resolution level, PLT and TLM
//   markers (packet and tile-part lengths) so that decoders find any tile and level without parsing.
//
// encoder.writeStrip(buffer): Promise<void>
//   The next min(tileSize, rows left) rows of the image, row-major, interleaved, 8-bit. Its tiles are
//   queued for the encoder's threads (its own, not libuv's pool, which the libvips pipeline feeding
//   the encoder may be holding); the promise settles once they are in the file. Several strips may
//   be in flight; they settle in order. A buffer must not change until its promise settles.
// encoder.finish(): Promise<void>
//   After the last strip: writes the end of the codestream and the lengths left open, closes the file.
// encoder.abort(): void
//   Stops the threads and closes the file as it is (the caller deletes it). Not while calls run.
//
// Every OpenJPEG and system error rejects the calls' promises with a message that says what failed;
// the encoder is then unusable except for abort().
//
// makeFifo(path): void
//   Creates a named pipe (mode 0600): libvips writes an image into it while the encoder reads it.
void RegisterJp2Encode(Napi::Env env, Napi::Object exports);
