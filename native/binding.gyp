{
  "variables": {
    "jpeglib%": "<!(node -p \"['/usr/include/jpeglib.h', '/usr/local/include/jpeglib.h', '/opt/homebrew/include/jpeglib.h'].some((f) => require('fs').existsSync(f)) ? 1 : 0\")",
    "lcms2%": "<!(node -p \"['/usr/include/lcms2.h', '/usr/local/include/lcms2.h', '/opt/homebrew/include/lcms2.h'].some((f) => require('fs').existsSync(f)) ? 1 : 0\")",
    "libtiff%": "<!(node -p \"['/usr/include', '/usr/include/x86_64-linux-gnu', '/usr/include/aarch64-linux-gnu', '/usr/local/include', '/opt/homebrew/include'].some((d) => require('fs').existsSync(d + '/tiffio.h')) ? 1 : 0\")",
    "openjpeg_include%": "<!(node -p \"['/usr/include', '/usr/local/include', '/opt/homebrew/include'].map((d) => d + '/openjpeg-2.5').find((d) => require('fs').existsSync(d + '/openjpeg.h')) || ''\")"
  },
  "targets": [
    {
      "target_name": "vitrine_native",
      "sources": ["src/addon.cc", "src/jpeg_crop.cc", "src/jpeg_crop_core.cc", "src/jpeg_headers.cc", "src/jpeg_huffman.cc", "src/memory.cc", "src/upscale.cc", "src/upscale_core.cc"],
      "include_dirs": ["<!(node -p \"require('node-addon-api').include_dir\")"],
      "defines": ["NAPI_VERSION=8", "NAPI_DISABLE_CPP_EXCEPTIONS"],
      "cflags_cc": ["-O2", "-std=c++17"],
      "libraries": ["-lturbojpeg"],
      "conditions": [
        ["jpeglib==1", {
          "sources": ["src/region_decode.cc", "src/region_decode_core.cc", "src/finish.cc", "src/finish_core.cc", "src/reduce_core.cc"],
          "defines": ["VITRINE_REGION_DECODE"],
          "libraries": ["-ljpeg"]
        }],
        ["libtiff==1", {
          "sources": ["src/tiff_rgba.cc", "src/tiff_rgba_core.cc"],
          "defines": ["VITRINE_LIBTIFF"],
          "libraries": ["-ltiff"]
        }],
        ["openjpeg_include!=''", {
          "sources": ["src/jp2_decode.cc", "src/jp2_decode_core.cc", "src/jp2_colour.cc", "src/jp2_encode.cc"],
          "include_dirs": ["<(openjpeg_include)"],
          "defines": ["VITRINE_OPENJPEG"],
          "libraries": ["-lopenjp2"],
          "conditions": [
            ["lcms2==1", {
              "defines": ["VITRINE_LCMS"],
              "libraries": ["-llcms2"]
            }]
          ]
        }]
      ]
    }
  ]
}
