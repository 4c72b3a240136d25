#!/usr/bin/python3
"""openapi_embed.py - build step: docs/openapi.yaml -> compact JSON, written
as a C file (the http module serves it at GET /api/v1/openapi.json) and as a
.json file beside it for the validators. Usage: openapi_embed.py IN.yaml OUT.c OUT.json"""
import json
import sys

import yaml


def main():
    src, out_c, out_json = sys.argv[1:4]
    with open(src, encoding="utf-8") as f:
        doc = yaml.safe_load(f)
    if not isinstance(doc, dict) or not str(doc.get("openapi", "")).startswith("3.1"):
        sys.exit(f"{src}: not an OpenAPI 3.1 document")
    text = json.dumps(doc, ensure_ascii=True, separators=(",", ":"))
    with open(out_json, "w", encoding="ascii") as f:
        f.write(text + "\n")
    lines = ["/* openapi.c - generated from docs/openapi.yaml by mk/openapi_embed.py;",
             " * do not edit (the build writes it again). */",
             '#include "http/http_internal.h"', "",
             "const char http_openapi_json[] ="]
    for i in range(0, len(text), 96):
        chunk = text[i:i + 96].replace("\\", "\\\\").replace('"', '\\"')
        lines.append(f'    "{chunk}"')
    lines[-1] += ";"
    lines.append("const size_t http_openapi_json_len = sizeof http_openapi_json - 1;")
    with open(out_c, "w", encoding="ascii") as f:
        f.write("\n".join(lines) + "\n")


if __name__ == "__main__":
    main()
