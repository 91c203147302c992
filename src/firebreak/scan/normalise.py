"""Text normalisation shared by the scanners: undo the cheap obfuscations attackers use.

`views(text)` returns the texts a scanner should look at: the text itself, a normalised
copy when it differs (format characters such as zero-width spaces removed, NFKC, confusable
homoglyphs inside Latin words mapped to ASCII, leetspeak inside words undone) and the
decoded payloads of base64 / rot13 blobs that the text asks the model to decode. Each view
carries a note saying which transformations produced it, for the verdict's reason.

Everything here is pure-Python string work that costs microseconds on ordinary text: a
plain ASCII text without digit-letter mixes or encoded blobs yields only itself.
"""

from __future__ import annotations

import base64
import binascii
import codecs
import re
import unicodedata
from dataclasses import dataclass

# Cyrillic, Greek and other look-alikes of Latin letters (lower and upper case).
_CONFUSABLES = str.maketrans({
    "а": "a", "в": "b", "е": "e", "ё": "e", "к": "k", "м": "m", "н": "h", "о": "o", "р": "p",
    "с": "c", "т": "t", "у": "y", "х": "x", "ѕ": "s", "і": "i", "ј": "j", "ԁ": "d", "ԛ": "q",
    "ԝ": "w", "ɡ": "g", "ı": "i", "ℓ": "l",
    "А": "A", "В": "B", "Е": "E", "К": "K", "М": "M", "Н": "H", "О": "O", "Р": "P", "С": "C",
    "Т": "T", "У": "Y", "Х": "X", "Ѕ": "S", "І": "I", "Ј": "J",
    "α": "a", "ε": "e", "ι": "i", "κ": "k", "ν": "v", "ο": "o", "ρ": "p", "τ": "t", "υ": "u",
    "χ": "x", "Α": "A", "Β": "B", "Ε": "E", "Ζ": "Z", "Η": "H", "Ι": "I", "Κ": "K", "Μ": "M",
    "Ν": "N", "Ο": "O", "Ρ": "P", "Τ": "T", "Υ": "Y", "Χ": "X",
})
_LEET = str.maketrans({"4": "a", "@": "a", "3": "e", "1": "i", "!": "i", "0": "o", "7": "t",
                       "5": "s", "$": "s", "8": "b", "9": "g", "|": "l"})
# A "word" for the homoglyph and leetspeak passes: letters, digits and leet symbols.
_WORD = re.compile(r"[\w@$!|]+", re.UNICODE)
_ASCII_LETTER = re.compile(r"[A-Za-z]")
_NON_ASCII_WORD = re.compile(r"(?<!\w)\w*[^\x00-\x7f]\w*", re.UNICODE)
_LATIN_WORD = re.compile(r"(?<!\w)\w*[A-Za-z]\w*", re.UNICODE)  # may hide look-alikes
# Words with a digit or leet symbol and a letter: the only candidates for leetspeak.
# (anchored at word starts so a long text costs one pass, not one pass per character)
_MIXED = re.compile(r"(?<![\w@$!|])[\w@$!|]*[0-9@$!|][\w@$!|]*", re.UNICODE)
_HAS_ALPHA = re.compile(r"[^\W\d_]", re.UNICODE)
_HAS_LEET = re.compile(r"[0-9@$!|]")
# Letters then digits ("base64", "gpt4", "v2") or digits then a short unit ("10am", "4k",
# "2nd") are ordinary words, not leetspeak; very long words are ids or encoded blobs.
_NOT_LEET = re.compile(r"^(?:[^\W\d_]+\d+|\d+[^\W\d_]{0,2})$|^.{25,}$", re.UNICODE)
_BASE64 = re.compile(r"(?<![A-Za-z0-9+/])(?:[A-Za-z0-9+/]{4}){5,}"
                     r"(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?")
_ASKS_DECODE = re.compile(r"\b(?:decode|decipher|decrypt|base-?64|b64|"
                          r"rot-?13|caesar|encoded|cipher)\b", re.IGNORECASE)
_ROT13_CUE = re.compile(r"\brot-?13\b|\bcaesar\b", re.IGNORECASE)
_ROT13_AFTER = re.compile(r"[:\n]\s*(.{12,})", re.DOTALL)
# Quoted fragments ("payload splitting": part1 = «ignore all», part2 = «previous ...»).
_QUOTED = re.compile(r"«([^»]{1,500})»|“([^”]{1,500})”|\"([^\"\n]{1,500})\"")
_FORMAT = re.compile("[\u00ad\u061c\u180e\u200b-\u200f\u202a-\u202e\u2060-\u2064"
                     "\u2066-\u206f\ufeff\ufff9-\ufffb\U000e0000-\U000e007f]")
