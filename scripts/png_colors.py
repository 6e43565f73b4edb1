"""Counts the pixels of a PNG screenshot near each given colour: PNG_colors.py SHOT.png '#1f77b4' '#d62728' ...
prints {"width": W, "height": H, "#1f77b4": N, ...} as JSON. Standard library only (zlib): ReportScreenshotTests
checks with it that the report's lines were drawn in their colours, and that a colour no run uses is absent.
"""
import json
import struct
import sys
import zlib


def pixels(path):
    data = open(path, "rb").read()
    if data[:8] != b"\x89PNG\r\n\x1a\n":
        raise SystemExit(f"{path}: not a PNG file")
    at, idat, header = 8, b"", None
    while at < len(data):
        length, kind = struct.unpack(">I4s", data[at:at + 8])
        body = data[at + 8:at + 8 + length]
        if kind == b"IHDR":
            header = struct.unpack(">IIBBBBB", body)
        elif kind == b"IDAT":
            idat += body
        at += 12 + length
    width, height, depth, color, _, _, interlace = header
    channels = {2: 3, 6: 4}.get(color)
    if depth != 8 or channels is None or interlace:
        raise SystemExit(f"{path}: only 8-bit RGB/RGBA non-interlaced PNG is read (depth {depth}, colour type {color})")
    raw, stride = zlib.decompress(idat), width * channels
    rows, previous = [], bytearray(stride)
    for y in range(height):
        kind, line = raw[y * (stride + 1)], bytearray(raw[y * (stride + 1) + 1:(y + 1) * (stride + 1)])
        for i in range(stride):
            a = line[i - channels] if i >= channels else 0
            b = previous[i]
            c = previous[i - channels] if i >= channels else 0
            if kind == 1:
                line[i] = (line[i] + a) & 255
            elif kind == 2:
                line[i] = (line[i] + b) & 255
            elif kind == 3:
                line[i] = (line[i] + (a + b) // 2) & 255
            elif kind == 4:
                p = a + b - c
                pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
                line[i] = (line[i] + (a if pa <= pb and pa <= pc else b if pb <= pc else c)) & 255
        rows.append(line)
        previous = line
    return width, height, channels, rows


def main(path, colors):
    width, height, channels, rows = pixels(path)
    targets = {c: tuple(int(c[i:i + 2], 16) for i in (1, 3, 5)) for c in colors}
    counts = {c: 0 for c in colors}
    for line in rows:
        for x in range(0, len(line), channels):
            r, g, b = line[x], line[x + 1], line[x + 2]
            for c, (tr, tg, tb) in targets.items():
                # Anti-aliased edges blend into the background; the cores of the lines keep their colour.
                if abs(r - tr) + abs(g - tg) + abs(b - tb) <= 24:
                    counts[c] += 1
    print(json.dumps({"width": width, "height": height, **counts}))


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2:])
