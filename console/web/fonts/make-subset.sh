#!/bin/sh
# Regenerates the console's fallback Chinese font: a subset of WenQuanYi Micro
# Hei (文泉驿微米黑) with every character of GB2312 (the 6763 common hanzi and
# the CJK punctuation) plus every CJK character the UI strings, the configs
# and the incident texts use. Machine-room PCs without a CJK font of their own
# get it from the binary (see docs/console-ui.md).
#
# Needs Debian's fonts-wqy-microhei, python3-fonttools and python3-brotli:
#   apt-get install -y fonts-wqy-microhei python3-fonttools python3-brotli
# Run from anywhere: console/web/fonts/make-subset.sh
# Writes console/web/static/fonts/bidwatch-wqy.woff2 and
# console/web/fonts/chars.txt (the characters covered; a test checks that
# every CJK character in the UI's files is among them).
set -eu

here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../../.." && pwd)
src=${WQY_TTC:-/usr/share/fonts/truetype/wqy/wqy-microhei.ttc}
out="$repo/console/web/static/fonts/bidwatch-wqy.woff2"

# Debian's fontTools is installed for the system python, which may not be the
# first python3 on PATH.
py=python3
for p in /usr/bin/python3 python3; do
	if "$p" -c 'import fontTools.subset, brotli' 2>/dev/null; then
		py=$p
		break
	fi
done

if [ ! -f "$src" ]; then
	echo "make-subset: $src not found (apt-get install fonts-wqy-microhei)" >&2
	exit 1
fi

"$py" - "$repo" "$here/chars.txt" <<'EOF'
import glob, os, sys

repo, out = sys.argv[1], sys.argv[2]

# The blocks the subset covers; the CSS's unicode-range says the same, so
# the font is fetched and used for these characters only (Latin letters and
# digits come from the system's sans-serif).
RANGES = [
    (0x2010, 0x2027), (0x2030, 0x205E),  # dashes, quotes, ellipsis, ‰ ※
    (0x2190, 0x21FF),                      # arrows
    (0x2460, 0x24FF),                      # ① …
    (0x2500, 0x257F),                      # box drawing
    (0x25A0, 0x25FF), (0x2600, 0x26FF),    # shapes: ● ▲ ★ …
    (0x3000, 0x303F),                      # CJK punctuation 。、「」
    (0x3200, 0x33FF),                      # enclosed CJK, ㎡
    (0x3400, 0x4DBF), (0x4E00, 0x9FFF),    # hanzi
    (0xF900, 0xFAFF),                      # compatibility ideographs
    (0xFE30, 0xFE4F),                      # vertical forms
    (0xFF00, 0xFFEF),                      # fullwidth ，：（）
]

def wanted(c):
    o = ord(c)
    return any(a <= o <= b for a, b in RANGES)

chars = set()
# GB2312: every character of both levels and its symbol rows.
for hi in range(0xA1, 0xF8):
    for lo in range(0xA1, 0xFF):
        try:
            chars.add(bytes([hi, lo]).decode("gb2312"))
        except UnicodeDecodeError:
            pass

patterns = [
    "console/web/static/**/*.js",
    "console/web/static/**/*.html",
    "console/web/static/**/*.css",
    "configs/*.yaml",
    "internal/config/demo.yaml",
    "internal/vocab/*.go",
    "watchdog/incident/*.go",
    "docs/console-ui.md",
]
for pat in patterns:
    for f in glob.glob(os.path.join(repo, pat), recursive=True):
        if "/vendor/" in f:
            continue
        with open(f, encoding="utf-8", errors="ignore") as fh:
            chars.update(fh.read())

chars = sorted(c for c in chars if wanted(c))
with open(out, "w", encoding="utf-8") as fh:
    # Sixty to a line, so a diff shows what came or went.
    for i in range(0, len(chars), 60):
        fh.write("".join(chars[i:i + 60]) + "\n")
print("make-subset: %d characters" % len(chars), file=sys.stderr)
EOF

unicodes=$(tr -d '\n' <"$here/chars.txt" | "$py" -c 'import sys; print(",".join("U+%04X" % ord(c) for c in sys.stdin.read()))')

mkdir -p "$(dirname "$out")"
"$py" -m fontTools.subset "$src" --font-number=0 \
	--unicodes="$unicodes" \
	--layout-features='*' --no-hinting --desubroutinize \
	--name-IDs='*' --name-languages='*' --drop-tables+=FFTM \
	--flavor=woff2 --output-file="$out"
echo "make-subset: wrote $out ($(wc -c <"$out") bytes)" >&2
