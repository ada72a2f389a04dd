// ironlb_packet: a small Node-API addon exposing Linux AF_PACKET sockets for the L2 responder.
//
//   interfaceInfo(name)                      -> { index, mac: Buffer(6), mtu, up }
//   open(name, etherTypes[], ndpOnly)        -> handle   (ETH_P_ALL + a classic BPF filter on the EtherTypes;
//                                                          IPv6 narrowed to ICMPv6 NS/NA when ndpOnly;
//                                                          PACKET_MR_ALLMULTI so solicited-node multicast arrives)
//   send(handle, Uint8Array)                 -> bytes sent (the frame includes its Ethernet header)
//   startReceive(handle, cb(frame, pkttype)) -- uv_poll on the fd; cb runs on the main thread per frame; a
//                                                VLAN tag the NIC stripped (PACKET_AUXDATA) is put back in place
//   stopReceive(handle), close(handle)
//   heartbeatOpen, heartbeatLoad, heartbeatSendNow, heartbeatClose: the heartbeat sender thread (heartbeat.c)
//
// Errors are thrown as Error with code = the errno name ("EPERM", "ENODEV", ...) and a message naming the
// interface and the call that failed.
#ifndef NAPI_VERSION
#define NAPI_VERSION 8
#endif
#include <node_api.h>
#include <uv.h>

#include <arpa/inet.h>
#include <errno.h>
#include <linux/filter.h>
#include <linux/if_ether.h>
#include <linux/if_packet.h>
#include <net/if.h>
#include <net/if_arp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#ifndef PACKET_IGNORE_OUTGOING
#define PACKET_IGNORE_OUTGOING 23
#endif
#ifndef TP_STATUS_VLAN_TPID_VALID
#define TP_STATUS_VLAN_TPID_VALID (1 << 6)
#endif

#define MAX_FRAME 65536
#define MAX_FRAMES_PER_WAKEUP 64
#define MAX_ETHERTYPES 16

typedef struct {
  int fd;
  int ifindex;
  char ifname[IF_NAMESIZE];
  uv_poll_t poll;
  napi_env env;
  napi_ref callback;      // JS receive callback while receiving
  napi_ref self;          // keeps the handle alive while receiving
  napi_async_context async_ctx;
  int receiving;
  int dispatching;        // inside on_readable: JS may call stop/close; refs are released after the loop
  int closed;             // close() called
  int handle_closed;      // uv close callback ran
  int finalized;          // the JS handle was garbage collected
  uint8_t buf[MAX_FRAME + 8];
} psock;

static const char* errno_code(int e) {
  switch (e) {
    case EPERM: return "EPERM";
    case EACCES: return "EACCES";
    case ENODEV: return "ENODEV";
    case ENXIO: return "ENXIO";
    case EAGAIN: return "EAGAIN";
    case ENOBUFS: return "ENOBUFS";
    case ENETDOWN: return "ENETDOWN";
    case EMSGSIZE: return "EMSGSIZE";
    case EINVAL: return "EINVAL";
    case EBADF: return "EBADF";
    default: return "EIO";
  }
}

static napi_value throw_errno(napi_env env, int e, const char* what, const char* ifname) {
  char msg[256];
  snprintf(msg, sizeof msg, "Cannot %s on interface \"%s\": %s", what, ifname, strerror(e));
  napi_throw_error(env, errno_code(e), msg);
  return NULL;
}

static napi_value throw_type(napi_env env, const char* msg) {
  napi_throw_type_error(env, NULL, msg);
  return NULL;
}

// Reads an interface name into out[IF_NAMESIZE]; fails unless 1..IF_NAMESIZE-1 bytes long.
static int get_ifname(napi_env env, napi_value v, char out[IF_NAMESIZE]) {
  size_t len = 0;
  if (napi_get_value_string_utf8(env, v, NULL, 0, &len) != napi_ok) return -1;
  if (len == 0 || len >= IF_NAMESIZE) return -1;
  memset(out, 0, IF_NAMESIZE);
  return napi_get_value_string_utf8(env, v, out, IF_NAMESIZE, &len) == napi_ok ? 0 : -1;
}

static psock* get_sock(napi_env env, napi_value v) {
  void* p = NULL;
  if (napi_get_value_external(env, v, &p) != napi_ok || p == NULL) {
    throw_type(env, "Packet socket handle is not a handle returned by open()");
    return NULL;
  }
  psock* s = (psock*)p;
  if (s->closed) {
    napi_throw_error(env, "EBADF", "Packet socket is closed");
    return NULL;
  }
  return s;
}

// ---- interfaceInfo ----

