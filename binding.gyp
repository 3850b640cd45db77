{
  "targets": [
    {
      "target_name": "directflip_native",
      "sources": ["native/addon.cc", "native/errors.cc", "native/drm.cc", "native/drm_events.cc", "native/vfio.cc", "native/mem.cc", "native/socket.cc", "native/poll.cc", "native/uevent.cc", "native/memfd.cc"],
      "include_dirs": ["<!(node -p \"require('node-addon-api').include_dir\")", "/usr/include/libdrm"],
      "defines": ["NAPI_VERSION=8", "NAPI_CPP_EXCEPTIONS"],
      "cflags!": ["-fno-exceptions"],
      "cflags_cc!": ["-fno-exceptions"],
      "cflags_cc": ["-std=c++17", "-Wall", "-Wextra", "-Werror", "-fexceptions"]
    }
  ]
}
