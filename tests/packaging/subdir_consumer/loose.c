/*
 * Code that rtmem's own warning flags would reject (no prototype before a
 * global function, implicit narrowing and sign conversions), compiled as
 * part of a project that uses rtmem: rtmem's flags must not reach it.
 */
unsigned char rtm_consumer_loose(int wide);

int rtm_consumer_unprototyped(int value)
{
    unsigned int u = value;
    return u;
}

unsigned char rtm_consumer_loose(int wide)
{
    unsigned char narrow = wide;
    return narrow;
}
