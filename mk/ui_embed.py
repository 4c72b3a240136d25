#!/usr/bin/python3
"""ui_embed.py - build step: the dashboard's files (ui/*.html, *.css, *.js,
*.svg) written as one C file, a table the http module serves at /ui (SPEC
§16). No download, no bundler: the files are served as written.
Usage: ui_embed.py OUT.c FILE..."""
import os
import sys

TYPES = {
    ".html": "text/html; charset=utf-8",
    ".css": "text/css; charset=utf-8",
    ".js": "text/javascript; charset=utf-8",
    ".svg": "image/svg+xml",
}
MAX_FILE = 512 * 1024


def c_string(data):
    out = []
    for b in data:
        c = chr(b)
        if c in '"\\?':
            out.append("\\" + c)
        elif 0x20 <= b < 0x7f:
            out.append(c)
        else:
            out.append("\\%03o" % b)
    return "".join(out)


def main():
    out_c, files = sys.argv[1], sorted(sys.argv[2:], key=os.path.basename)
    lines = ["/* ui_files.c - generated from ui/ by mk/ui_embed.py; do not edit",
             " * (the build writes it again). */",
             '#include "http/http_internal.h"', "",
             "const struct http_ui_file http_ui_files[] = {"]
    for path in files:
        name = os.path.basename(path)
        ext = os.path.splitext(name)[1]
        if ext not in TYPES:
            sys.exit(f"{path}: no content type for {ext!r}")
        with open(path, "rb") as f:
            data = f.read()
        if len(data) > MAX_FILE or b"\0" in data:
            sys.exit(f"{path}: over {MAX_FILE} bytes or holds a NUL")
        lines.append(f'    {{"{name}", "{TYPES[ext]}",')
        for i in range(0, len(data), 64):
            lines.append(f'     "{c_string(data[i:i + 64])}"')
        lines.append(f"     , {len(data)}}},")
    lines.append("};")
    lines.append("const size_t http_ui_n_files = sizeof http_ui_files / sizeof http_ui_files[0];")
    with open(out_c, "w", encoding="ascii") as f:
        f.write("\n".join(lines) + "\n")


if __name__ == "__main__":
    main()
