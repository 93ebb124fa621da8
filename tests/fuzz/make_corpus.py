#!/usr/bin/env python3
"""make_corpus.py [DIR] -- writes the fuzzer's seed corpus (default: corpus/
next to this script).

Each seed is a small program in the fuzzer's input format (see
fuzz_program.c): a configuration byte, then opcodes with their argument
bytes. The hand-written seeds aim at the classic collector bugs (self-copy
with overlap, cycles holding resources, weak references to garbage, scopes
and globals dropped in odd orders, deliberately bad calls); the rest are
random programs from a fixed seed, so the corpus is reproducible.
"""
import os
import random
import sys

# Opcodes, in the order of enum opcode in fuzz_program.c.
(NEW_STRUCT, NEW_ARRAY, NEW_RESOURCE, NEW_WEAK, WEAK_GET, SET_FIELD, GET_REF,
 COPY, COPY_SELF, FILL, SCOPE_OPEN, SCOPE_CLOSE, DROP, MOVE, GLOBAL_NEW,
 GLOBAL_FREE, COLLECT, GARBAGE, BAD_CALL) = range(19)
ARG_COUNT = {NEW_STRUCT: 2, NEW_ARRAY: 4, NEW_RESOURCE: 1, NEW_WEAK: 2,
             WEAK_GET: 2, SET_FIELD: 4, GET_REF: 3, COPY: 5, COPY_SELF: 5,
             FILL: 5, SCOPE_OPEN: 0, SCOPE_CLOSE: 0, DROP: 1, MOVE: 2,
             GLOBAL_NEW: 1, GLOBAL_FREE: 1, COLLECT: 0, GARBAGE: 3,
             BAD_CALL: 3}

# Struct types (fuzz_structs) and array kinds (fuzz_array_kinds).
EMPTY, LEAF, PAIR, NODE, BOX, WIDE = range(6)
REFS, I64S, F64S, BYTES = range(4)
NEW = 0x80  # a destination byte with this bit asks for a new root slot

# Configuration byte: stress (bits 0-2: 6 -> stress=1, 7 -> stress=7),
# heap-size (bits 3-4: 0, 16K, 256K, 4M), teardown (bit 5: drop every root and collect),
# verify off when bits 6 and 7 are both set (the API's inline fast paths).
STRESS1, STRESS7, HEAP_16K, TEARDOWN, VERIFY_OFF = 6, 7, 0x08, 0x20, 0xc0


def program(config, *ops):
    out = bytearray([config])
    for op in ops:
        code, args = op[0], list(op[1:])
        assert len(args) == ARG_COUNT[code], (code, args)
        out.append(code)
        out.extend(a & 0xff for a in args)
    return bytes(out)


def self_copy(config, forward):
    """Wasmtime's DRC bug: an array of references copied onto itself with
    overlap, while the array is also held through a global."""
    d, s = (2, 5) if forward else (5, 2)
    return program(
        config,
        (NEW_ARRAY, REFS, 16, 0, NEW),          # slot 0: refs[16]
        (NEW_STRUCT, PAIR, NEW),                # slot 1
        (NEW_RESOURCE, NEW),                    # slot 2
        (SET_FIELD, 0, 5, 1, 0),                # refs[5] = pair
        (SET_FIELD, 0, 6, 2, 0),                # refs[6] = resource
        (SET_FIELD, 0, 7, 0, 0),                # refs[7] = refs itself
        (GLOBAL_NEW, 0),                        # slot 3: global -> refs
        (DROP, 0), (DROP, 1), (DROP, 2),        # only the global holds it
        (COPY_SELF, 3, 3, d, s, 9),
        (COLLECT,),
        (COPY_SELF, 3, 3, s, d, 11),
        (COLLECT,),
        (COPY_SELF, 3, 3, 0, 0, 16),            # onto itself, same range
        (GLOBAL_FREE, 0),
        (COLLECT,))


