"""The LAN peer's RTSP-like control answers: what the media pair's negotiation stands on."""

from __future__ import annotations

from rigs.net.lan_peer import rtsp_reply


def test_setup_is_answered_with_the_media_port_and_cseq() -> None:
    setup = b"SETUP rtsp://tv/stream RTSP/1.0\r\nCSeq: 7\r\nTransport: RTP/AVP/UDP\r\n\r\n"
    reply = rtsp_reply(setup, 47102)
    assert reply is not None and reply.startswith(b"RTSP/1.0 200 OK\r\nCSeq: 7\r\n")
    assert b"server_port=47102" in reply


def test_an_incomplete_request_waits_and_teardown_names_no_port() -> None:
    assert rtsp_reply(b"SETUP rtsp://tv/stream RTSP/1.0\r\nCSeq: 1\r\n", 47102) is None
    teardown = rtsp_reply(b"TEARDOWN rtsp://tv/stream RTSP/1.0\r\nCSeq: 2\r\n\r\n", 47102)
    assert teardown == b"RTSP/1.0 200 OK\r\nCSeq: 2\r\n\r\n"
