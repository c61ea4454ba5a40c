"""Byte-level packet code: RTP/RTCP headers, rewriting, history, repair and keyframe pacing,
codec matching, the raw recording writer. No aiortc here: plain bytes in, bytes out."""
