// Package interop tests bidwatch's WebRTC side against a WebRTC
// implementation that is not pion: aiortc (Debian's python3-aiortc, which
// decodes VP8 with libvpx and H.264 with libavcodec). The harness runs
// aiortc_peer.py, either as a WHEP server sending a real clip encoded by
// aiortc ([Serve], [StartServer]) or as a WHEP client that decodes every
// frame it receives and reports what it decoded ([Watch]).
//
// The tests show that bidwatch's participant measures a foreign server's
// stream as it is, and that a real decoder can decode every frame the
// synthetic hall sends. scripts/test-deps installs python3-aiortc; the
// tests fail, not skip, without it. See docs/testing.md.
package interop
