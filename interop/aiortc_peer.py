#!/usr/bin/python3
"""A WebRTC peer built on aiortc (not pion), for bidwatch's interop tests.

Two roles, chosen by the first argument:

  serve --codec vp8|h264 --clip FILE [--port 0] [--fps 25]
        [--pause-at S --pause-for S]
      A WHEP server: POST /whep with an SDP offer answers 201 with the SDP
      answer (ICE gathering complete) and a Location to DELETE. Each session
      gets the clip, decoded once with PyAV and looped at --fps, encoded by
      aiortc's own encoder in the requested codec (libvpx for VP8, libx264 for
      H.264), and a silent Opus audio track. --pause-at/--pause-for stop the
      video frames for a while (a sender freeze).

  watch --url WHEP_URL --seconds N [--codec vp8|h264]
      A WHEP client: offers recvonly video and audio, and receives and
      decodes the video for N seconds from the answer (libvpx or
      libavcodec, through aiortc's receiver), then DELETEs the session.

Both print one JSON line {"event": "ready", ...} on stdout when ready (serve:
with its port) and one {"event": "report", ...} at the end, or when sent
SIGTERM or SIGINT. Logs go to stderr. Only 127.0.0.1 is used: host candidates
on loopback, no STUN server.

It needs Debian's python3-aiortc (1.4), run with /usr/bin/python3; only the
standard library besides that.
"""

import argparse
import asyncio
import fractions
import json
import logging
import signal
import sys
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
import uuid

import aioice.ice
import av
import aiortc.codecs
import aiortc.rtcrtpreceiver
from aiortc import (
    RTCConfiguration,
    RTCPeerConnection,
    RTCRtpHeaderExtensionParameters,
    RTCRtpSender,
    RTCSessionDescription,
)
from aiortc.mediastreams import AudioStreamTrack, MediaStreamError, MediaStreamTrack

log = logging.getLogger("aiortc_peer")

VIDEO_CLOCK = 90000
MAX_CLIP_FRAMES = 1000


def patch_aiortc():
    loopback_only()
    distinct_extension_ids()


def loopback_only():
    """Make aioice gather host candidates on 127.0.0.1 only (its default
    skips loopback and uses every other interface)."""
    aioice.ice.get_host_addresses = lambda use_ipv4, use_ipv6: ["127.0.0.1"]


def distinct_extension_ids():
    """aiortc 1.4 offers ssrc-audio-level and abs-send-time under the same
    id (2) and keeps one id map per bundled transport, so with audio and
    video bundled it parses the audio level as abs-send-time and its DTLS
    transport dies. Give the audio level an id of its own (an answer uses
    the offer's ids, so this matters where aiortc offers)."""
    audio = aiortc.codecs.HEADER_EXTENSIONS["audio"]
    for i, ext in enumerate(audio):
        if ext.uri == "urn:ietf:params:rtp-hdrext:ssrc-audio-level":
            audio[i] = RTCRtpHeaderExtensionParameters(id=3, uri=ext.uri)


def new_pc():
    # iceServers=[]: aiortc's default is a public STUN server.
    return RTCPeerConnection(RTCConfiguration(iceServers=[]))


def emit(obj):
    sys.stdout.write(json.dumps(obj, separators=(",", ":")) + "\n")
    sys.stdout.flush()


def codec_preferences(codec):
    """The video capabilities for one codec (vp8 or h264), with its RTX."""
    mime = "video/" + codec
    caps = RTCRtpSender.getCapabilities("video").codecs
    chosen = [c for c in caps if c.mimeType.lower() == mime]
    chosen += [c for c in caps if c.mimeType.lower() == "video/rtx"]
    return chosen


def is_keyframe(codec_name, data):
    """Whether an encoded frame (as aiortc hands it to its decoder: VP8
    payload, or H.264 Annex B) is a keyframe / holds an IDR slice."""
    if not data:
        return False
    if codec_name == "VP8":
        return data[0] & 0x01 == 0
    if codec_name == "H264":
        i = 0
        n = len(data)
        while True:
            i = data.find(b"\x00\x00\x01", i)
            if i < 0 or i + 3 >= n:
                return False
            if data[i + 3] & 0x1F == 5:
                return True
            i += 3
    return False


