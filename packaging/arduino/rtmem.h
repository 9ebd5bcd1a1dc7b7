/*
 * Arduino entry header of the rtmem library bundle (packaging/arduino/).
 * The Arduino IDE finds a library by a header at the top of its src/
 * folder; this one brings in the whole public API.
 */
#ifndef RTMEM_ARDUINO_H
#define RTMEM_ARDUINO_H

#include "rtmem/rtmem.h"

#endif
