// ironlb_packet, part two: the speaker's heartbeat sender thread (speaker/liveness-sender.ts, NativeSender).
// A native thread sends UDP datagrams the main thread prepared, one every interval, so heartbeats keep going
// while the JavaScript thread is busy (a long synchronous step, a GC pause, little CPU) at the cost of a
// thread, not of a second V8 isolate. The main thread hands over a batch of numbered, already signed
// heartbeats covering the next maxStallMs; a batch that runs out (the main thread has not run for that long)
// silences the sender, so a hung speaker is still declared dead.
//
//   heartbeatOpen(port, intervalMs)                        -> handle (the thread starts, sending nothing)
//   heartbeatLoad(handle, firstSeq, datagrams[], peers[], periodic)
//                                                          -> the last sequence number sent so far (0: none);
//                                                             replaces the batch; items at or below the last
//                                                             sent number are skipped, so numbers only grow
//   heartbeatLastSent(handle)                              -> the last sequence number sent (0: none)
//   heartbeatSendNow(handle, n)                            -> items sent now from this thread (a burst)
//   heartbeatClose(handle)                                 -- stops and joins the thread; idempotent
//
// The thread holds no JavaScript value and never calls into JavaScript. Errors from sendto are ignored: a lost
// heartbeat is what the peers' timeout is for.
#define _GNU_SOURCE  // pthread_setname_np
#include <node_api.h>

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define HB_MAX_ITEMS 1024
#define HB_MAX_PEERS 4096
#define HB_MAX_DATAGRAM 1400

typedef struct {
  pthread_t thread;
  pthread_mutex_t mu;
  pthread_cond_t cv;
  int stop;
  int closed;
  uint16_t port;
  long interval_ns;
  int fd4, fd6;
  // the batch: count datagrams of lens[i] bytes at offs[i] in data; item i has sequence number first_seq + i
  uint8_t* data;
  size_t* offs;
  size_t* lens;
  uint32_t count, head;
  int64_t first_seq, last_sent;
  int periodic;
  struct sockaddr_storage* peers;
  socklen_t* peer_lens;
  uint32_t npeers;
} hbeat;

static void free_batch(uint8_t* data, size_t* offs, size_t* lens, struct sockaddr_storage* peers, socklen_t* pl) {
  free(data);
  free(offs);
  free(lens);
  free(peers);
  free(pl);
}

// send_next sends the next item of the batch to every peer; called with mu held. Returns 1 if one was sent.
static int send_next(hbeat* h) {
  if (h->head >= h->count) return 0;
  const uint8_t* d = h->data + h->offs[h->head];
  size_t len = h->lens[h->head];
  for (uint32_t p = 0; p < h->npeers; p++) {
    int fd = h->peers[p].ss_family == AF_INET6 ? h->fd6 : h->fd4;
    if (fd >= 0) (void)sendto(fd, d, len, MSG_DONTWAIT, (struct sockaddr*)&h->peers[p], h->peer_lens[p]);
  }
  h->last_sent = h->first_seq + (int64_t)h->head;
  h->head++;
  return 1;
}

static void add_ns(struct timespec* t, long ns) {
  t->tv_nsec += ns;
  while (t->tv_nsec >= 1000000000L) {
    t->tv_nsec -= 1000000000L;
    t->tv_sec++;
  }
}

static int before(const struct timespec* a, const struct timespec* b) {
  return a->tv_sec < b->tv_sec || (a->tv_sec == b->tv_sec && a->tv_nsec < b->tv_nsec);
}

static void* run(void* arg) {
  hbeat* h = (hbeat*)arg;
  struct timespec next, now;
  clock_gettime(CLOCK_MONOTONIC, &next);
  pthread_mutex_lock(&h->mu);
  while (!h->stop) {
    add_ns(&next, h->interval_ns);
    clock_gettime(CLOCK_MONOTONIC, &now);
    if (before(&next, &now)) {
      // this thread itself was not scheduled for over an interval: start again from now, no catch-up burst
      next = now;
      add_ns(&next, h->interval_ns);
    }
    while (!h->stop && pthread_cond_timedwait(&h->cv, &h->mu, &next) != ETIMEDOUT) {
    }
    if (!h->stop && h->periodic) send_next(h);
  }
  pthread_mutex_unlock(&h->mu);
  return NULL;
}

