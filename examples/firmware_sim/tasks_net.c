/*
 * The network side: the Wi-Fi driver with its DMA buffers, a TLS session
 * with mbedTLS-like allocations, and an MQTT client that reconnects often
 * and leaks its client id on every reconnect (the bug part 3 finds).
 *
 * Sizes are ESP-IDF's: Wi-Fi RX/TX buffers of 1600 bytes
 * (CONFIG_ESP_WIFI_*_BUFFER), TLS records of 16 KiB of content plus
 * header, MAC and padding (MBEDTLS_SSL_IN/OUT_BUFFER_LEN).
 */
#include <string.h>

#include "sim.h"

#define WIFI_BUF_BYTES 1600u
#define WIFI_STATIC_RX 10u
#define WIFI_BURST_MAX 16u
#define TLS_RECORD_BYTES (16384u + 333u)
#define TLS_SMALL_MAX 96u
#define SESSION_KEEP 24u /* mbedTLS state that lives as long as the session */
#define RENEGOTIATE_MS 3000u

#define CAPS_WIFI (RTM_CAP_DMA | RTM_CAP_INTERNAL)
#define CAPS_MBEDTLS (RTM_CAP_INTERNAL | RTM_CAP_8BIT)

static void *s_static_rx[WIFI_STATIC_RX];

void sim_boot_wifi(void)
{
    size_t got = 0;
    for (size_t i = 0; i < WIFI_STATIC_RX; i++) {
        s_static_rx[i] = rtm_caps_malloc(WIFI_BUF_BYTES, CAPS_WIFI);
        got += s_static_rx[i] != NULL;
    }
    sim_log('I', "wifi", "driver init: %zu static RX buffers of %u bytes (MALLOC_CAP_DMA)", got,
            WIFI_BUF_BYTES);
}

void sim_shutdown_wifi(void)
{
    for (size_t i = 0; i < WIFI_STATIC_RX; i++) {
        rtm_caps_free(s_static_rx[i]);
        s_static_rx[i] = NULL;
    }
}

/* ------------------------------------------------------------------ */
/* TLS                                                                 */

typedef struct tls_session {
    void *in;
    void *out;
    void *state[SESSION_KEEP];
} tls_session_t;

/* mbedTLS's allocation sizes during a handshake: contexts, bignums, the
 * certificate chain being parsed, transcript hashes. */
static const uint16_t k_mbedtls_sizes[] = {16,  24,  32,  48,  64,  96,  128,
                                           176, 256, 384, 512, 1024, 2048, 3072};

/* What survives the handshake as session state: the SSL context, the
 * peer certificate, keys, the transcript. Always the same sizes, so the
 * session's footprint does not vary from one connection to the next. */
static const uint16_t k_session_sizes[SESSION_KEEP] = {
    2048, 1536, 1024, 1024, 512, 512, 384, 384, 256, 256, 256, 192,
    176,  128,  128,  128,  96,  96,  64,  64,  48,  32,  32,  24};

/* The handshake: the records, many short-lived allocations while the
 * certificate chain is parsed and verified, then the session state.
 * False if memory ran out for the records. */
static bool tls_handshake(sim_task_t *self, tls_session_t *s)
{
    memset(s, 0, sizeof *s);
    s->in = rtm_caps_malloc(TLS_RECORD_BYTES, CAPS_WIFI);
    s->out = rtm_caps_malloc(TLS_RECORD_BYTES, CAPS_WIFI);
    if (s->in == NULL || s->out == NULL) {
        sim_log('W', "tls", "handshake: no DMA-capable memory for the %u-byte records",
                TLS_RECORD_BYTES);
        rtm_caps_free(s->in);
        rtm_caps_free(s->out);
        s->in = s->out = NULL;
        return false;
    }
    void *temp[TLS_SMALL_MAX];
    size_t n = 0;
    size_t count = sizeof k_mbedtls_sizes / sizeof k_mbedtls_sizes[0];
    for (size_t i = 0; i < TLS_SMALL_MAX; i++) {
        size_t size = k_mbedtls_sizes[sim_rand(&self->rng, (uint32_t)count)];
        void *p = rtm_caps_malloc(size, CAPS_MBEDTLS);
        if (p == NULL) {
            continue;
        }
        memset(p, 0x5a, size);
        if (i % 4 == 0 && n > 0) {
            /* Contexts freed as the handshake moves on. */
            rtm_caps_free(temp[--n]);
        }
        temp[n++] = p;
    }
    /* The deep path of the handshake (bignum exponentiation, certificate
     * verification) reaches most of the task's stack. */
    sim_touch_stack(self->stack, self->stack_size, self->stack_percent);
    for (size_t i = 0; i < SESSION_KEEP; i++) {
        s->state[i] = rtm_caps_malloc(k_session_sizes[i], CAPS_MBEDTLS);
    }
    for (size_t i = 0; i < n; i++) {
        rtm_caps_free(temp[i]);
    }
    return true;
}

