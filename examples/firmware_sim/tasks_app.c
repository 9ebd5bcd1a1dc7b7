/*
 * The application side: two sensor tasks send messages from a fixed-block
 * pool to one consumer (which stalls now and then, as a flash write
 * does), an HTTP server parses JSON with many small short-lived
 * allocations, and a camera keeps its frame buffers in PSRAM.
 */
#define _POSIX_C_SOURCE 200809L

#include <pthread.h>
#include <string.h>
#include <time.h>

#include "sim.h"

/* ------------------------------------------------------------------ */
/* Sensor messages: a pool and a queue                                 */

#define MSG_BLOCKS 12u
#define MSG_WAIT_MS 10u          /* how long a producer waits for a block */
#define CONSUMER_STALL_EVERY 1500u /* ms between flash writes */
#define CONSUMER_STALL_MS 120u

typedef struct sensor_msg {
    uint32_t seq;
    uint32_t sent_ms;
    uint8_t source; /* 'i' imu, 'e' environment */
    uint8_t count;
    int16_t values[14];
} sensor_msg_t;

RTM_POOL_DEFINE(sensor_msg_pool, sizeof(sensor_msg_t), MSG_BLOCKS);

/* A bounded queue of message pointers; it can never be fuller than the
 * pool has blocks. */
static struct {
    pthread_mutex_t lock;
    pthread_cond_t ready;
    sensor_msg_t *items[MSG_BLOCKS];
    size_t head;
    size_t count;
} s_queue = {.lock = PTHREAD_MUTEX_INITIALIZER, .ready = PTHREAD_COND_INITIALIZER};

bool sim_boot_sensors(void)
{
    rtm_pool_config_t cfg = {.name = "sensor_msgs"};
    g_app.sensor_pool = rtm_pool_init_defined(&sensor_msg_pool, &cfg);
    if (g_app.sensor_pool == NULL) {
        sim_log('E', "sensor", "message pool: init failed");
        return false;
    }
    sim_log('I', "sensor", "message pool: %u blocks of %zu bytes, static storage",
            MSG_BLOCKS, rtm_pool_block_size(g_app.sensor_pool));
    return true;
}

void sim_shutdown_sensors(void)
{
    pthread_mutex_lock(&s_queue.lock);
    while (s_queue.count > 0) {
        rtm_pool_free(g_app.sensor_pool, s_queue.items[s_queue.head]);
        s_queue.head = (s_queue.head + 1) % MSG_BLOCKS;
        s_queue.count--;
    }
    pthread_mutex_unlock(&s_queue.lock);
}

static void queue_put(sensor_msg_t *m)
{
    pthread_mutex_lock(&s_queue.lock);
    s_queue.items[(s_queue.head + s_queue.count) % MSG_BLOCKS] = m;
    s_queue.count++;
    pthread_cond_signal(&s_queue.ready);
    pthread_mutex_unlock(&s_queue.lock);
}

static sensor_msg_t *queue_get(uint32_t timeout_ms)
{
    struct timespec deadline;
    clock_gettime(CLOCK_REALTIME, &deadline);
    deadline.tv_nsec += (long)timeout_ms * 1000000L;
    deadline.tv_sec += deadline.tv_nsec / 1000000000L;
    deadline.tv_nsec %= 1000000000L;
    pthread_mutex_lock(&s_queue.lock);
    while (s_queue.count == 0) {
        if (pthread_cond_timedwait(&s_queue.ready, &s_queue.lock, &deadline) != 0) {
            break;
        }
    }
    sensor_msg_t *m = NULL;
    if (s_queue.count > 0) {
        m = s_queue.items[s_queue.head];
        s_queue.head = (s_queue.head + 1) % MSG_BLOCKS;
        s_queue.count--;
    }
    pthread_mutex_unlock(&s_queue.lock);
    return m;
}

/* count_a: sent, count_b: dropped (no block within MSG_WAIT_MS). */
static void send_sample(sim_task_t *self, uint8_t source)
{
    sensor_msg_t *m = rtm_pool_alloc_wait(g_app.sensor_pool, MSG_WAIT_MS);
    if (m == NULL) {
        self->count_b++;
        if (self->count_b == 1 || self->count_b % 50 == 0) {
            sim_log('W', self->name, "no message block within %u ms: %u samples dropped so far",
                    MSG_WAIT_MS, (unsigned)self->count_b);
        }
        return;
    }
    m->seq = self->count_a++;
    m->sent_ms = sim_ms();
    m->source = source;
    m->count = 14;
    for (size_t i = 0; i < 14; i++) {
        m->values[i] = (int16_t)sim_rand(&self->rng, 2000);
    }
    queue_put(m);
}