static napi_value interface_info(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
  char name[IF_NAMESIZE];
  if (argc < 1 || get_ifname(env, argv[0], name) != 0) return throw_type(env, "Interface name must be a non-empty string shorter than 16 bytes");
  int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if (fd < 0) fd = socket(AF_INET6, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return throw_errno(env, errno, "open an ioctl socket", name);
  struct ifreq ifr;
  memset(&ifr, 0, sizeof ifr);
  memcpy(ifr.ifr_name, name, IF_NAMESIZE);
  if (ioctl(fd, SIOCGIFINDEX, &ifr) < 0) { int e = errno; close(fd); return throw_errno(env, e, "read the interface index", name); }
  int index = ifr.ifr_ifindex;
  if (ioctl(fd, SIOCGIFHWADDR, &ifr) < 0) { int e = errno; close(fd); return throw_errno(env, e, "read the hardware address", name); }
  int is_ether = ifr.ifr_hwaddr.sa_family == ARPHRD_ETHER;
  uint8_t mac[6];
  memcpy(mac, ifr.ifr_hwaddr.sa_data, 6);
  if (ioctl(fd, SIOCGIFMTU, &ifr) < 0) { int e = errno; close(fd); return throw_errno(env, e, "read the MTU", name); }
  int mtu = ifr.ifr_mtu;
  if (ioctl(fd, SIOCGIFFLAGS, &ifr) < 0) { int e = errno; close(fd); return throw_errno(env, e, "read the flags", name); }
  int flags = ifr.ifr_flags;
  close(fd);

  napi_value obj, v;
  napi_create_object(env, &obj);
  napi_create_int32(env, index, &v); napi_set_named_property(env, obj, "index", v);
  napi_create_buffer_copy(env, 6, mac, NULL, &v); napi_set_named_property(env, obj, "mac", v);
  napi_create_int32(env, mtu, &v); napi_set_named_property(env, obj, "mtu", v);
  napi_get_boolean(env, (flags & IFF_UP) != 0, &v); napi_set_named_property(env, obj, "up", v);
  napi_get_boolean(env, is_ether, &v); napi_set_named_property(env, obj, "ethernet", v);
  napi_get_boolean(env, (flags & IFF_NOARP) != 0, &v); napi_set_named_property(env, obj, "noArp", v);
  return obj;
}

// ---- open ----

// Builds: accept frames whose EtherType is in the list; with ndpOnly, IPv6 only when next header is ICMPv6
// (58) and the ICMPv6 type is 135 or 136 (no extension headers: NDP never carries them in practice).
static int build_filter(struct sock_filter* prog, const uint16_t* types, int n, int ndp_only) {
  int k = 0;
  int want_ndp = 0;
  prog[k++] = (struct sock_filter)BPF_STMT(BPF_LD | BPF_H | BPF_ABS, 12);
  int jumps_to_accept[MAX_ETHERTYPES + 2];
  int nj = 0;
  for (int i = 0; i < n; i++) {
    if (ndp_only && types[i] == ETH_P_IPV6) { want_ndp = 1; continue; }
    jumps_to_accept[nj++] = k;
    prog[k++] = (struct sock_filter)BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, types[i], 0, 0);
  }
  int jumps_to_reject[4];
  int nr = 0;
  if (want_ndp) {
    jumps_to_reject[nr++] = k;
    prog[k++] = (struct sock_filter)BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, ETH_P_IPV6, 0, 0);  // jf -> reject
    prog[k++] = (struct sock_filter)BPF_STMT(BPF_LD | BPF_B | BPF_ABS, 20);
    jumps_to_reject[nr++] = k;
    prog[k++] = (struct sock_filter)BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, 58, 0, 0);          // jf -> reject
    prog[k++] = (struct sock_filter)BPF_STMT(BPF_LD | BPF_B | BPF_ABS, 54);
    jumps_to_accept[nj++] = k;
    prog[k++] = (struct sock_filter)BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, 135, 0, 0);
    jumps_to_accept[nj++] = k;
    prog[k++] = (struct sock_filter)BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, 136, 0, 0);
  }
  int reject = k;
  prog[k++] = (struct sock_filter)BPF_STMT(BPF_RET | BPF_K, 0);
  int accept = k;
  prog[k++] = (struct sock_filter)BPF_STMT(BPF_RET | BPF_K, MAX_FRAME);
  for (int i = 0; i < nj; i++) prog[jumps_to_accept[i]].jt = (uint8_t)(accept - jumps_to_accept[i] - 1);
  for (int i = 0; i < nr; i++) prog[jumps_to_reject[i]].jf = (uint8_t)(reject - jumps_to_reject[i] - 1);
  // The plain EtherType tests fall through (jf = 0) to the next test, and the last one to the NDP block or reject.
  return k;
}