def vp8_shown(data):
    """A VP8 frame's show_frame bit (an invisible frame decodes to nothing)."""
    return bool(data) and data[0] & 0x10 != 0


# ---------------------------------------------------------------- signals


def stop_on_signals(loop, stop):
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)


# ------------------------------------------------------------------- HTTP


class Request:
    def __init__(self, method, path, headers, body):
        self.method = method
        self.path = path
        self.headers = headers
        self.body = body


async def read_request(reader):
    line = await reader.readline()
    if not line:
        return None
    parts = line.decode("latin-1").strip().split(" ")
    if len(parts) != 3:
        raise ValueError("bad request line %r" % line)
    headers = {}
    while True:
        h = await reader.readline()
        if h in (b"\r\n", b"\n", b""):
            break
        k, _, v = h.decode("latin-1").partition(":")
        headers[k.strip().lower()] = v.strip()
    n = int(headers.get("content-length", "0") or 0)
    if n > 1 << 20:
        raise ValueError("body too large")
    body = await reader.readexactly(n) if n else b""
    path = urllib.parse.urlsplit(parts[1]).path
    return Request(parts[0].upper(), path, headers, body)


def response(code, reason, body=b"", headers=None):
    head = ["HTTP/1.1 %d %s" % (code, reason), "Content-Length: %d" % len(body)]
    for k, v in (headers or {}).items():
        head.append("%s: %s" % (k, v))
    return ("\r\n".join(head) + "\r\n\r\n").encode("latin-1") + body


# ------------------------------------------------------------------ serve


def load_clip(path, limit=MAX_CLIP_FRAMES):
    """Decodes a clip (IVF, H.264 Annex B, or anything PyAV opens) into
    yuv420p pictures, kept as arrays: each session's track makes fresh
    frames of them (aiortc's encoder threads must not share a frame)."""
    fmt = None
    if path.endswith((".h264", ".264")):
        fmt = "h264"
    frames = []
    with av.open(path, format=fmt) as container:
        for frame in container.decode(video=0):
            frames.append(frame.to_ndarray(format="yuv420p"))
            if len(frames) >= limit:
                break
    if not frames:
        raise ValueError("clip %s: no video frames" % path)
    return frames


class ClipTrack(MediaStreamTrack):
    """Loops decoded frames at fps, timed by the wall clock from the first
    recv; frames whose time falls in the pause are not produced (the RTP
    timestamps jump over it, as a real sender's would)."""

    kind = "video"

    def __init__(self, frames, fps, pause_at=None, pause_for=0.0, stats=None):
        super().__init__()
        self.frames = frames
        self.fps = fps
        self.pause_at = pause_at
        self.pause_for = pause_for
        self.stats = stats if stats is not None else {}
        self.start = None
        self.n = 0

    def paused(self, t):
        return (
            self.pause_at is not None
            and self.pause_at <= t < self.pause_at + self.pause_for
        )

    async def recv(self):
        if self.readyState != "live":
            raise MediaStreamError
        if self.start is None:
            self.start = time.monotonic()
        while True:
            due = self.start + self.n / self.fps
            wait = due - time.monotonic()
            if wait > 0:
                await asyncio.sleep(wait)
            if not self.paused(self.n / self.fps):
                break
            self.stats["paused_frames"] = self.stats.get("paused_frames", 0) + 1
            self.n += 1
        frame = av.VideoFrame.from_ndarray(self.frames[self.n % len(self.frames)], format="yuv420p")
        frame.pts = self.n * VIDEO_CLOCK // self.fps
        frame.time_base = fractions.Fraction(1, VIDEO_CLOCK)
        self.n += 1
        self.stats["frames_sent"] = self.stats.get("frames_sent", 0) + 1
        return frame