static void close_hb(hbeat* h) {
  if (h->closed) return;
  h->closed = 1;
  pthread_mutex_lock(&h->mu);
  h->stop = 1;
  pthread_cond_signal(&h->cv);
  pthread_mutex_unlock(&h->mu);
  pthread_join(h->thread, NULL);
  if (h->fd4 >= 0) close(h->fd4);
  if (h->fd6 >= 0) close(h->fd6);
  free_batch(h->data, h->offs, h->lens, h->peers, h->peer_lens);
  h->data = NULL;
  h->offs = h->lens = NULL;
  h->peers = NULL;
  h->peer_lens = NULL;
  h->count = h->head = h->npeers = 0;
  pthread_cond_destroy(&h->cv);
  pthread_mutex_destroy(&h->mu);
}

static void finalize_hb(napi_env env, void* data, void* hint) {
  (void)env;
  (void)hint;
  hbeat* h = (hbeat*)data;
  close_hb(h);
  free(h);
}

static hbeat* get_hb(napi_env env, napi_value v) {
  void* p = NULL;
  if (napi_get_value_external(env, v, &p) != napi_ok || p == NULL) {
    napi_throw_type_error(env, NULL, "Heartbeat handle is not a handle returned by heartbeatOpen()");
    return NULL;
  }
  hbeat* h = (hbeat*)p;
  if (h->closed) {
    napi_throw_error(env, "EBADF", "Heartbeat sender is closed");
    return NULL;
  }
  return h;
}

static napi_value hb_open(napi_env env, napi_callback_info info) {
  size_t argc = 2;
  napi_value argv[2];
  napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
  uint32_t port = 0, interval = 0;
  if (argc < 2 || napi_get_value_uint32(env, argv[0], &port) != napi_ok || port == 0 || port > 65535 ||
      napi_get_value_uint32(env, argv[1], &interval) != napi_ok || interval == 0 || interval > 60000) {
    napi_throw_type_error(env, NULL, "heartbeatOpen needs a port (1-65535) and an interval (1-60000 ms)");
    return NULL;
  }
  hbeat* h = (hbeat*)calloc(1, sizeof(hbeat));
  if (!h) {
    napi_throw_error(env, "ENOMEM", "Cannot allocate the heartbeat sender");
    return NULL;
  }
  h->port = (uint16_t)port;
  h->interval_ns = (long)interval * 1000000L;
  h->last_sent = 0;  // numbers start at 1
  h->fd4 = socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  h->fd6 = socket(AF_INET6, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);  // -1 without IPv6: v4 only
  if (h->fd4 < 0 && h->fd6 < 0) {
    int e = errno;
    free(h);
    napi_throw_error(env, "EIO", e == EPERM ? "Cannot open a UDP socket for heartbeats (EPERM)" : "Cannot open a UDP socket for heartbeats");
    return NULL;
  }
  pthread_condattr_t ca;
  pthread_condattr_init(&ca);
  pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
  pthread_cond_init(&h->cv, &ca);
  pthread_condattr_destroy(&ca);
  pthread_mutex_init(&h->mu, NULL);
  pthread_attr_t attr;
  pthread_attr_init(&attr);
  pthread_attr_setstacksize(&attr, 64 * 1024);  // it only loops and calls sendto
  int rc = pthread_create(&h->thread, &attr, run, h);
  pthread_attr_destroy(&attr);
  if (rc != 0) {
    if (h->fd4 >= 0) close(h->fd4);
    if (h->fd6 >= 0) close(h->fd6);
    pthread_cond_destroy(&h->cv);
    pthread_mutex_destroy(&h->mu);
    free(h);
    napi_throw_error(env, "EAGAIN", "Cannot start the heartbeat thread");
    return NULL;
  }
  pthread_setname_np(h->thread, "ironlb-heartbt");
  napi_value handle;
  if (napi_create_external(env, h, finalize_hb, NULL, &handle) != napi_ok) {
    close_hb(h);
    free(h);
    return NULL;
  }
  return handle;
}

