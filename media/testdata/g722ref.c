/* g722ref codes a stream with spandsp's G.722, the coder baresip and
 * FreeSWITCH use, for the cross-check in g722_test.go: "enc" reads 16 kHz
 * signed 16-bit little-endian samples on stdin and writes G.722 at
 * 64 kbit/s; "dec" does the reverse. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <stdint.h>
#include <spandsp.h>

int main(int argc, char **argv)
{
    int16_t amp[320];
    uint8_t code[160];
    size_t n;

    if (argc != 2)
        return 2;
    if (strcmp(argv[1], "enc") == 0) {
        g722_encode_state_t *s = g722_encode_init(NULL, 64000, 0);
        while ((n = fread(amp, sizeof(amp[0]), 320, stdin)) > 0) {
            int m = g722_encode(s, code, amp, (int) n);
            fwrite(code, 1, (size_t) m, stdout);
        }
        return 0;
    }
    if (strcmp(argv[1], "dec") == 0) {
        g722_decode_state_t *s = g722_decode_init(NULL, 64000, 0);
        while ((n = fread(code, 1, 160, stdin)) > 0) {
            int m = g722_decode(s, amp, code, (int) n);
            fwrite(amp, sizeof(amp[0]), (size_t) m, stdout);
        }
        return 0;
    }
    return 2;
}