class Server:
    def __init__(self, args, frames):
        self.args = args
        self.frames = frames
        self.sessions = {}
        self.report = {
            "role": "serve",
            "codec": args.codec,
            "clip": args.clip,
            "clip_frames": len(frames),
            "width": frames[0].shape[1],
            "height": frames[0].shape[0] * 2 // 3,
            "fps": args.fps,
            "sessions": 0,
            "session_reports": [],
            "http_errors": 0,
        }

    async def handle(self, reader, writer):
        try:
            while True:
                try:
                    req = await read_request(reader)
                except (ValueError, asyncio.IncompleteReadError) as e:
                    self.report["http_errors"] += 1
                    writer.write(response(400, "Bad Request", str(e).encode()))
                    break
                if req is None:
                    break
                writer.write(await self.route(req))
                await writer.drain()
                if req.headers.get("connection", "").lower() == "close":
                    break
        except ConnectionError:
            pass
        finally:
            writer.close()

    async def route(self, req):
        if req.path == "/whep" and req.method == "POST":
            return await self.offer(req)
        if req.path.startswith("/whep/"):
            sid = req.path[len("/whep/"):]
            if req.method == "DELETE":
                sess = self.sessions.pop(sid, None)
                if sess is None:
                    return response(404, "Not Found")
                await self.end(sid, sess, "deleted")
                return response(200, "OK")
            return response(405, "Method Not Allowed", headers={"Allow": "DELETE"})
        if req.path == "/whep":
            return response(405, "Method Not Allowed", headers={"Allow": "POST"})
        return response(404, "Not Found")

    async def offer(self, req):
        ctype = req.headers.get("content-type", "")
        if not ctype.startswith("application/sdp"):
            return response(415, "Unsupported Media Type")
        pc = new_pc()
        stats = {"frames_sent": 0, "paused_frames": 0}
        try:
            vt = pc.addTransceiver("video", direction="sendonly")
            vt.setCodecPreferences(codec_preferences(self.args.codec))
            at = pc.addTransceiver("audio", direction="sendonly")
            await pc.setRemoteDescription(
                RTCSessionDescription(sdp=req.body.decode(), type="offer")
            )
            video = ClipTrack(
                self.frames, self.args.fps, self.args.pause_at, self.args.pause_for, stats
            )
            vt.sender.replaceTrack(video)
            at.sender.replaceTrack(AudioStreamTrack())
            await pc.setLocalDescription(await pc.createAnswer())
        except Exception as e:  # a bad offer: answer 400, keep serving
            log.warning("offer rejected: %s", e)
            await pc.close()
            return response(400, "Bad Request", str(e).encode())
        sid = uuid.uuid4().hex
        # The negotiated codecs, first the one sent (aiortc keeps them on
        # the transceiver; there is no public getter in 1.4).
        codec = vt._codecs[0].mimeType if vt._codecs else None
        sess = {"pc": pc, "stats": stats, "started": time.monotonic(), "codec": codec}
        self.sessions[sid] = sess
        self.report["sessions"] += 1
        log.info("session %s: codec %s", sid, sess["codec"])

        @pc.on("connectionstatechange")
        async def on_state():
            log.info("session %s: %s", sid, pc.connectionState)
            if pc.connectionState in ("failed", "closed") and sid in self.sessions:
                await self.end(sid, self.sessions.pop(sid), pc.connectionState)

        return response(
            201,
            "Created",
            pc.localDescription.sdp.encode(),
            {"Content-Type": "application/sdp", "Location": "/whep/" + sid},
        )

    async def end(self, sid, sess, why):
        await sess["pc"].close()
        r = dict(sess["stats"])
        r.update(
            {
                "id": sid,
                "codec": sess["codec"],
                "ended": why,
                "seconds": round(time.monotonic() - sess["started"], 3),
            }
        )
        self.report["session_reports"].append(r)
        log.info("session %s ended (%s): %s", sid, why, r)

    async def close(self):
        for sid in list(self.sessions):
            await self.end(sid, self.sessions.pop(sid), "shutdown")


async def serve(args):
    patch_aiortc()
    try:
        frames = load_clip(args.clip)
    except (OSError, ValueError, av.AVError) as e:
        log.error("clip %s: %s", args.clip, e)
        return 2
    srv = Server(args, frames)
    stop = asyncio.Event()
    stop_on_signals(asyncio.get_running_loop(), stop)
    server = await asyncio.start_server(srv.handle, "127.0.0.1", args.port)
    port = server.sockets[0].getsockname()[1]
    emit(
        {
            "event": "ready",
            "role": "serve",
            "port": port,
            "url": "http://127.0.0.1:%d/whep" % port,
            "codec": args.codec,
            "clip_frames": len(frames),
        }
    )
    await stop.wait()
    server.close()
    await srv.close()
    emit(dict(srv.report, event="report"))


# ------------------------------------------------------------------ watch