static napi_value hb_load(napi_env env, napi_callback_info info) {
  size_t argc = 5;
  napi_value argv[5];
  napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
  if (argc < 5) {
    napi_throw_type_error(env, NULL, "heartbeatLoad(handle, firstSeq, datagrams, peers, periodic)");
    return NULL;
  }
  hbeat* h = get_hb(env, argv[0]);
  if (!h) return NULL;
  int64_t first = 0;
  uint32_t count = 0, npeers = 0;
  bool arr1 = false, arr2 = false, periodic = false;
  napi_is_array(env, argv[2], &arr1);
  napi_is_array(env, argv[3], &arr2);
  if (napi_get_value_int64(env, argv[1], &first) != napi_ok || first < 0 || !arr1 || !arr2 ||
      napi_get_array_length(env, argv[2], &count) != napi_ok || count > HB_MAX_ITEMS ||
      napi_get_array_length(env, argv[3], &npeers) != napi_ok || npeers > HB_MAX_PEERS) {
    napi_throw_type_error(env, NULL, "heartbeatLoad needs a sequence number, up to 1024 datagrams and up to 4096 peer addresses");
    return NULL;
  }
  napi_get_value_bool(env, argv[4], &periodic);

  // the datagrams' total size first, so the batch is one small block (~2 KiB), not count × the maximum
  size_t total = 0;
  for (uint32_t i = 0; i < count; i++) {
    napi_value el;
    size_t len = 0;
    bool is_ta = false;
    napi_get_element(env, argv[2], i, &el);
    napi_is_typedarray(env, el, &is_ta);
    if (is_ta) napi_get_typedarray_info(env, el, NULL, &len, NULL, NULL, NULL);
    total += len;
  }
  size_t* offs = (size_t*)calloc(count ? count : 1, sizeof(size_t));
  size_t* lens = (size_t*)calloc(count ? count : 1, sizeof(size_t));
  uint8_t* data = (uint8_t*)malloc(total ? total : 1);
  struct sockaddr_storage* peers = (struct sockaddr_storage*)calloc(npeers ? npeers : 1, sizeof(struct sockaddr_storage));
  socklen_t* pl = (socklen_t*)calloc(npeers ? npeers : 1, sizeof(socklen_t));
  if (!offs || !lens || !data || !peers || !pl) {
    free_batch(data, offs, lens, peers, pl);
    napi_throw_error(env, "ENOMEM", "Cannot allocate the heartbeat batch");
    return NULL;
  }
  size_t used = 0;
  for (uint32_t i = 0; i < count; i++) {
    napi_value el;
    napi_get_element(env, argv[2], i, &el);
    bool is_ta = false;
    napi_is_typedarray(env, el, &is_ta);
    void* bytes = NULL;
    size_t len = 0;
    napi_typedarray_type tt;
    if (is_ta) napi_get_typedarray_info(env, el, &tt, &len, &bytes, NULL, NULL);
    if (!is_ta || tt != napi_uint8_array || len == 0 || len > HB_MAX_DATAGRAM || used + len > total) {
      free_batch(data, offs, lens, peers, pl);
      napi_throw_type_error(env, NULL, "Each heartbeat must be a Uint8Array of 1 to 1400 bytes");
      return NULL;
    }
    memcpy(data + used, bytes, len);
    offs[i] = used;
    lens[i] = len;
    used += len;
  }
  for (uint32_t i = 0; i < npeers; i++) {
    napi_value el;
    char addr[64];
    size_t len = 0;
    napi_get_element(env, argv[3], i, &el);
    if (napi_get_value_string_utf8(env, el, addr, sizeof addr, &len) != napi_ok) len = 0;
    struct sockaddr_in* a4 = (struct sockaddr_in*)&peers[i];
    struct sockaddr_in6* a6 = (struct sockaddr_in6*)&peers[i];
    if (len > 0 && inet_pton(AF_INET, addr, &a4->sin_addr) == 1) {
      a4->sin_family = AF_INET;
      a4->sin_port = htons(h->port);
      pl[i] = sizeof(struct sockaddr_in);
    } else if (len > 0 && inet_pton(AF_INET6, addr, &a6->sin6_addr) == 1) {
      a6->sin6_family = AF_INET6;
      a6->sin6_port = htons(h->port);
      pl[i] = sizeof(struct sockaddr_in6);
    } else {
      free_batch(data, offs, lens, peers, pl);
      napi_throw_type_error(env, NULL, "Each peer must be an IPv4 or IPv6 address");
      return NULL;
    }
  }

  pthread_mutex_lock(&h->mu);
  uint8_t* old_data = h->data;
  size_t* old_offs = h->offs;
  size_t* old_lens = h->lens;
  struct sockaddr_storage* old_peers = h->peers;
  socklen_t* old_pl = h->peer_lens;
  h->data = data;
  h->offs = offs;
  h->lens = lens;
  h->count = count;
  h->first_seq = first;
  // numbers already sent (the thread may have sent one since the caller read last_sent) are not sent again
  int64_t skip = h->last_sent >= first ? h->last_sent - first + 1 : 0;
  h->head = skip > (int64_t)count ? count : (uint32_t)skip;
  h->peers = peers;
  h->peer_lens = pl;
  h->npeers = npeers;
  h->periodic = periodic;
  int64_t last = h->last_sent;
  pthread_mutex_unlock(&h->mu);
  free_batch(old_data, old_offs, old_lens, old_peers, old_pl);
  napi_value out;
  napi_create_int64(env, last, &out);
  return out;
}

