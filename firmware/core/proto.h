/* edgert serial protocol v1 (docs/serial-protocol.md): constants shared by the firmware. The
 * host side (devices/protocol.py) mirrors them. */
#ifndef FW_PROTO_H
#define FW_PROTO_H

#define PROTO_VERSION 1
#define FW_VERSION "edgert-fw 0.1.0"
#define FRAME_HEADER 6u            /* version u8, type u8, seq u16, length u16 */
#define FRAME_CRC 4u
#ifndef MAX_PAYLOAD
#define MAX_PAYLOAD 4096u          /* payload bytes per frame, both directions (<= 4096; in HELLO) */
#endif
#define MAX_FRAME (FRAME_HEADER + MAX_PAYLOAD + FRAME_CRC)

/* request types; the reply carries type | REPLY */
enum {
    MSG_HELLO = 0x01,        /* -> info (fixed fields, firmware/port/counter names) */
    MSG_MODEL_BEGIN = 0x02,  /* u32 size, u64 digest (FNV-1a 64 of the model bytes) */
    MSG_MODEL_CHUNK = 0x03,  /* u32 offset, bytes */
    MSG_MODEL_COMMIT = 0x04, /* -> u32 n_nodes, u32 n_inputs, u32 n_outputs, u32 arena_size */
    MSG_SET_INPUT = 0x05,    /* u16 input, u16 0, u32 total, u32 offset, bytes */
    MSG_INVOKE = 0x06,       /* -> u32 nodes, u64 start, u64 end (board clock) */
    MSG_GET_OUTPUT = 0x07,   /* u16 output, u16 max, u32 offset -> u32 total, bytes */
    MSG_GET_COUNTERS = 0x08, /* u32 first, u32 count -> u32 n, per node: u64 cycles, u32 activity[4] */
    MSG_RESET = 0x09,        /* zero the arena, reload STATE init */
    MSG_INVOKE_NODE = 0x0A,  /* u32 node -> u64 cycles, u32 activity[4] */
    MSG_LINK_TEST = 0x0B,    /* u32 n: after the reply, n raw bytes come -> frame with u32 n, u32 fnv32 */
    MSG_OPS = 0x0C,          /* u32 first, u16 max bytes -> u32 total ops, u32 count, NUL-separated names */
    REPLY = 0x80,
    MSG_NAK = 0xFF,          /* board -> host, seq 0: a frame arrived damaged; resend now */
};

/* first payload byte of every reply */
enum {
    ST_OK = 0,
    ST_UNKNOWN_TYPE = 1,
    ST_BAD_REQUEST = 2,      /* payload too short / fields out of range */
    ST_MODEL_TOO_LARGE = 3,  /* u32 size, u32 capacity */
    ST_NO_UPLOAD = 4,        /* chunk/commit without a begin */
    ST_OUT_OF_ORDER = 5,     /* u32 expected offset */
    ST_INCOMPLETE = 6,       /* commit before all bytes arrived: u32 received, u32 size */
    ST_DIGEST_MISMATCH = 7,  /* the upload is discarded */
    ST_MODEL_REJECTED = 8,   /* u8 ert_status, u8 0, u16 0, u32 node, detail string */
    ST_NO_MODEL = 9,
    ST_BAD_INDEX = 10,       /* input/output/node index out of range */
    ST_WRONG_INPUT_SIZE = 11,/* u32 expected, u32 given */
    ST_INVOKE_FAILED = 12,   /* like MODEL_REJECTED */
    ST_ARENA_TOO_SMALL = 13, /* u32 needed, u32 capacity */
};

#endif