void task_sensor_imu(sim_task_t *self)
{
    sim_touch_stack(self->stack, self->stack_size, self->stack_percent);
    while (sim_running()) {
        for (int i = 0; i < 3; i++) {
            send_sample(self, 'i');
        }
        rtm_port_sleep_ms(5);
    }
}

void task_sensor_env(sim_task_t *self)
{
    sim_touch_stack(self->stack, self->stack_size, self->stack_percent);
    while (sim_running()) {
        send_sample(self, 'e');
        rtm_port_sleep_ms(25);
    }
}

/* count_a: received, count_b: worst latency in ms, count_c: stalls. */
void task_consumer(sim_task_t *self)
{
    sim_touch_stack(self->stack, self->stack_size, self->stack_percent);
    uint32_t last_stall = sim_ms();
    while (sim_running()) {
        sensor_msg_t *m = queue_get(50);
        if (m == NULL) {
            continue;
        }
        uint32_t latency = sim_ms() - m->sent_ms;
        if (latency > self->count_b) {
            self->count_b = latency;
        }
        self->count_a++;
        rtm_pool_free(g_app.sensor_pool, m);
        rtm_port_sleep_ms(1); /* filtering and aggregation */
        if (sim_ms() - last_stall >= CONSUMER_STALL_EVERY) {
            self->count_c++;
            sim_log('I', "consumer", "writing aggregates to flash (%u ms, queue not served)",
                    CONSUMER_STALL_MS);
            rtm_port_sleep_ms(CONSUMER_STALL_MS);
            last_stall = sim_ms();
        }
    }
}

void sim_report_pools(const sim_task_t *imu, const sim_task_t *env, const sim_task_t *consumer)
{
    rtm_pool_info_t info;
    if (!rtm_pool_info(g_app.sensor_pool, &info)) {
        sim_log('E', "pool", "no pool");
        return;
    }
    rtm_check_report_t report;
    bool ok = rtm_pool_check(g_app.sensor_pool, &report);
    sim_report("pool", "%s: %zu blocks of %zu bytes, %s", rtm_pool_name(g_app.sensor_pool),
               info.capacity, info.block_size, "static (RTM_POOL_DEFINE)");
    sim_report("pool", "producers: imu sent %u dropped %u, env sent %u dropped %u; consumer "
                       "received %u, %u flash stalls of %u ms, worst latency %u ms",
               (unsigned)imu->count_a, (unsigned)imu->count_b, (unsigned)env->count_a,
               (unsigned)env->count_b, (unsigned)consumer->count_a, (unsigned)consumer->count_c,
               CONSUMER_STALL_MS, (unsigned)consumer->count_b);
    sim_report("pool", "allocations %zu, peak %zu of %zu blocks in use, %zu had to wait, "
                       "%zu timed out after %u ms (failed), in use now %zu",
               info.alloc_count, info.peak_used, info.capacity, info.wait_count, info.failed_count,
               MSG_WAIT_MS, info.used);
    sim_report("pool", "every allocation and free O(1); waiting producers are woken in FIFO "
                       "order by the consumer's free; pool check %s",
               ok ? "ok" : report.problem);
    if (info.peak_used >= info.capacity) {
        /* The producers send 3 samples per 5 ms and 1 per 25 ms. */
        unsigned per_second = 3u * 1000u / 5u + 1000u / 25u;
        sim_report("pool", "finding: the pool runs dry in every flash stall: %u ms at %u "
                           "samples/s needs about %u blocks (or producers that drop, as here)",
                   CONSUMER_STALL_MS, per_second, CONSUMER_STALL_MS * per_second / 1000u);
    }
}

/* ------------------------------------------------------------------ */
/* HTTP server                                                         */

#define HTTPD_HEAP_BYTES (32u * 1024u)
#define JSON_NODE_BYTES 56u /* the dominant size: one parsed JSON value */
#define JSON_NODES 14u
#define HEADERS 6u

static const uint16_t k_header_sizes[] = {32, 48};
static const uint16_t k_response_sizes[] = {256, 1024};

/* The server gets a private TLSF heap carved from the default region, as
 * ESP-IDF components often do, so its churn cannot fragment the rest. */
rtm_heap_t *sim_boot_http(rtm_heap_t *parent)
{
    rtm_heap_config_t cfg = {.strategy = &rtm_strategy_tlsf, .name = "httpd"};
    rtm_heap_t *heap = rtm_heap_create(parent, HTTPD_HEAP_BYTES, &cfg);
    if (heap == NULL) {
        sim_log('E', "http", "no %u bytes for the server's heap in %s", HTTPD_HEAP_BYTES,
                rtm_heap_name(parent));
    } else {
        sim_log('I', "http", "server heap: %u bytes (TLSF) from %s (rtm_heap_create)",
                HTTPD_HEAP_BYTES, rtm_heap_name(parent));
    }
    return heap;
}