static napi_value hb_send_now(napi_env env, napi_callback_info info) {
  size_t argc = 2;
  napi_value argv[2];
  napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
  hbeat* h = argc >= 1 ? get_hb(env, argv[0]) : NULL;
  if (!h) return NULL;
  uint32_t n = 0;
  if (argc < 2 || napi_get_value_uint32(env, argv[1], &n) != napi_ok) {
    napi_throw_type_error(env, NULL, "heartbeatSendNow(handle, n) needs a count");
    return NULL;
  }
  uint32_t sent = 0;
  pthread_mutex_lock(&h->mu);
  while (sent < n && send_next(h)) sent++;
  pthread_mutex_unlock(&h->mu);
  napi_value out;
  napi_create_uint32(env, sent, &out);
  return out;
}

static napi_value hb_last_sent(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
  hbeat* h = argc >= 1 ? get_hb(env, argv[0]) : NULL;
  if (!h) return NULL;
  pthread_mutex_lock(&h->mu);
  int64_t last = h->last_sent;
  pthread_mutex_unlock(&h->mu);
  napi_value out;
  napi_create_int64(env, last, &out);
  return out;
}

static napi_value hb_close(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
  void* p = NULL;
  if (argc < 1 || napi_get_value_external(env, argv[0], &p) != napi_ok || !p) {
    napi_throw_type_error(env, NULL, "heartbeatClose(handle) needs a handle returned by heartbeatOpen()");
    return NULL;
  }
  close_hb((hbeat*)p);  // idempotent; the finalizer frees
  return NULL;
}

// heartbeat_exports adds the heartbeat functions to the addon's exports (called from packet_socket.c's init).
void heartbeat_exports(napi_env env, napi_value exports) {
  napi_property_descriptor props[] = {
    { "heartbeatOpen", NULL, hb_open, NULL, NULL, NULL, napi_default, NULL },
    { "heartbeatLoad", NULL, hb_load, NULL, NULL, NULL, napi_default, NULL },
    { "heartbeatLastSent", NULL, hb_last_sent, NULL, NULL, NULL, napi_default, NULL },
    { "heartbeatSendNow", NULL, hb_send_now, NULL, NULL, NULL, napi_default, NULL },
    { "heartbeatClose", NULL, hb_close, NULL, NULL, NULL, napi_default, NULL },
  };
  napi_define_properties(env, exports, sizeof props / sizeof props[0], props);
}
