"""Quantities in the canonical form the real API server stores and echoes.

apimachinery's resource.Quantity keeps the suffix family of the input (binary
Ki..Ei, decimal n..E, or an exponent eN) and writes the value with the largest
suffix that leaves an integer mantissa: 1.5Gi -> 1536Mi, 0.5 -> 500m,
2000m -> 2, 1.5G -> 1500M. A binary value below 1024 or not a whole number of
bytes falls back to decimal, and anything finer than a milli-unit is rounded UP
(1.5555555Gi -> 1670264999904m, 0.0001 -> 1m, 1500u -> 2m). See
tests/fixtures/apiserver-samples/quantity-canonical.json.
"""
import re
from fractions import Fraction

_RE = re.compile(r"^([+-]?)([0-9]+\.?[0-9]*|\.[0-9]+)(Ki|Mi|Gi|Ti|Pi|Ei|[numkMGTPE]|[eE][-+]?[0-9]+|)$")
_BIN = ["Ki", "Mi", "Gi", "Ti", "Pi", "Ei"]
_DEC = {-9: "n", -6: "u", -3: "m", 0: "", 3: "k", 6: "M", 9: "G", 12: "T", 15: "P", 18: "E"}
_DEC_EXP = {v: k for k, v in _DEC.items()}


def canonical(q):
    """The server's canonical string for quantity q (unchanged when it cannot parse it)."""
    if not isinstance(q, str):
        return q
    m = _RE.match(q)
    if not m:
        return q
    sign, num, suf = m.groups()
    v = Fraction(num)
    if suf in _BIN:
        v *= 1024 ** (_BIN.index(suf) + 1)
        fmt = "bin"
    elif suf[:1] in ("e", "E"):
        v *= Fraction(10) ** int(suf[1:])
        fmt = "exp"
    else:
        v *= Fraction(10) ** _DEC_EXP[suf]
        fmt = "dec"
    neg = sign == "-" and v != 0
    if fmt == "bin" and v.denominator == 1 and v >= 1024:
        n = int(v)
        for i in range(len(_BIN), 0, -1):
            if n % 1024 ** i == 0:
                return "%s%d%s" % ("-" if neg else "", n // 1024 ** i, _BIN[i - 1])
        return "%s%d" % ("-" if neg else "", n)
    if fmt == "bin":
        fmt = "dec"
    milli = -((-v * 1000) // 1)  # ceil: finer than 1m rounds up
    milli = int(milli)
    if milli == 0:
        return "0"
    exp = -3
    while exp < 18 and milli % 10 ** (exp + 6) == 0:
        exp += 3
    mant = milli // 10 ** (exp + 3)
    if fmt == "exp":
        return "%s%d%s" % ("-" if neg else "", mant, "" if exp == 0 else "e%d" % exp)
    return "%s%d%s" % ("-" if neg else "", mant, _DEC[exp])


def canonicalize(obj):
    """Rewrite, in place, the quantities of resources/capacity maps in obj (pods, Jobs, PVCs, PVs)."""
    def walk(o, in_res=False):
        if isinstance(o, dict):
            for k, v in o.items():
                if in_res and k in ("requests", "limits", "capacity", "allocatable") and isinstance(v, dict):
                    for rk in list(v):
                        v[rk] = canonical(v[rk])
                walk(v, in_res or k in ("resources", "spec", "status"))
        elif isinstance(o, list):
            for v in o:
                walk(v, in_res)
    walk(obj)
    return obj
