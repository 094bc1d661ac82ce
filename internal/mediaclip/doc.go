// Package mediaclip holds the short real video clips the synthetic hall
// loops (VP8 in IVF, H.264 as an Annex B byte stream, made once with ffmpeg:
// testdata/make-clips.sh) and the readers that cut them into frames.
//
// The clips are embedded in the binary, so neither the build nor the tests
// need ffmpeg. Each is a moving test pattern at 25 fps whose length is a
// whole number of groups of pictures, so a loop keeps the keyframe cadence:
// a keyframe every 2 s (4 s clips, 320×180) or every 10 s (10 s clips,
// 160×90). Every clip has a low-bitrate rendition with its keyframes at the
// same frames, which a sender may switch to at a keyframe.
package mediaclip
