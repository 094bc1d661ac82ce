#!/bin/sh
# make-clips.sh remakes the hall's video clips with Debian's ffmpeg (libvpx,
# libx264). It is run once by hand; the build and the tests never need ffmpeg.
#
#   cd internal/mediaclip/testdata && sh make-clips.sh
#
# Every clip is a moving test pattern (testsrc2) at 25 fps whose length is a
# whole number of GOPs, so looping it keeps the keyframe cadence. VP8 is in
# IVF without alt-ref (invisible) frames; H.264 is constrained baseline, no
# B-frames, an Annex B byte stream with SPS/PPS before every IDR. Keyframes
# are only where the GOP says (no scene-cut keyframes).
#
# Per codec: the 2 s GOP clip (320x180, 4 s), its low-bitrate rendition (the
# same frames at about a quarter of the bitrate, keyframes at the same
# places, for the hall's bitrate-drop fault), and a 10 s GOP clip (160x90,
# 10 s) with its low rendition.
set -eu
FF="ffmpeg -hide_banner -loglevel error -y"

clip() { # name size seconds gop kbps codec
	name=$1 size=$2 secs=$3 gop=$4 kbps=$5 codec=$6
	src="testsrc2=size=$size:rate=25:duration=$secs"
	case $codec in
	vp8)
		$FF -f lavfi -i "$src" -pix_fmt yuv420p \
			-c:v libvpx -deadline good -cpu-used 2 -auto-alt-ref 0 -lag-in-frames 0 \
			-g "$gop" -keyint_min "$gop" -b:v "${kbps}k" -minrate "${kbps}k" -maxrate "${kbps}k" \
			-f ivf "$name.ivf"
		;;
	h264)
		$FF -f lavfi -i "$src" -pix_fmt yuv420p \
			-c:v libx264 -profile:v baseline -level 3.1 -preset medium -bf 0 \
			-g "$gop" -keyint_min "$gop" -b:v "${kbps}k" -maxrate "${kbps}k" -bufsize "${kbps}k" \
			-x264-params "keyint=$gop:min-keyint=$gop:scenecut=0:repeat-headers=1:aud=0" \
			-bsf:v dump_extra -f h264 "$name.h264"
		;;
	esac
}

clip vp8-gop50       320x180 4  50  150 vp8
clip vp8-gop50-low   320x180 4  50  40  vp8
clip vp8-gop250      160x90  10 250 40  vp8
clip vp8-gop250-low  160x90  10 250 12  vp8
clip h264-gop50      320x180 4  50  150 h264
clip h264-gop50-low  320x180 4  50  40  h264
clip h264-gop250     160x90  10 250 40  h264
clip h264-gop250-low 160x90  10 250 12  h264
