"""Normalized views of a text, so obfuscated requests are judged like plain ones.

:func:`views` returns ``(name, text)`` pairs, the raw text first, then each
transformation that changed something, applied cumulatively:

``basic``      zero-width, bidi, tag and other format (Cf) characters removed, then NFKC
``homoglyph``  Cyrillic/Greek/Armenian look-alike letters folded to Latin (in mostly-Latin text, else
               inside mixed-script words and in a sentence whose words read as English once folded:
               every letter swapped, ``Ноԝ то``), small capitals (``ʙᴏᴍʙ``) always
``leet``       leetspeak folded inside words (``b0mb`` -> ``bomb``, ``h@ck`` -> ``hack``, ``ki11`` -> ``kill``,
               ``$teal`` -> ``steal``); numbers, versions, units and identifiers (``k8s``, ``i18n``, ``s3``,
               ``python3``, ``$this``, hashes, ``0x3B``, codes in capitals such as ``C3PO``, chemical
               formulas, passwords such as ``Tr0ub4dor&3``) are left alone unless they fold to a common
               word (``B0MB``); an underscore parts words (``h0w_t0``), and so do ``+`` signs where the
               words so joined read as English (``h0w+t0+h4ck``); a camelCase run of leet words that read
               as English is folded and parted into them (``h0wT0H4ck`` -> ``how To Hack``, a digit for a
               capital too: ``H0w70`` -> ``How to``); camelCase without leetspeak is left as it is
``joined``     spaced or punctuated letters joined (``b o m b``, ``b.o.m.b`` -> ``bomb``); a longer or
               different separator is a word boundary (``p.i.p.e b.o.m.b`` -> ``pipe bomb``), and so is
               a space where each word has its own (``w.h.a.t i-s``); middle dots, bullets, ``+`` and
               dashes separate too; a run with none is split into words when it reads as common English; leet
               folded again after joining; words joined by underscores or ``+`` signs parted by spaces
               when half of them are common English words (``how+to+bake``)
``base64``     base64 segments decoded in place (only when they decode to printable text; rot13 over
               base64 too; spread out with one separator between every two characters, ``a G 9 3``, too)
``hex``        hex segments decoded in place (same rule; not inside a word: "decode", "be", "cafe"); bare
               pairs, ``\\x41``, ``0x41``, ``0x41, 0x42``, pairs separated by spaces, ``:``, ``-`` or ``.``,
               digits spread out one by one (``6 8 6 f``); rot13 over hex too
``rot13``      rot13 runs decoded in place: maximal runs of words that read as English under rot13
               and not as they are (no plain word joins a run); else, as a guess that masks nothing,
               the whole text when it reads as English under rot13; a word with some letters written as
               leet characters or look-alike letters, over the rot13 (``u8j``, ``оbzо``) or under it
               (``o0zo``: ``b0mb`` put through rot13), is read both ways and decoded the way it reads as a word

Encoded segments are found with look-alike letters of other scripts read as Latin (hex written with a
Cyrillic ``с``). A decoded segment is read as text (UTF-8 or UTF-16, else Windows-1252 when mostly ASCII and
words, inflated first when it is gzip or zlib data): invisible characters removed and NFKC, its own encoded segments
decoded again (up to ``_MAX_DEPTH`` layers: base64 of hex of text), then folded like the other views (look-alike
letters, leetspeak, spaced letters, underscores), so a decoded view reads as words.

With ``mask_encoded=True``, what a decoder read is masked in the other views, and encoded data that is
no text (a data: URI's image, a checksum, a key) in every view.

Identical views are dropped. Pure Python, linear in the text length; decoding
work is bounded for huge texts by the characters examined (not by the number of
segments), and of an overlong segment the first and last ``_MAX_SEGMENT_CHARS``
are decoded (its middle stays as it is, unmasked).
"""

from __future__ import annotations

from guardrails.normalize._scripts import INVISIBLE_CHARS, basic
from guardrails.normalize._segments import DATA_MARKER, ENCODED_MARKER
from guardrails.normalize._views import views

__all__ = ["DATA_MARKER", "ENCODED_MARKER", "INVISIBLE_CHARS", "basic", "views"]