def ring_with_resources(config, how):
    """Cyclic garbage holding resources, watched through a weak reference."""
    return program(
        config,
        (GARBAGE, 20, how, NEW),
        (COLLECT,),
        (WEAK_GET, 0, NEW),
        (GARBAGE, 40, how | 8, NEW),
        (NEW_STRUCT, WIDE, NEW),
        (COLLECT,),
        (DROP, 0), (DROP, 1),
        (COLLECT,))


def links_and_monitors(config):
    """AtomVM's leak: short-lived processes watched through weak refs."""
    ops = []
    for i in range(6):
        ops += [(SCOPE_OPEN,),
                (NEW_STRUCT, WIDE, NEW),
                (NEW_RESOURCE, NEW),
                (SET_FIELD, i * 3, 0, i * 3 + 1, 0),
                (GLOBAL_NEW, 255),                 # a global holding null
                (NEW_WEAK, i * 3, NEW),
                (SCOPE_CLOSE,)]
    ops += [(COLLECT,)]
    return program(config, *ops)


def deep_chain(config):
    """A kept list of ~2000 pairs: marking deep structures."""
    return program(
        config,
        (GARBAGE, 62, 16 | 4, NEW),          # 63 * 32 pairs, kept
        (COLLECT,),
        (GARBAGE, 40, 16 | 1 | 2, NEW),      # a long ring, dropped, watched
        (COLLECT,),
        (DROP, 0), (COLLECT,))


def large_arrays(config):
    """Arrays past the large-object thresholds, copied onto themselves."""
    return program(
        config,
        (NEW_ARRAY, REFS, 250, 100, NEW),    # 5000 references
        (NEW_STRUCT, PAIR, NEW),
        (FILL, 0, 7, 255, 1, 0),
        (COPY_SELF, 0, 0, 3, 900, 255),
        (NEW_ARRAY, BYTES, 245, 255, NEW),   # 11200 bytes
        (FILL, 2, 0, 255, 0xab, 0),
        (COLLECT,),
        (DROP, 1), (COLLECT,),
        (DROP, 0), (COLLECT,))


def old_points_to_young(config, store):
    """A generational write barrier: an array that survived a collection
    (old) gets a reference to a new object by gc_set_ref, gc_array_copy or
    gc_array_fill_ref; the new object's other roots go, then enough
    allocation for the collector's own (minor) collections; the old array
    must still reach it."""
    if store == "set":
        write = (SET_FIELD, 0, 0, 2, 0)            # A[0] = Y
    elif store == "copy":
        write = (COPY, 0, 1, 0, 0, 1)              # A[0..1) = B[0..1)
    else:
        write = (FILL, 0, 2, 3, 2, 0)              # A[2..5) = Y
    return program(
        config | HEAP_16K,
        (NEW_ARRAY, REFS, 8, 0, NEW),              # slot 0: A
        (COLLECT,),
        (NEW_ARRAY, REFS, 8, 0, NEW),              # slot 1: B
        (NEW_STRUCT, NODE, NEW),                   # slot 2: Y
        (SET_FIELD, 1, 0, 2, 0),                   # B[0] = Y
        write,
        (DROP, 1), (DROP, 2),
        (GARBAGE, 63, 16, 0),                      # 2048 pairs, 48 KB
        *[(NEW_ARRAY, I64S, 255, 255, 1)] * 40,    # 40 x 90 KB into slot 1
        (GET_REF, 0, 0, NEW), (GET_REF, 0, 2, NEW),
        (COLLECT,))


def nested_scopes(config):
    return program(
        config,
        (SCOPE_OPEN,), (NEW_STRUCT, NODE, NEW), (SET_FIELD, 0, 0, 7, 9),
        (SCOPE_OPEN,), (NEW_STRUCT, PAIR, NEW), (SET_FIELD, 1, 0, 0, 0),
        (GLOBAL_NEW, 1), (SCOPE_CLOSE,), (COLLECT,),
        (GET_REF, 1, 0, NEW), (SCOPE_CLOSE,), (COLLECT,),
        (GLOBAL_FREE, 0), (COLLECT,))