/* One request: the request buffer, the parsed JSON tree, header entries,
 * the response. Everything is freed before the next request. count_a:
 * requests, count_b: allocations, count_c: failures. */
static void http_request(sim_task_t *self)
{
    rtm_heap_t *heap = g_app.http_heap;
    void *blocks[2 + HEADERS + JSON_NODES];
    size_t n = 0;
    blocks[n++] = rtm_malloc(heap, 512); /* request line and body */
    for (size_t i = 0; i < JSON_NODES; i++) {
        blocks[n++] = rtm_malloc(heap, JSON_NODE_BYTES);
    }
    for (size_t i = 0; i < HEADERS; i++) {
        blocks[n++] = rtm_malloc(heap, k_header_sizes[sim_rand(&self->rng, 2)]);
    }
    blocks[n++] = rtm_malloc(heap, k_response_sizes[sim_rand(&self->rng, 2)]);
    for (size_t i = 0; i < n; i++) {
        if (blocks[i] == NULL) {
            self->count_c++;
        } else {
            memset(blocks[i], 0, 16);
        }
    }
    if (self->count_a % 100 == 0) {
        /* The recursive-descent parser on a deeply nested document. */
        sim_touch_stack(self->stack, self->stack_size, self->stack_percent);
    }
    for (size_t i = n; i > 0; i--) {
        rtm_free(heap, blocks[i - 1]);
    }
    self->count_a++;
    self->count_b += (uint32_t)n;
}

void task_http(sim_task_t *self)
{
    if (g_app.http_heap == NULL) {
        return;
    }
    while (sim_running()) {
        http_request(self);
        if (self->count_a % 100 == 0) {
            sim_log('I', "http", "GET /api/status: %u requests served, %u allocations",
                    (unsigned)self->count_a, (unsigned)self->count_b);
        }
        rtm_port_sleep_ms(20);
    }
}

/* ------------------------------------------------------------------ */
/* Camera                                                              */

#define FRAME_BYTES (320u * 240u * 2u) /* QVGA RGB565 */
#define FRAMES 2u
#define WORK_BYTES (72u * 1024u)       /* JPEG encoder scratch: 8-bit access, no DMA */
#define WORK_BUFFERS 2u
#define DESC_BYTES 32u
#define DESCS 8u

/* count_a: frames captured, count_b: frames dropped (no buffer). */
void task_camera(sim_task_t *self)
{
    void *frames[FRAMES] = {0};
    void *work[WORK_BUFFERS] = {0};
    for (size_t i = 0; i < FRAMES; i++) {
        frames[i] = rtm_caps_malloc_prefer(FRAME_BYTES, 2, RTM_CAP_SPIRAM, RTM_CAP_DEFAULT);
    }
    for (size_t i = 0; i < WORK_BUFFERS; i++) {
        work[i] = rtm_caps_malloc(WORK_BYTES, RTM_CAP_8BIT);
    }
    if (frames[0] == NULL) {
        sim_log('W', "camera", "no room for a %u-byte frame buffer (no PSRAM here?): camera idle",
                FRAME_BYTES);
    } else {
        sim_log('I', "camera",
                "%u frame buffers of %u bytes in %s (MALLOC_CAP_SPIRAM), %u encoder buffers of "
                "%u bytes in %s (8-bit, no DMA asked)",
                FRAMES, FRAME_BYTES, rtm_caps_region_name(rtm_caps_region_of(frames[0])),
                WORK_BUFFERS, WORK_BYTES, rtm_caps_region_name(rtm_caps_region_of(work[0])));
    }
    while (sim_running()) {
        void *frame = frames[self->count_a % FRAMES];
        if (frame == NULL) {
            self->count_b++;
        } else {
            /* A capture: DMA descriptors for the transfer, then the frame. */
            void *desc[DESCS];
            for (size_t i = 0; i < DESCS; i++) {
                desc[i] = rtm_caps_malloc(DESC_BYTES, RTM_CAP_DMA);
            }
            memset(frame, (int)self->count_a, 4096);
            if (work[0] != NULL) {
                memcpy(work[0], frame, 4096);
            }
            for (size_t i = 0; i < DESCS; i++) {
                rtm_caps_free(desc[i]);
            }
        }
        self->count_a++;
        rtm_port_sleep_ms(100);
    }
    for (size_t i = 0; i < WORK_BUFFERS; i++) {
        rtm_caps_free(work[i]);
    }
    for (size_t i = 0; i < FRAMES; i++) {
        rtm_caps_free(frames[i]);
    }
}