class DecodeCounts:
    """What went through aiortc's video decoder. The decoder runs in
    aiortc's decoder thread, so the counters are under a lock."""

    def __init__(self):
        self.lock = threading.Lock()
        self.codec = None
        self.frames_in = 0  # complete encoded frames aiortc assembled
        self.before_keyframe = 0  # of those, not decoded: no keyframe yet
        self.frames_out = 0  # pictures the decoder produced
        self.keyframes = 0
        self.failed = 0  # shown frames that produced no picture
        self.first_keyframe_pts = None
        self.rtp_origin = None  # RTP timestamp that aiortc maps to pts 0
        # wall clock (Unix s) of the latest video packet of each RTP
        # timestamp: when its frame was complete, for in-order delivery
        self.arrived = {}

    def snapshot(self):
        with self.lock:
            return {
                "frames_in": self.frames_in,
                "before_keyframe": self.before_keyframe,
                "frames_out": self.frames_out,
                "keyframes": self.keyframes,
                "failed": self.failed,
                "first_keyframe_pts": self.first_keyframe_pts,
                "rtp_ts_origin": self.rtp_origin,
            }


COUNTS = DecodeCounts()


class CountingDecoder:
    """Wraps aiortc's decoder (libvpx VP8, libavcodec H.264) to count its
    input and output. Like a browser, it feeds the decoder nothing before the
    first keyframe (those frames are counted as before_keyframe). libvpx
    failures are silent in aiortc (no log, no picture): a shown frame that
    yields no picture is counted as failed."""

    def __init__(self, inner, codec_name):
        self.inner = inner
        self.codec_name = codec_name
        self.seen_key = False

    def decode(self, encoded_frame):
        data = encoded_frame.data
        key = is_keyframe(self.codec_name, data)
        with COUNTS.lock:
            COUNTS.codec = self.codec_name
            COUNTS.frames_in += 1
            if key:
                COUNTS.keyframes += 1
            if not self.seen_key and not key:
                COUNTS.before_keyframe += 1
                return []
            if key and COUNTS.first_keyframe_pts is None:
                COUNTS.first_keyframe_pts = encoded_frame.timestamp
        self.seen_key = True
        out = self.inner.decode(encoded_frame)
        with COUNTS.lock:
            COUNTS.frames_out += len(out)
            if not out and (self.codec_name != "VP8" or vp8_shown(data)):
                COUNTS.failed += 1
        return out


class RecordingMapper(aiortc.rtcrtpreceiver.TimestampMapper):
    """aiortc's RTP timestamp unwrapper, remembering the video origin so
    the report can give the frames' RTP timestamps (origin + pts)."""

    def map(self, timestamp):
        first = self._origin is None
        out = super().map(timestamp)
        if first and self.video:
            with COUNTS.lock:
                COUNTS.rtp_origin = timestamp
        return out


def instrument_receiver():
    real_get_decoder = aiortc.rtcrtpreceiver.get_decoder

    def get_decoder(codec):
        dec = real_get_decoder(codec)
        if codec.name in ("VP8", "H264"):
            return CountingDecoder(dec, codec.name)
        return dec

    aiortc.rtcrtpreceiver.get_decoder = get_decoder

    real_init = aiortc.rtcrtpreceiver.RTCRtpReceiver.__init__

    def init(self, kind, transport):
        real_init(self, kind, transport)
        mapper = RecordingMapper()
        mapper.video = kind == "video"
        self._RTCRtpReceiver__timestamp_mapper = mapper

    aiortc.rtcrtpreceiver.RTCRtpReceiver.__init__ = init

    real_handle = aiortc.rtcrtpreceiver.RTCRtpReceiver._handle_rtp_packet

    async def handle(self, packet, arrival_time_ms):
        mapper = self._RTCRtpReceiver__timestamp_mapper
        if getattr(mapper, "video", False) and len(COUNTS.arrived) < 100000:
            COUNTS.arrived[packet.timestamp] = time.time()
        await real_handle(self, packet, arrival_time_ms)

    aiortc.rtcrtpreceiver.RTCRtpReceiver._handle_rtp_packet = handle


class ErrorCounter(logging.Handler):
    """Counts the warnings and errors of aiortc's codecs (the H.264
    decoder logs each frame it fails to decode)."""

    def __init__(self):
        super().__init__(logging.WARNING)
        self.count = 0
        self.messages = []

    def emit(self, record):
        self.count += 1
        if len(self.messages) < 20:
            self.messages.append(record.getMessage())