def arrays_of_every_kind(config):
    ops = []
    for kind in (REFS, I64S, F64S, BYTES):
        ops += [(NEW_ARRAY, kind, 30, 0, NEW),
                (FILL, kind, 3, 20, 5, 6),
                (COPY_SELF, kind, kind, 1, 4, 25),
                (COPY_SELF, kind, kind, 6, 2, 25)]
    ops += [(NEW_ARRAY, I64S, 230, 200, NEW),  # a large one: 840 elements
            (FILL, 4, 0, 255, 1, 2), (COPY_SELF, 4, 4, 10, 0, 250),
            (COPY, 0, 1, 0, 0, 30),            # kinds differ: copies in 0
            (COLLECT,)]
    return program(config, *ops)


def bad_calls(config):
    ops = [(NEW_STRUCT, NODE, NEW), (NEW_ARRAY, I64S, 5, 0, NEW),
           (NEW_ARRAY, REFS, 3, 0, NEW), (NEW_WEAK, 0, NEW),
           (NEW_RESOURCE, NEW)]
    for what in range(10):
        obj = {3: 1, 8: 1}.get(what, what)     # 3 and 8 need arrays
        other = {8: 2}.get(what, (what + 1) % 5)
        ops += [(BAD_CALL, what, obj, other)]
    # Exactly one past the end, on the struct and on both arrays: the
    # boundary an off-by-one in an accessor would miss.
    ops += [(BAD_CALL, 1, obj, 0) for obj in (0, 1, 2)]
    ops += [(COLLECT,)]
    return program(config, *ops)


def random_program(rng, length):
    ops = []
    weights = {NEW_STRUCT: 6, NEW_ARRAY: 4, NEW_RESOURCE: 2, NEW_WEAK: 2,
               WEAK_GET: 2, SET_FIELD: 8, GET_REF: 3, COPY: 2, COPY_SELF: 2,
               FILL: 2, SCOPE_OPEN: 1, SCOPE_CLOSE: 1, DROP: 2, MOVE: 2,
               GLOBAL_NEW: 1, GLOBAL_FREE: 1, COLLECT: 2, GARBAGE: 1,
               BAD_CALL: 1}
    codes = list(weights)
    for _ in range(length):
        code = rng.choices(codes, [weights[c] for c in codes])[0]
        ops.append((code,) + tuple(rng.randrange(256)
                                   for _ in range(ARG_COUNT[code])))
    ops.append((COLLECT,))
    return program(rng.randrange(256), *ops)


def seeds():
    for config, tag in ((0, "plain"), (STRESS1, "stress1"),
                        (TEARDOWN | STRESS7, "teardown-stress7"),
                        (VERIFY_OFF | TEARDOWN, "verify-off")):
        yield f"self-copy-forward-{tag}", self_copy(config, True)
        yield f"self-copy-backward-{tag}", self_copy(config, False)
        yield f"ring-resources-weak-{tag}", ring_with_resources(config, 3)
        yield f"ring-kept-{tag}", ring_with_resources(config, 7)
        yield f"links-monitors-{tag}", links_and_monitors(config)
        yield f"nested-scopes-{tag}", nested_scopes(config)
        yield f"deep-chain-{tag}", deep_chain(config)
        yield f"large-arrays-{tag}", large_arrays(config)
        yield f"arrays-{tag}", arrays_of_every_kind(config)
        yield f"bad-calls-{tag}", bad_calls(config)
    for store in ("set", "copy", "fill"):
        yield f"old-to-young-{store}", old_points_to_young(0, store)
    rng = random.Random(20261126)
    for i in range(16):
        yield f"random-{i:02}", random_program(rng, rng.randrange(10, 60))


def main():
    here = os.path.dirname(os.path.abspath(__file__))
    out = sys.argv[1] if len(sys.argv) > 1 else os.path.join(here, "corpus")
    os.makedirs(out, exist_ok=True)
    n = 0
    for name, data in seeds():
        with open(os.path.join(out, name), "wb") as f:
            f.write(data)
        n += 1
    print(f"make_corpus.py: {n} seeds in {out}")


if __name__ == "__main__":
    main()