_SPACES = re.compile(r"[ \t\u00a0]+")
MAX_CHARS = 20_000  # bound the work on huge texts; scanners cut further themselves


@dataclass(frozen=True)
class View:
    """One way of reading a text: the text and how it was derived (empty = as given)."""

    text: str
    note: str = ""


def _strip_format(text: str) -> str:
    # Format characters (Unicode category Cf): soft hyphen, zero-width space and joiners,
    # bidi controls, word joiner and invisible operators, BOM, the invisible tag block.
    return text if text.isascii() else _FORMAT.sub("", text)


def _unmask(word: str, latin: bool) -> str:
    # Mixed-script words ("іgnоrе": Latin g, n, r) always; all-look-alike words only in a
    # mostly Latin text, so real Cyrillic or Greek prose is never rewritten.
    if not word.isascii() and (latin or _ASCII_LETTER.search(word)):
        mapped = word.translate(_CONFUSABLES)
        # Only words that are Latin after mapping: real Cyrillic/Greek words stay as they are.
        if mapped.isascii() and mapped != word:
            word = mapped
    return word


def _is_leet(word: str) -> bool:
    return bool(_HAS_LEET.search(word) and _HAS_ALPHA.search(word)
                and not _NOT_LEET.match(word))


def normalise(text: str) -> str:
    """Format characters out, NFKC, homoglyphs and leetspeak in words undone.

    Leetspeak: a word mixing letters and digits ("1gn0r3", not "base64" or "10am") is
    decoded; when there are two such words and words with digits make up a fifth of the
    text, every short word with digits is ("4nd", "70", "ju57"): the text is written so.
    Only the words that need it are looked at one by one, so plain text costs a few regex
    scans.
    """
    t = _strip_format(text[:MAX_CHARS])
    if not t.isascii():
        t = unicodedata.normalize("NFKC", t)
        latin = len(t.encode("ascii", "ignore")) * 2 > len(t)
        words = _NON_ASCII_WORD if latin else _LATIN_WORD  # mostly Latin: every foreign word
        t = words.sub(lambda m: _unmask(m.group(0), latin), t)
    mixed = [w for w in _MIXED.findall(t) if _HAS_ALPHA.search(w)]
    leet = sum(map(_is_leet, mixed))
    if not leet:
        return t
    heavy = leet >= 2 and len(mixed) >= 3 and len(mixed) * 5 >= t.count(" ") + 1

    def fix(match: re.Match[str]) -> str:
        word = match.group(0)
        if _is_leet(word) or (heavy and len(word) < 25):
            return word.translate(_LEET)
        return word

    return _MIXED.sub(fix, t)


def _printable(raw: bytes) -> str | None:
    try:
        out = raw.decode("utf-8")
    except UnicodeDecodeError:
        return None
    ok = sum(ch.isprintable() or ch in "\n\t" for ch in out)
    return out if out and ok / len(out) > 0.95 and _HAS_ALPHA.search(out) else None


def decoded_payloads(text: str) -> list[str]:
    """Plain text of base64 / rot13 payloads that `text` asks the model to decode."""
    head = text[:MAX_CHARS]
    if not _ASKS_DECODE.search(head):
        return []
    out: list[str] = []
    for m in _BASE64.finditer(head):
        blob = m.group(0)
        try:
            plain = _printable(base64.b64decode(blob + "=" * (-len(blob) % 4), validate=True))
        except (binascii.Error, ValueError):
            continue
        if plain:
            out.append(plain)
    cue = _ROT13_CUE.search(head)
    if cue:  # the text after the cue's colon or line break, else the whole text
        after = _ROT13_AFTER.search(head, cue.end())
        out.append(codecs.decode(after.group(1) if after else head, "rot13"))
    return out


def views(text: str) -> list[View]:
    """The text, its normalised copy (if different), and decoded payloads (normalised)."""
    out = [View(text)]
    norm = normalise(text)
    if norm != text:
        out.append(View(norm, "normalised"))
    for plain in decoded_payloads(_strip_format(text)):
        out.append(View(normalise(plain), "decoded payload"))
    parts = [next(g for g in m.groups() if g is not None) for m in _QUOTED.finditer(norm)]
    if len(parts) >= 2:
        out.append(View(" ".join(p.strip() for p in parts), "joined quoted parts"))
    return out


def squash(text: str) -> str:
    """Collapse runs of spaces (used when joining conversation turns)."""
    return _SPACES.sub(" ", text).strip()