static void on_handle_closed(uv_handle_t* h) {
  psock* s = (psock*)h->data;
  if (s->fd >= 0) close(s->fd);
  s->fd = -1;
  s->handle_closed = 1;
  if (s->finalized) free(s);
}

static void release_receive_refs(psock* s) {
  napi_env env = s->env;
  if (s->callback) { napi_delete_reference(env, s->callback); s->callback = NULL; }
  if (s->async_ctx) { napi_async_destroy(env, s->async_ctx); s->async_ctx = NULL; }
  if (s->self) { napi_delete_reference(env, s->self); s->self = NULL; }
}

static void stop_receiving(psock* s) {
  if (!s->receiving) return;
  uv_poll_stop(&s->poll);
  s->receiving = 0;
  if (!s->dispatching) release_receive_refs(s);
}

static void close_sock(psock* s) {
  if (s->closed) return;
  stop_receiving(s);
  s->closed = 1;
  uv_close((uv_handle_t*)&s->poll, on_handle_closed);
}

static void finalize_sock(napi_env env, void* data, void* hint) {
  (void)env; (void)hint;
  psock* s = (psock*)data;
  s->finalized = 1;
  if (!s->closed) {
    // Not receiving (a receiving socket holds a reference to itself), so no JS is involved here.
    s->closed = 1;
    uv_close((uv_handle_t*)&s->poll, on_handle_closed);
    return;
  }
  if (s->handle_closed) free(s);
}

static napi_value open_sock(napi_env env, napi_callback_info info) {
  size_t argc = 3;
  napi_value argv[3];
  napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
  char name[IF_NAMESIZE];
  if (argc < 3 || get_ifname(env, argv[0], name) != 0) return throw_type(env, "Interface name must be a non-empty string shorter than 16 bytes");
  uint32_t n = 0;
  bool is_array = false;
  napi_is_array(env, argv[1], &is_array);
  if (!is_array || napi_get_array_length(env, argv[1], &n) != napi_ok || n == 0 || n > MAX_ETHERTYPES) return throw_type(env, "EtherTypes must be an array of 1 to 16 numbers");
  uint16_t types[MAX_ETHERTYPES];
  for (uint32_t i = 0; i < n; i++) {
    napi_value el;
    uint32_t t = 0;
    napi_get_element(env, argv[1], i, &el);
    if (napi_get_value_uint32(env, el, &t) != napi_ok || t < 0x0600 || t > 0xffff) return throw_type(env, "Each EtherType must be a number from 0x0600 to 0xffff");
    types[i] = (uint16_t)t;
  }
  bool ndp_only = false;
  napi_get_value_bool(env, argv[2], &ndp_only);

  unsigned int ifindex = if_nametoindex(name);
  if (ifindex == 0) return throw_errno(env, errno, "find the interface", name);

  // Protocol 0: receive nothing until the filter is attached and the socket is bound, so no unfiltered
  // frame slips in between.
  int fd = socket(AF_PACKET, SOCK_RAW | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) return throw_errno(env, errno, "open a packet socket", name);
  struct sock_filter prog[MAX_ETHERTYPES + 12];
  struct sock_fprog fprog = { .len = (unsigned short)build_filter(prog, types, (int)n, ndp_only), .filter = prog };
  int one = 1;
  if (setsockopt(fd, SOL_SOCKET, SO_ATTACH_FILTER, &fprog, sizeof fprog) < 0) { int e = errno; close(fd); return throw_errno(env, e, "attach the packet filter", name); }
  if (setsockopt(fd, SOL_PACKET, PACKET_AUXDATA, &one, sizeof one) < 0) { int e = errno; close(fd); return throw_errno(env, e, "enable PACKET_AUXDATA", name); }
  (void)setsockopt(fd, SOL_PACKET, PACKET_IGNORE_OUTGOING, &one, sizeof one);  // Linux ≥ 4.20; pkttype check covers older
  struct sockaddr_ll sll;
  memset(&sll, 0, sizeof sll);
  sll.sll_family = AF_PACKET;
  sll.sll_protocol = htons(ETH_P_ALL);
  sll.sll_ifindex = (int)ifindex;
  if (bind(fd, (struct sockaddr*)&sll, sizeof sll) < 0) { int e = errno; close(fd); return throw_errno(env, e, "bind the packet socket", name); }
  struct packet_mreq mreq;
  memset(&mreq, 0, sizeof mreq);
  mreq.mr_ifindex = (int)ifindex;
  mreq.mr_type = PACKET_MR_ALLMULTI;
  if (setsockopt(fd, SOL_PACKET, PACKET_ADD_MEMBERSHIP, &mreq, sizeof mreq) < 0) { int e = errno; close(fd); return throw_errno(env, e, "join all-multicast", name); }

  psock* s = (psock*)calloc(1, sizeof(psock));
  if (!s) { close(fd); napi_throw_error(env, "ENOMEM", "Cannot allocate a packet socket"); return NULL; }
  s->fd = fd;
  s->ifindex = (int)ifindex;
  memcpy(s->ifname, name, IF_NAMESIZE);
  s->env = env;
  uv_loop_t* loop = NULL;
  napi_get_uv_event_loop(env, &loop);
  if (uv_poll_init(loop, &s->poll, fd) != 0) { close(fd); free(s); napi_throw_error(env, "EIO", "Cannot poll the packet socket"); return NULL; }
  s->poll.data = s;
  napi_value handle;
  if (napi_create_external(env, s, finalize_sock, NULL, &handle) != napi_ok) {
    s->finalized = 1;
    s->closed = 1;
    uv_close((uv_handle_t*)&s->poll, on_handle_closed);
    return NULL;
  }
  return handle;
}

