"""The gate reads event frames itself (signaling/realtime/server.py: read_event) instead of
handing them to python-socketio's decode a second time: it must read every frame it takes
exactly as that decode does, and leave every other frame to it. It also writes the acks
itself (ack_frame): byte for byte what python-socketio's encoder writes."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
from socketio import packet

from signaling.realtime.server import WirePacket, ack_frame, frame_header, read_event, reads_fast

READ_FAST = [
    '2["message.send",{"chat_id":1,"text":"hi","client_msg_id":"a"}]',
    '2/customer,["typing",{"chat_id":3,"typing":true}]',
    '2/agent,17["message.send",{"text":"中文 ✓ \\u00e9","chat_id":9}]',
    '2/customer,123456789012345["chat.sync",{}]',
    '2/customer,4["x"]',
    '2/customer,5["a.b_c",1,2,3]',
    '21-/customer,6["message.send",{}]',
    '2/customer,7["message.send",{"n":1e3,"deep":[[[]]]}]',
]
LEFT_TO_SOCKETIO = [
    '2/customer?x=1,8["message.send",{}]',  # a query in the namespace
    '2/customer,1234567890123456["chat.sync"]',  # an ack id longer than 15 digits
    "2/customer,9[1,2]",  # no event name in view
    '2/customer,9["bad name",{}]',
    '3/customer,9[{"ok":true}]',  # an ack
    '0/customer,{"token":"t"}',
    "1/customer,",
    "2",
]


@pytest.mark.parametrize("frame", READ_FAST)
def test_frames_read_at_the_gate_read_as_python_socketio_reads_them(frame: str) -> None:
    header = frame_header(frame)
    assert reads_fast(header)
    assert header is not None
    expected = WirePacket(encoded_packet=frame)
    assert read_event(header, frame) == (expected.namespace, expected.id, expected.data)


@pytest.mark.parametrize("frame", LEFT_TO_SOCKETIO)
def test_other_frames_are_left_to_python_socketio(frame: str) -> None:
    assert not reads_fast(frame_header(frame))


@pytest.mark.parametrize(
    ("frame", "why"),
    [
        ('2/customer,1["message.send",NaN]', "NaN"),
        ('2/customer,1["message.send",{"t":"\\ud800"}]', "surrogate"),
        ('2/customer,1["message.send",{]', "Expecting"),
        ('2/customer,1["message.send",{}] trailing', "Extra data"),
    ],
)
def test_frames_that_are_not_strict_json_are_refused_as_before(frame: str, why: str) -> None:
    header = frame_header(frame)
    assert reads_fast(header) and header is not None
    with pytest.raises(ValueError, match=why):
        read_event(header, frame)
    with pytest.raises(ValueError, match=why):
        WirePacket(encoded_packet=frame)


ANSWERS: list[Any] = [
    {"ok": True, "data": {"id": 7, "seq": 3, "duplicate": False}},
    {"ok": False, "error": {"code": "invalid_payload", "message": "chat_id: expected an integer"}},
    {"ok": True, "data": {"text": '中文 ✓ \u2028 "quoted" \\'}},
    {"ok": True, "data": {"at": datetime(2026, 12, 1, tzinfo=UTC)}},
    {"ok": True, "data": None},
    {"ok": True, "data": [1, 2.5, None, True]},
    None,
]


@pytest.mark.parametrize("namespace", ["/", "/customer", "/agent"])
@pytest.mark.parametrize("ack_id", [0, 7, 123456789012345])
@pytest.mark.parametrize("answer", ANSWERS)
def test_acks_are_written_as_python_socketio_writes_them(
    namespace: str, ack_id: int, answer: Any
) -> None:
    expected = WirePacket(
        packet.ACK,
        namespace=None if namespace == "/" else namespace,
        id=ack_id,
        data=[] if answer is None else [answer],
    ).encode()
    assert ack_frame(namespace, ack_id, answer) == expected