static void tls_close(tls_session_t *s)
{
    for (size_t i = 0; i < SESSION_KEEP; i++) {
        rtm_caps_free(s->state[i]);
    }
    rtm_caps_free(s->in);
    rtm_caps_free(s->out);
    memset(s, 0, sizeof *s);
}

/* A burst of traffic: RX frames come in, are decrypted into the TLS
 * record and handed on, TX frames go out; every buffer is returned before
 * the next burst, as the driver does. Returns the buffers that could not
 * be had. */
static uint32_t wifi_burst(sim_task_t *self, tls_session_t *s)
{
    void *bufs[WIFI_BURST_MAX];
    uint32_t want = 2u + sim_rand(&self->rng, WIFI_BURST_MAX - 1u);
    uint32_t missed = 0;
    for (uint32_t i = 0; i < want; i++) {
        bufs[i] = rtm_caps_malloc(WIFI_BUF_BYTES, CAPS_WIFI);
        if (bufs[i] == NULL) {
            missed++;
            continue;
        }
        memset(bufs[i], (int)i, 64);
        if (s->in != NULL) {
            memcpy(s->in, bufs[i], 64);
        }
    }
    for (uint32_t i = 0; i < want; i++) {
        rtm_caps_free(bufs[i]);
    }
    self->count_b += want - missed;
    return missed;
}

void task_wifi(sim_task_t *self)
{
    if (rtm_caps_total_size(RTM_CAP_DMA) == 0) {
        sim_log('W', "wifi", "this memory map has no DMA-capable region: Wi-Fi stays off");
        return;
    }
    tls_session_t session = {0};
    bool connected = false;
    uint32_t next_handshake = sim_ms();
    while (sim_running()) {
        if (sim_ms() >= next_handshake) {
            if (connected) {
                tls_close(&session);
            }
            connected = tls_handshake(self, &session);
            if (connected) {
                self->count_a++;
                sim_log('I', "tls", "session %u established (two %u-byte records, DMA-capable)",
                        (unsigned)self->count_a, TLS_RECORD_BYTES);
                next_handshake = sim_ms() + RENEGOTIATE_MS;
            } else {
                next_handshake = sim_ms() + 1000u; /* back off, as a TLS client does */
            }
        }
        uint32_t missed = wifi_burst(self, &session);
        if (missed != 0) {
            self->count_c += missed;
            /* The first shortage, then one line per hundred buffers. */
            uint32_t before = self->count_c - missed;
            if (before == 0 || self->count_c / 100u != before / 100u) {
                sim_log('W', "wifi", "RX/TX: %u buffers of %u bytes not available so far "
                                     "(DMA memory short)",
                        (unsigned)self->count_c, WIFI_BUF_BYTES);
            }
        }
        rtm_port_sleep_ms(15);
    }
    if (connected) {
        tls_close(&session);
    }
}

/* ------------------------------------------------------------------ */
/* MQTT client: reconnects, and leaks                                  */

#define CLIENT_ID_BYTES 160u
#define MQTT_CTX_BYTES 320u
#define TOPIC_BYTES 64u
#define RECONNECT_MS 200u

static uint32_t s_leak_line;

const char *sim_leak_file(void)
{
    return __FILE__;
}

uint32_t sim_leak_line(void)
{
    return s_leak_line;
}

/* One reconnect: a fresh context, the client id and two subscriptions.
 * Everything is freed when the connection drops except the client id,
 * whose pointer is overwritten by the next connect: the leak. */
static void mqtt_reconnect(sim_task_t *self)
{
    char *ctx = rtm_caps_malloc_default(MQTT_CTX_BYTES);
    char *client_id = RTM_MALLOC(g_app.leak_heap, CLIENT_ID_BYTES); s_leak_line = __LINE__;
    char *topics[2] = {rtm_caps_malloc_default(TOPIC_BYTES), rtm_caps_malloc_default(TOPIC_BYTES)};
    if (client_id != NULL) {
        memset(client_id, 'c', CLIENT_ID_BYTES);
        self->count_b++; /* blocks leaked */
    }
    if (ctx != NULL) {
        memset(ctx, 0, MQTT_CTX_BYTES);
    }
    self->count_a++;
    rtm_caps_free(topics[0]);
    rtm_caps_free(topics[1]);
    rtm_caps_free(ctx);
}

void task_reconnect(sim_task_t *self)
{
    sim_touch_stack(self->stack, self->stack_size, self->stack_percent);
    while (sim_running()) {
        mqtt_reconnect(self);
        if (self->count_a % 10 == 0) {
            sim_log('I', "mqtt", "reconnect #%u (broker closed the connection)",
                    (unsigned)self->count_a);
        }
        rtm_port_sleep_ms(RECONNECT_MS);
    }
}