async def request_keyframe(receiver, stop, every, counts):
    """Like a browser that joins between keyframes: while frames arrive
    but no keyframe has, send a PLI, again every `every` seconds until one
    comes (aiortc itself asks only after a loss)."""
    last = None
    while not stop.is_set():
        with COUNTS.lock:
            have_key = COUNTS.first_keyframe_pts is not None
            waiting = COUNTS.before_keyframe > 0
        if have_key:
            return
        now = time.monotonic()
        if waiting and (last is None or now - last >= every):
            for src in receiver.getSynchronizationSources():
                await receiver._send_rtcp_pli(src.source)
                counts["pli_sent"] += 1
            last = now
        await asyncio.sleep(0.02)


async def wait_any(stop, event, timeout):
    """Waits for stop or event (None: only stop) at most timeout seconds;
    whether one of them was set."""
    waits = [asyncio.ensure_future(stop.wait())]
    if event is not None:
        waits.append(asyncio.ensure_future(event.wait()))
    done, pending = await asyncio.wait(waits, timeout=timeout, return_when=asyncio.FIRST_COMPLETED)
    for f in pending:
        f.cancel()
    return bool(done)


def http(method, url, body=None, headers=None, timeout=10):
    req = urllib.request.Request(url, data=body, method=method, headers=headers or {})
    try:
        with urllib.request.urlopen(req, timeout=timeout) as r:
            return r.status, dict(r.headers), r.read()
    except urllib.error.HTTPError as e:
        return e.code, dict(e.headers), e.read()


async def watch(args):
    patch_aiortc()
    instrument_receiver()
    errors = ErrorCounter()
    logging.getLogger("aiortc.codecs").addHandler(errors)

    stop = asyncio.Event()
    stop_on_signals(asyncio.get_running_loop(), stop)
    t0 = time.monotonic()
    report = {
        "role": "watch",
        "url": args.url,
        "seconds": args.seconds,
        "connected": False,
        "frames_decoded": 0,
        "audio_frames": 0,
        "pts": [],
        "width": 0,
        "height": 0,
        "codec": None,
        "audio_codec": None,
        "error": None,
        "pli_sent": 0,
    }
    pc = new_pc()
    location = None
    tasks = []
    first_frame_at = None
    last_frame_at = None
    got_first = asyncio.Event()

    async def read_video(track):
        nonlocal first_frame_at, last_frame_at
        try:
            while True:
                frame = await track.recv()
                now = time.monotonic()
                if first_frame_at is None:
                    first_frame_at = now
                    got_first.set()
                last_frame_at = now
                report["frames_decoded"] += 1
                report["pts"].append(frame.pts)
                report["width"], report["height"] = frame.width, frame.height
        except MediaStreamError:
            pass

    async def read_audio(track):
        try:
            while True:
                await track.recv()
                report["audio_frames"] += 1
        except MediaStreamError:
            pass

    @pc.on("track")
    def on_track(track):
        log.info("track %s", track.kind)
        reader = read_video if track.kind == "video" else read_audio
        tasks.append(asyncio.ensure_future(reader(track)))
        if track.kind == "video" and args.pli_every > 0:
            receiver = next(t.receiver for t in pc.getTransceivers() if t.receiver.track is track)
            tasks.append(asyncio.ensure_future(request_keyframe(receiver, stop, args.pli_every, report)))

    @pc.on("connectionstatechange")
    def on_state():
        log.info("connection %s", pc.connectionState)
        if pc.connectionState == "connected":
            report["connected"] = True
            report["connect_ms"] = round((time.monotonic() - t0) * 1000, 1)

    try:
        vt = pc.addTransceiver("video", direction="recvonly")
        if args.codec:
            vt.setCodecPreferences(codec_preferences(args.codec))
        pc.addTransceiver("audio", direction="recvonly")
        await pc.setLocalDescription(await pc.createOffer())
        emit({"event": "ready", "role": "watch", "url": args.url})
        status, headers, body = await asyncio.to_thread(
            http,
            "POST",
            args.url,
            pc.localDescription.sdp.encode(),
            {"Content-Type": "application/sdp"},
        )
        if status != 201:
            raise RuntimeError("WHEP POST: HTTP %d: %s" % (status, body[:200].decode(errors="replace")))
        loc = {k.lower(): v for k, v in headers.items()}.get("location")
        if loc:
            location = urllib.parse.urljoin(args.url, loc)
        answer = RTCSessionDescription(sdp=body.decode(), type="answer")
        await pc.setRemoteDescription(answer)
        for t in pc.getTransceivers():
            if t._codecs:
                name = t._codecs[0].mimeType
                if t.kind == "video":
                    report["codec"] = name
                else:
                    report["audio_codec"] = name
        # N seconds of decoding, from the first picture.
        if not await wait_any(stop, got_first, args.first_frame_timeout):
            raise RuntimeError("no decoded video in %gs" % args.first_frame_timeout)
        if not stop.is_set():
            await wait_any(stop, None, args.seconds)
    except Exception as e:
        log.error("watch: %s", e)
        report["error"] = str(e)
    finally:
        if location:
            try:
                status, _, _ = await asyncio.to_thread(http, "DELETE", location, None, None, 5)
                report["delete_status"] = status
            except Exception as e:  # the report matters more than the DELETE
                report["delete_error"] = str(e)
        await pc.close()
        for t in tasks:
            t.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)

    d = COUNTS.snapshot()
    report.update(d)
    report["decode_errors"] = errors.count + d["failed"]
    report["decode_error_messages"] = errors.messages
    if first_frame_at is not None:
        report["first_frame_ms"] = round((first_frame_at - t0) * 1000, 1)
        span = last_frame_at - first_frame_at
        report["span_s"] = round(span, 3)
        if span > 0 and report["frames_decoded"] > 1:
            report["fps"] = round((report["frames_decoded"] - 1) / span, 2)
    if d["rtp_ts_origin"] is not None:
        # When each decoded picture's frame was complete (its last packet
        # arrived): the render time of a receiver that takes decoding as
        # instant, which is how bidwatch's participant times frames.
        origin = d["rtp_ts_origin"]
        report["arrived_at"] = [
            round(COUNTS.arrived.get((origin + p) & 0xFFFFFFFF, 0.0), 6) for p in report["pts"]
        ]
    if report["pts"]:
        report["first_pts"] = report["pts"][0]
        report["last_pts"] = report["pts"][-1]
    report["elapsed_s"] = round(time.monotonic() - t0, 3)
    emit(dict(report, event="report"))
    return 0 if report["error"] is None else 1


