{
  "variables": {
    "jpeglib%": "<!(node -p \"['/usr/include/jpeglib.h', '/usr/local/include/jpeglib.h', '/opt/homebrew/include/jpeglib.h'].some((f) => require('fs').existsSync(f)) ? 1 : 0\")"
  },
  "targets": [
    {
      "target_name": "vitrine_native",
      "sources": ["src/addon.cc", "src/jpeg_crop.cc"],
      "include_dirs": ["<!(node -p \"require('node-addon-api').include_dir\")"],
      "defines": ["NAPI_VERSION=8", "NAPI_DISABLE_CPP_EXCEPTIONS"],
      "cflags_cc": ["-O2", "-std=c++17"],
      "libraries": ["-lturbojpeg"],
      "conditions": [
        ["jpeglib==1", {
          "sources": ["src/region_decode.cc"],
          "defines": ["VITRINE_REGION_DECODE"],
          "libraries": ["-ljpeg"]
        }]
      ]
    }
  ]
}