// ---- send ----

static napi_value send_frame(napi_env env, napi_callback_info info) {
  size_t argc = 2;
  napi_value argv[2];
  napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
  if (argc < 2) return throw_type(env, "send(handle, frame) needs two arguments");
  psock* s = get_sock(env, argv[0]);
  if (!s) return NULL;
  bool is_ta = false;
  napi_is_typedarray(env, argv[1], &is_ta);
  if (!is_ta) return throw_type(env, "Frame must be a Uint8Array");
  napi_typedarray_type type;
  size_t len = 0;
  void* data = NULL;
  napi_get_typedarray_info(env, argv[1], &type, &len, &data, NULL, NULL);
  if (type != napi_uint8_array) return throw_type(env, "Frame must be a Uint8Array");
  if (len < 14 || len > MAX_FRAME) return throw_type(env, "Frame must hold an Ethernet header and at most 65536 bytes");
  const uint8_t* f = (const uint8_t*)data;
  struct sockaddr_ll to;
  memset(&to, 0, sizeof to);
  to.sll_family = AF_PACKET;
  to.sll_ifindex = s->ifindex;
  to.sll_halen = 6;
  memcpy(to.sll_addr, f, 6);
  to.sll_protocol = htons((uint16_t)((f[12] << 8) | f[13]));
  ssize_t n;
  do { n = sendto(s->fd, f, len, 0, (struct sockaddr*)&to, sizeof to); } while (n < 0 && errno == EINTR);
  if (n < 0) return throw_errno(env, errno, "send a frame", s->ifname);
  napi_value out;
  napi_create_int64(env, (int64_t)n, &out);
  return out;
}

// ---- receive ----

static void on_readable(uv_poll_t* h, int status, int events) {
  (void)events;
  psock* s = (psock*)h->data;
  if (!s->receiving || status < 0) return;
  napi_env env = s->env;
  napi_handle_scope scope;
  if (napi_open_handle_scope(env, &scope) != napi_ok) return;
  s->dispatching = 1;
  for (int i = 0; i < MAX_FRAMES_PER_WAKEUP && s->receiving; i++) {
    struct sockaddr_ll from;
    union { struct cmsghdr align; char buf[CMSG_SPACE(sizeof(struct tpacket_auxdata))]; } ctl;
    struct iovec iov = { .iov_base = s->buf + 4, .iov_len = MAX_FRAME };
    struct msghdr msg;
    memset(&msg, 0, sizeof msg);
    msg.msg_name = &from;
    msg.msg_namelen = sizeof from;
    msg.msg_iov = &iov;
    msg.msg_iovlen = 1;
    msg.msg_control = ctl.buf;
    msg.msg_controllen = sizeof ctl.buf;
    ssize_t n = recvmsg(s->fd, &msg, MSG_DONTWAIT);
    if (n < 0) {
      if (errno == EINTR) continue;
      break;  // EAGAIN: drained; other errors: poll again later
    }
    if (from.sll_pkttype == PACKET_OUTGOING) continue;
    uint8_t* frame = s->buf + 4;
    size_t len = (size_t)n;
    if (len > MAX_FRAME) len = MAX_FRAME;
    // Put back a VLAN tag the NIC (or veth) stripped into metadata, so JS sees the frame as on the wire.
    for (struct cmsghdr* c = CMSG_FIRSTHDR(&msg); c; c = CMSG_NXTHDR(&msg, c)) {
      if (c->cmsg_level != SOL_PACKET || c->cmsg_type != PACKET_AUXDATA) continue;
      struct tpacket_auxdata aux;
      memcpy(&aux, CMSG_DATA(c), sizeof aux);
      if ((aux.tp_status & TP_STATUS_VLAN_VALID) && len >= 12) {
        uint16_t tpid = (aux.tp_status & TP_STATUS_VLAN_TPID_VALID) ? aux.tp_vlan_tpid : ETH_P_8021Q;
        memmove(s->buf, frame, 12);  // dst + src move 4 bytes to the front
        frame = s->buf;
        frame[12] = (uint8_t)(tpid >> 8);
        frame[13] = (uint8_t)tpid;
        frame[14] = (uint8_t)(aux.tp_vlan_tci >> 8);
        frame[15] = (uint8_t)aux.tp_vlan_tci;
        len += 4;
      }
    }
    napi_value argv[2], cb, recv, result;
    napi_create_buffer_copy(env, len, frame, NULL, &argv[0]);
    napi_create_int32(env, from.sll_pkttype, &argv[1]);
    napi_get_reference_value(env, s->callback, &cb);
    napi_get_global(env, &recv);  // napi_make_callback converts recv to an object: undefined would throw
    napi_status st = napi_make_callback(env, s->async_ctx, recv, cb, 2, argv, &result);
    if (st == napi_pending_exception) {
      napi_value err;
      napi_get_and_clear_last_exception(env, &err);
      napi_fatal_exception(env, err);  // surfaces as 'uncaughtException', as an EventEmitter listener would
      break;
    }
  }
  s->dispatching = 0;
  if (!s->receiving) release_receive_refs(s);  // the callback stopped or closed the socket
  napi_close_handle_scope(env, scope);
}