def main(argv=None):
    # The script may come on stdin (python3 - serve …): name it for --help.
    p = argparse.ArgumentParser(prog="aiortc_peer.py", description=__doc__.split("\n\n")[0])
    sub = p.add_subparsers(dest="role", required=True)
    s = sub.add_parser("serve", help="a WHEP server sending a clip")
    s.add_argument("--codec", choices=["vp8", "h264"], required=True)
    s.add_argument("--clip", required=True)
    s.add_argument("--port", type=int, default=0)
    s.add_argument("--fps", type=int, default=25)
    s.add_argument("--pause-at", type=float, default=None, help="seconds into a session")
    s.add_argument("--pause-for", type=float, default=0.0)
    w = sub.add_parser("watch", help="a WHEP client decoding the video")
    w.add_argument("--url", required=True)
    w.add_argument("--seconds", type=float, required=True, help="of decoding, from the first picture")
    w.add_argument("--first-frame-timeout", type=float, default=15.0)
    w.add_argument(
        "--pli-every",
        type=float,
        default=0.5,
        help="no keyframe yet: PLI, repeated every this many seconds (0: never)",
    )
    w.add_argument("--codec", choices=["vp8", "h264"], default=None, help="offer only this video codec")
    w.add_argument("--verbose", action="store_true")
    s.add_argument("--verbose", action="store_true")
    args = p.parse_args(argv)
    logging.basicConfig(
        stream=sys.stderr,
        level=logging.DEBUG if args.verbose else logging.INFO,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    if args.role == "serve":
        if args.fps <= 0 or args.fps > 120:
            p.error("--fps must be within 1…120")
        return asyncio.run(serve(args)) or 0
    if args.seconds <= 0:
        p.error("--seconds must be positive")
    return asyncio.run(watch(args))


if __name__ == "__main__":
    sys.exit(main())
