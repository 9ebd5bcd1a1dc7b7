/*
 * An Arduino sketch's use of rtmem (docs/integration.md, "Arduino"), as C++
 * like every sketch: packaging.py compiles it against the Arduino bundle.
 * setup() and loop() are the Arduino core's entry points.
 */
#include <rtmem.h>

RTM_HEAP_STORAGE(app_ram, 8 * 1024);
static rtm_heap_t *app_heap;

void setup();
void loop();

void setup()
{
    rtm_heap_config_t cfg = {};
    cfg.strategy = &rtm_strategy_tlsf;
    cfg.name = "app";
    app_heap = rtm_heap_init(app_ram, sizeof app_ram, &cfg);
}

void loop()
{
    void *p = rtm_malloc(app_heap, 32);
    rtm_free(app_heap, p);
}
