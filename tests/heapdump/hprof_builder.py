"""Write small synthetic HPROF files for cases real JVMs do not produce on demand
(every root kind, Android records, 4-byte ids with segments, cut-off files)."""

from __future__ import annotations

import struct
from dataclasses import dataclass, field


@dataclass
class HprofBuilder:
    id_size: int = 8
    version: str = "1.0.2"
    records: list[bytes] = field(default_factory=list)
    heap: list[bytes] = field(default_factory=list)
    _next_string: int = 0x1000

    def id(self, v: int) -> bytes:
        return v.to_bytes(self.id_size, "big")

    def record(self, tag: int, body: bytes) -> None:
        self.records.append(struct.pack(">BII", tag, 0, len(body)) + body)

    def string(self, text: str) -> int:
        self._next_string += 1
        self.record(0x01, self.id(self._next_string) + text.encode())
        return self._next_string

    def load_class(self, serial: int, cid: int, name: str) -> None:
        self.record(
            0x02,
            struct.pack(">I", serial)
            + self.id(cid)
            + struct.pack(">I", 0)
            + self.id(self.string(name)),
        )

    def class_dump(
        self,
        cid: int,
        super_id: int,
        fields: list[tuple[str, int]],
        statics: list[tuple[str, int, int]] = (),
    ) -> None:  # type: ignore[assignment]
        body = self.id(cid) + struct.pack(">I", 0) + self.id(super_id) + self.id(0) * 5
        body += struct.pack(">IH", 0, 0) + struct.pack(">H", len(statics))
        for name, t, value in statics:
            size = self.id_size if t == 2 else {4: 1, 5: 2, 6: 4, 7: 8, 8: 1, 9: 2, 10: 4, 11: 8}[t]
            body += self.id(self.string(name)) + bytes([t]) + value.to_bytes(size, "big")
        body += struct.pack(">H", len(fields))
        for name, t in fields:
            body += self.id(self.string(name)) + bytes([t])
        self.heap.append(b"\x20" + body)

    def instance(self, oid: int, cid: int, payload: bytes) -> None:
        self.heap.append(
            b"\x21"
            + self.id(oid)
            + struct.pack(">I", 0)
            + self.id(cid)
            + struct.pack(">I", len(payload))
            + payload
        )

    def obj_array(self, oid: int, cid: int, elems: list[int]) -> None:
        self.heap.append(
            b"\x22"
            + self.id(oid)
            + struct.pack(">II", 0, len(elems))
            + self.id(cid)
            + b"".join(self.id(e) for e in elems)
        )

    def prim_array(self, oid: int, elem_type: int, data: bytes, length: int) -> None:
        self.heap.append(b"\x23" + self.id(oid) + struct.pack(">IIB", 0, length, elem_type) + data)

    def raw_heap(self, data: bytes) -> None:
        self.heap.append(data)

    def flush_segment(self, tag: int = 0x1C) -> None:
        self.record(tag, b"".join(self.heap))
        self.heap = []

    def build(self, end: bool = True) -> bytes:
        if self.heap:
            self.flush_segment()
        if end:
            self.record(0x2C, b"")
        head = f"JAVA PROFILE {self.version}".encode() + b"\x00"
        return head + struct.pack(">IQ", self.id_size, 0) + b"".join(self.records)


def small_heap(id_size: int = 8) -> HprofBuilder:
    """java.lang.Object, java.lang.Class, a Holder class with a static and an instance
    field, and a chain root -> holder -> array -> two leaves."""
    b = HprofBuilder(id_size=id_size)
    for serial, (cid, name) in enumerate(
        [
            (0x10, "java/lang/Object"),
            (0x20, "java/lang/Class"),
            (0x30, "Holder"),
            (0x40, "[Ljava/lang/Object;"),
            (0x50, "[B"),
        ],
        start=1,
    ):
        b.load_class(serial, cid, name)
    b.class_dump(0x10, 0, [])
    b.class_dump(0x20, 0x10, [])
    b.class_dump(0x30, 0x10, [("id", 10), ("ref", 2)], [("INSTANCE", 2, 0x100)])
    b.class_dump(0x40, 0x10, [])
    b.class_dump(0x50, 0x10, [])
    b.raw_heap(b"\x05" + b.id(0x30))  # sticky class root
    b.flush_segment()
    b.instance(0x100, 0x30, struct.pack(">i", 1) + b.id(0x200))
    b.obj_array(0x200, 0x40, [0x300, 0x308, 0])
    b.prim_array(0x300, 8, b"abcd", 4)
    b.prim_array(0x308, 8, b"abcd", 4)
    return b