static napi_value start_receive(napi_env env, napi_callback_info info) {
  size_t argc = 2;
  napi_value argv[2], handle = NULL;
  napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
  if (argc < 2) return throw_type(env, "startReceive(handle, callback) needs two arguments");
  handle = argv[0];
  psock* s = get_sock(env, handle);
  if (!s) return NULL;
  napi_valuetype t;
  napi_typeof(env, argv[1], &t);
  if (t != napi_function) return throw_type(env, "Receive callback must be a function");
  if (s->dispatching) { napi_throw_error(env, "EBUSY", "Cannot restart receiving from inside the receive callback"); return NULL; }
  stop_receiving(s);
  napi_create_reference(env, argv[1], 1, &s->callback);
  napi_create_reference(env, handle, 1, &s->self);
  napi_value name;
  napi_create_string_utf8(env, "ironlb.PacketSocket", NAPI_AUTO_LENGTH, &name);
  napi_async_init(env, NULL, name, &s->async_ctx);
  int rc = uv_poll_start(&s->poll, UV_READABLE, on_readable);
  if (rc != 0) {
    stop_receiving(s);
    char msg[200];
    snprintf(msg, sizeof msg, "Cannot poll the packet socket on interface \"%s\": %s", s->ifname, uv_strerror(rc));
    napi_throw_error(env, "EIO", msg);
    return NULL;
  }
  s->receiving = 1;
  return NULL;
}

static napi_value stop_receive(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
  if (argc < 1) return throw_type(env, "stopReceive(handle) needs a handle");
  psock* s = get_sock(env, argv[0]);
  if (s) stop_receiving(s);
  return NULL;
}

static napi_value close_handle(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
  void* p = NULL;
  if (argc < 1 || napi_get_value_external(env, argv[0], &p) != napi_ok || !p) return throw_type(env, "close(handle) needs a handle returned by open()");
  close_sock((psock*)p);  // idempotent
  return NULL;
}

void heartbeat_exports(napi_env env, napi_value exports);

static napi_value init(napi_env env, napi_value exports) {
  napi_property_descriptor props[] = {
    { "interfaceInfo", NULL, interface_info, NULL, NULL, NULL, napi_default, NULL },
    { "open", NULL, open_sock, NULL, NULL, NULL, napi_default, NULL },
    { "send", NULL, send_frame, NULL, NULL, NULL, napi_default, NULL },
    { "startReceive", NULL, start_receive, NULL, NULL, NULL, napi_default, NULL },
    { "stopReceive", NULL, stop_receive, NULL, NULL, NULL, napi_default, NULL },
    { "close", NULL, close_handle, NULL, NULL, NULL, napi_default, NULL },
  };
  napi_define_properties(env, exports, sizeof props / sizeof props[0], props);
  heartbeat_exports(env, exports);
  return exports;
}

NAPI_MODULE(NODE_GYP_MODULE_NAME, init)
