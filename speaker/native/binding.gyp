{
  "targets": [
    {
      "target_name": "ironlb_packet",
      "sources": ["src/packet_socket.c", "src/heartbeat.c"],
      "libraries": ["-lpthread"],
      "cflags": ["-std=gnu11", "-Wall", "-Wextra", "-Wno-unused-parameter", "-O2"],
      "defines": ["NAPI_VERSION=8"]
    }
  ]
}
