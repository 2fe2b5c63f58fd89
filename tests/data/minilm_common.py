"""Shared by gen_minilm_tiny.py and gen_minilm_reference.py: writing the C++ .inc files."""
import struct


def hexf(v):
    return "0x%08xu" % struct.unpack("<I", struct.pack("<f", float(v)))[0]


def c_string(s):
    """A C++ string literal of s's UTF-8 bytes (octal escapes, which never run into the next character)."""
    out = []
    for b in s.encode("utf-8"):
        c = chr(b)
        if c == "\\" or c == '"':
            out.append("\\" + c)
        elif 0x20 <= b < 0x7F and c != "?":  # '?' escaped: no trigraphs
            out.append(c)
        else:
            out.append("\\%03o" % b)
    return '"' + "".join(out) + '"'


def wrap(items, indent="     ", width=110):
    lines, line = [], indent
    for it in items:
        piece = it + ","
        if len(line) + len(piece) + 1 > width and line.strip():
            lines.append(line.rstrip())
            line = indent
        line += piece + " "
    if line.strip():
        lines.append(line.rstrip())
    return "\n".join(lines)


def emit_cases(name, cases):
    """cases: list of (text, ids, embedding) -> `inline const minilm_case name[] = {...};`"""
    out = ["inline const minilm_case %s[] = {" % name]
    for text, ids, emb in cases:
        out.append("  {std::string_view(%s, %d)," % (c_string(text), len(text.encode("utf-8"))))
        out.append("   {")
        out.append(wrap([str(i) for i in ids]))
        out.append("   },")
        out.append("   {")
        out.append(wrap([hexf(v) for v in emb]))
        out.append("   }},")
    out.append("};")
    return "\n".join(out)
