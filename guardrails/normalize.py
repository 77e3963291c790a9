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
               word (``B0MB``); an underscore parts words (``h0w_t0``)
``joined``     spaced or punctuated letters joined (``b o m b``, ``b.o.m.b`` -> ``bomb``); a longer or
               different separator is a word boundary (``p.i.p.e b.o.m.b`` -> ``pipe bomb``), and so is
               a space where each word has its own (``w.h.a.t i-s``); middle dots, bullets, ``+`` and
               dashes separate too; a run with none is split into words when it reads as common English; leet
               folded again after joining; words joined by underscores parted by spaces when half of
               them are common English words
``base64``     base64 segments decoded in place (only when they decode to printable text; rot13 over
               base64 too)
``hex``        hex segments decoded in place (same rule; not inside a word: "decode", "be", "cafe"); bare
               pairs, ``\\x41``, ``0x41``, ``0x41, 0x42``, pairs separated by spaces, ``:``, ``-`` or ``.``;
               rot13 over hex too
``rot13``      rot13 runs decoded in place: maximal runs of words that read as English under rot13
               and not as they are (no plain word joins a run); else, as a guess that masks nothing,
               the whole text when it reads as English under rot13

Encoded segments are found with look-alike letters of other scripts read as Latin (hex written with a
Cyrillic ``с``). A decoded segment is read as text (UTF-8 or UTF-16, inflated first when it is gzip or
zlib data): invisible characters removed and NFKC, its own encoded segments decoded again (up to
``_MAX_DEPTH`` layers: base64 of hex of text), then folded like the other views (look-alike letters,
leetspeak, spaced letters, underscores), so a decoded view reads as words.

With ``mask_encoded=True``, what a decoder read is masked in the other views, and encoded data that is
no text (a data: URI's image, a checksum, a key) in every view.

Identical views are dropped. Pure Python, linear in the text length; decoding
work is bounded for huge texts by the characters examined (not by the number of
segments), and of an overlong segment the first and last ``_MAX_SEGMENT_CHARS``
are decoded (its middle stays as it is, unmasked).
"""

from __future__ import annotations

import base64
import binascii
import math
import re
import unicodedata
import zlib
from collections import Counter
from collections.abc import Callable, Iterable
from itertools import accumulate, islice

__all__ = ["DATA_MARKER", "ENCODED_MARKER", "basic", "views"]

#: what stands in for a decoded segment in the undecoded views, with ``views(..., mask_encoded=True)``
ENCODED_MARKER = "[encoded text]"
#: what stands in for encoded data that is no text (a data: URI, a checksum, a key) in every view, with
#: ``views(..., mask_encoded=True)``
DATA_MARKER = "[encoded data]"

# Removed by basic(): every format (Cf) character of Unicode 15 -- soft hyphen, Arabic/Syriac number
# signs, zero-width space/joiners, bidi marks/embeddings/isolates, word joiner and invisible operators,
# BOM, interlinear annotation, Egyptian/shorthand/musical format controls, tag characters -- plus the
# invisible characters of other categories: combining grapheme joiner, Hangul and braille fillers,
# Khmer inherent vowels, Mongolian free variation selectors, variation selectors (and supplement).
_INVISIBLE = re.compile(
    "["
    "\u00ad\u0600-\u0605\u061c\u06dd\u070f\u0890\u0891\u08e2\u180e\u200b-\u200f\u202a-\u202e"
    "\u2060-\u206f\ufeff\ufff9-\ufffb\U000110bd\U000110cd\U00013430-\U0001343f\U0001bca0-\U0001bca3"
    "\U0001d173-\U0001d17a\U000e0000-\U000e007f"  # Cf
    "\u034f\u115f\u1160\u17b4\u17b5\u180b-\u180d\u180f\u2800\u3164\uffa0\ufe00-\ufe0f\U000e0100-\U000e01ef"
    "]"
)

# Letters of other scripts that look like Latin ones (after the UTS #39 confusables), folded in
# mostly-Latin text and inside words that mix scripts -- never in a text written in that script.
_HOMOGLYPHS = {
    # Cyrillic lowercase
    "а": "a", "в": "b", "е": "e", "ё": "e", "к": "k", "м": "m", "н": "h", "о": "o", "р": "p", "с": "c",
    "т": "t", "у": "y", "х": "x", "ѕ": "s", "і": "i", "ї": "i", "ј": "j", "һ": "h", "ԁ": "d", "ԛ": "q",
    "ԝ": "w", "ӏ": "l", "ү": "y", "ѡ": "w", "ҽ": "e", "г": "r",
    # Cyrillic uppercase
    "А": "A", "В": "B", "Е": "E", "Ё": "E", "К": "K", "М": "M", "Н": "H", "О": "O", "Р": "P", "С": "C",
    "Т": "T", "У": "Y", "Х": "X", "Ѕ": "S", "І": "I", "Ї": "I", "Ј": "J", "Һ": "H", "Ԁ": "D", "Ԛ": "Q",
    "Ԝ": "W", "Ӏ": "I", "Ү": "Y", "Ԍ": "G",
    # Greek
    "α": "a", "β": "b", "ε": "e", "η": "n", "ι": "i", "κ": "k", "ν": "v", "ο": "o", "ρ": "p", "τ": "t",
    "υ": "u", "χ": "x", "γ": "y", "ω": "w", "ѵ": "v", "ϲ": "c", "ϳ": "j",
    "Α": "A", "Β": "B", "Ε": "E", "Ζ": "Z", "Η": "H", "Ι": "I", "Κ": "K", "Μ": "M", "Ν": "N", "Ο": "O",
    "Ρ": "P", "Τ": "T", "Υ": "Y", "Χ": "X", "Ϲ": "C", "Ϳ": "J",
    # Armenian
    "ա": "w", "գ": "q", "զ": "q", "հ": "h", "ո": "n", "ռ": "n", "ս": "u", "ց": "g", "ք": "f", "օ": "o",
    "Ս": "U", "Տ": "S", "Օ": "O",
}  # fmt: skip
# Latin letters that read as other Latin letters whatever the text: small capitals and the script g
# (folded to the lowercase letter: ``ʜᴏᴡ ᴛᴏ`` reads "how to").
_LATIN_LOOKALIKES = {
    "ᴀ": "a", "ʙ": "b", "ᴄ": "c", "ᴅ": "d", "ᴇ": "e", "ꜰ": "f", "ɢ": "g", "ʜ": "h", "ɪ": "i", "ᴊ": "j",
    "ᴋ": "k", "ʟ": "l", "ᴍ": "m", "ɴ": "n", "ᴏ": "o", "ᴘ": "p", "ꞯ": "q", "ʀ": "r", "ꜱ": "s", "ᴛ": "t",
    "ᴜ": "u", "ᴠ": "v", "ᴡ": "w", "ʏ": "y", "ᴢ": "z", "ɡ": "g", "ɑ": "a",
}  # fmt: skip
_HOMOGLYPH_TABLE = str.maketrans(_HOMOGLYPHS)
# what encoded text is read through: every look-alike letter as its Latin letter, one character for one
_DECODE_FOLD_TABLE = str.maketrans({**_HOMOGLYPHS, **_LATIN_LOOKALIKES})
_LATIN_LOOKALIKE_TABLE = str.maketrans(_LATIN_LOOKALIKES)
_LATIN_LOOKALIKE = re.compile("[" + "".join(_LATIN_LOOKALIKES) + "]")
# letters of the scripts above (Greek, Cyrillic, Armenian): what decides whether a text is mostly Latin
# a sentence (for folding a whole one written in look-alike letters), a word
_SENTENCE = re.compile(r"[^.!?\n]+[.!?\n]*|[.!?\n]+")
_WORD_CHARS = re.compile(r"\w+")
_CYR_GREEK = re.compile("[\u0370-\u03ff\u0400-\u052f\u0531-\u0556\u0561-\u0587]")
_LATIN = re.compile("[A-Za-z]")
# a letter _DECODE_FOLD_TABLE folds
_ANY_LOOKALIKE = re.compile("[\u0370-\u03ff\u0400-\u052f\u0531-\u0556\u0561-\u0587" + "".join(_LATIN_LOOKALIKES) + "]")

_LEET = {"0": "o", "1": "i", "3": "e", "4": "a", "5": "s", "7": "t", "8": "b", "9": "g", "@": "a", "$": "s",
         "!": "i", "|": "l", "+": "t", "€": "e", "£": "l"}  # fmt: skip
_LEET_TABLE = str.maketrans(_LEET)
_LEET_TABLE_L = str.maketrans({**_LEET, "1": "l"})
# a "word" of letters and leet characters holding at least one letter and one leet character
# (and not in random case -- base64, keys: a check _fold_leet_word makes, done here in C)
_LEET_CLASS = r"[\w@$!|+€£]"
_LEET_SPLIT = re.compile(
    rf"(?<!{_LEET_CLASS})(?={_LEET_CLASS}*?[01345789@$!|+€£])(?={_LEET_CLASS}*?[A-Za-z])"
    rf"(?!{_LEET_CLASS}*?[a-z][A-Z]{_LEET_CLASS}*?[a-z][A-Z])({_LEET_CLASS}+)"
)
_LEET_CHARS = re.compile(r"[01345789@$!|+€£]")
# a leet character (other than the punctuation-like + and |) between two letters: the mark of leetspeak
_LEET_INNER = re.compile(r"[A-Za-z][01345789@$!|+€£]*[01345789@$!€£][01345789@$!|+€£]*[A-Za-z]")
# identifiers that look like leet but are not, folded only when they fold to an English word: hex strings
# (a3f5b9c, e89b), long digit runs, variables ($this), numeronyms and short tech names whose digits are
# not one repeated vowel-like digit (k8s, i18n, l10n -- but b0mb, h4ck, d1d, g00d are leet), literals
# (0x3B, 0b1010), codes in capitals and digits (C3PO, B07XJ8C8F5 -- but B0MB folds to a word), chemical
# formulas (C8H10N4O2, Mg3N2)
_IDENTIFIER = re.compile(
    r"[0-9a-fA-F]*[0-9][0-9a-fA-F]*[0-9][0-9a-fA-F]*"
    r"|.*[0-9]{3}.*"
    r"|\$[A-Za-z]+"
    r"|[A-Za-z](?=[0-9]+[A-Za-z]{1,2}$)(?:[0-9]*[25-9]|([0-9])\1*(?!\1)[0-9])[0-9]*[A-Za-z]{1,2}"
    r"|0[xX][0-9A-Fa-f]+|0[bB][01]+|0[oO][0-7]+"
    r"|[A-Z0-9]+"
    r"|(?:[A-Z][a-z]?[0-9]*){2,}"
)
# a leet word glued to one of these is part of a password or an expression (Tr0ub4dor&3, x=l33t)
_CODE_GLUE = frozenset("&%^=")
# ordinals and decades ("80th", "90s") are numbers
_ORDINAL = re.compile(r"[0-9]+(?:st|nd|rd|th|s)", re.IGNORECASE)
# a letter and a digit before an English word is a name ("w3schools"), not leet
_NAME_PREFIX = re.compile(r"[A-Za-z][0-9]([A-Za-z]{4,})")
_CASE_FLIPS = re.compile(r"[a-z][A-Z].*[a-z][A-Z]")
_ONES = re.compile(r"1{2,}")
_MAX_LEET_WORD = 24
# what stands for an underscore while leet is folded: a character that is no word character
_WORD_GAP = "\x00"
# words joined by underscores ("how_to_make_a_cake"), parted by spaces when they read as English (not a
# placeholder: <DATE_TIME_1>)
_UNDERSCORED = re.compile(r"(?<![\w'<])[^\W_]+(?:'[^\W_]+)?(?:[,.;:!?]?_+[^\W_]+(?:'[^\W_]+)?){2,}(?![\w'])")
_UNDERSCORES = re.compile(r"_+")
_MAX_LEET_WORDS = 100_000

# three or more single letters/digits separated by separator runs of one to three characters (punctuation,
# middle dots and bullets, "+", dashes)
_SPACED = re.compile(r"(?<![\w@$])(?:[A-Za-z0-9@$][ .\-_*|/\\,:;~'`^·•∙‧+–—]{1,3}){2,}[A-Za-z0-9@$](?![\w@$])")
_SEP = re.compile(r"[ .\-_*|/\\,:;~'`^·•∙‧+–—]+")
_SEP_SPLIT = re.compile(r"([ .\-_*|/\\,:;~'`^·•∙‧+–—]+)")
# consonant pairs that begin English words
_ONSETS = frozenset({
    "bl", "br", "ch", "cl", "cr", "dr", "dw", "fl", "fr", "gh", "gl", "gn", "gr", "kl", "kn", "kr", "ph", "pl", "pn",
    "pr", "ps", "qu", "rh", "sc", "sh", "sk", "sl", "sm", "sn", "sp", "sq", "st", "sw", "th", "tr", "ts", "tw", "wh",
    "wr",
})  # fmt: skip
#: joined words up to this length are split into English words, up to this many characters in a text
_MAX_SPLIT_WORD = 64
_MAX_SPLIT_CHARS = 20_000
_MAX_VOCAB_WORD = 16

_B64 = re.compile(r"(?<![A-Za-z0-9+/=_-])[A-Za-z0-9+/_-]{16,}={0,2}(?![A-Za-z0-9+/=_-])")
# bytes as bare pairs, ``\x41``/``\X41``/``0x41``, each pair alone or after a separator (a space, ``:``, ``-``,
# ``.``, or ``,``/``;`` and a space: ``0x41, 0x42``); not inside a word ("decode 68..." is no hex "de 68..."),
# nor ending inside one
_HEX = re.compile(
    r"(?=[0-9A-Fa-f\\])(?<![0-9A-Za-z])(?:(?:\\[xX]|0[xX])?[0-9A-Fa-f]{2}(?:[,;]\s?|[\s:.\-])?){8,}"
    r"(?<![\s:,;.\-])(?![0-9A-Za-z])"
)
_HEX_STRIP = re.compile(r"\\[xX]|0[xX]|[\s:,;.\-]")
# hex put through rot13: its letters a-f read n-s (bare pairs, or pairs and separators); it starts with a
# digit, as the hex of text in Latin letters does (the first half of an ASCII byte is a digit)
_HEX_ROT13 = re.compile(
    r"(?=[0-9])(?<![0-9A-Za-z])(?:[0-9N-Sn-s]{2}(?:[,;]\s?|[\s:.\-])?){8,}(?<![\s:,;.\-])(?![0-9A-Za-z])"
)
_ROT13_HEX_LETTER = re.compile(r"[N-Sn-s]")
# encoded data that is no text: the base64 of a data: URI; a JSON web token; base64 or hex runs of at least
# _MIN_DATA_CHARS characters (hex in bare pairs or one separator after every pair, as digests and byte arrays
# are written; not a UUID); a URL's own tokens are left alone
_DATA_URI = re.compile(r"(?<![\w.+-])data:[\w.+/-]*(?:;[\w.+-]+(?:=[\w.+-]+)?)*;base64,([A-Za-z0-9+/_-]+=*)", re.I)
# a JSON web token: base64 of '{"' (a header, a payload), then a signature
_JWT = re.compile(r"(?<![\w.-])eyJ[A-Za-z0-9_-]{8,}\.eyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{16,}(?![\w-]|\.[\w-])")
_URL = re.compile(r"\b[A-Za-z][A-Za-z0-9+.-]*://\S+")
_HEX_BYTE_PIECE = re.compile(r"(?:\\[xX]|0[xX])?[0-9A-Fa-f]{2}")
_HEX_PIECES = re.compile(r"(?:[,;]\s?|[\s:.\-])")
_HEX_LETTER = re.compile(r"[A-Fa-f]")
_LONG_HEX_RUN = re.compile(r"(?<![0-9A-Fa-f])[0-9A-Fa-f]{32,}(?![0-9A-Fa-f])")
_DIGIT = re.compile(r"[0-9]")
_MIN_DATA_CHARS = 32
_MIN_DATA_B64_CHARS = 40
#: of a data run, this much is decoded to tell whether it is text; decoded bytes with this share of printable
#: ASCII or more are damaged text, not data
_DATA_SAMPLE_CHARS = 4096
_MAX_DATA_ASCII_SHARE = 0.8
# words in a run of letters and digits (a path, a camelCase name): not random
_RUN_WORD = re.compile(r"[a-z]{4,}|[A-Z][a-z]{3,}")
# a stretch of lowercase letters, capitals, digits or other characters
_SAME_KIND = re.compile(r"[a-z]+|[A-Z]+|[0-9]+|[^A-Za-z0-9]+")
# a run read for words: leet folded, base64's symbols as spaces; then cut into words at capitals
_DATA_WORD_TABLE = str.maketrans(
    {**{k: v for k, v in _LEET.items() if k not in "+|"}, "+": " ", "/": " ", "_": " ", "-": " ", "=": " "}
)
_RUN_PIECE = re.compile(r"[A-Z]?[a-z]+|[A-Z]+(?![a-z])")
#: a run with this share of its characters in common English words (leet folded) holds words, not data;
#: random base64 of 30 bytes or more reaches about 0.15 at most
_MIN_WORD_SHARE = 0.25
_NOT_HEX = re.compile(r"[^0-9A-Fa-f]")
_LOWER = re.compile(r"[a-z]")
_UPPER_OR_DIGIT = re.compile(r"[A-Z0-9]")
_UPPER = re.compile(r"[A-Z]")

_WORD = re.compile(r"[A-Za-z]+")
_LETTER = re.compile(r"[^\W\d_]")
_SPACE_SPLIT = re.compile(r"(\s+)")
_TOKEN_PUNCT = "\"'()[]{}<>.,;:!?*_-"
_ROT13_TABLE = str.maketrans(
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz", "NOPQRSTUVWXYZABCDEFGHIJKLMnopqrstuvwxyzabcdefghijklm"
)

# Common English words (and the words of the requests the policy is about): what leet folding, word
# splitting and rot13 detection read as English. Lowercase; the plural in "s" of a word of three letters
# or more is also accepted.
_VOCAB = frozenset(
    """
    a ab about above abuse across act action actually add addict address after again against age ago agree air
    all almost alone along already also although always am ammo ammunition among amount an and anger angry
    animal another answer anthrax any anyone anything anyway apart app are area arm army around arrest arson art
    article as ask asked asking assault at attack attacks aunt away baby back bad bag ball bank bar base
    bathroom be beat beautiful became because become bed been before began begin behind being believe below best
    better between big bill bit black blackmail bleach blood blow blue board boat body bomb bombing bombs bone
    book border born boss both bottle box boy brain break breath bridge bring brother brought bs build building
    built bullet bullets burglary burn bus business but buy by bypass call called came camera can cannabis car
    card care carry case cash cat catch cause cell chance change cheap check chemical chemicals child children
    choose church cipher city class clean clear close cocaine code cold college color come comes coming company
    computer cook cool cop cops copy cost could counterfeit country couple course court cover crack crash crazy
    create credit crime criminal cry cut cyanide dad danger dangerous dark data date daughter day days dead deal
    dear death decide decode decoded deep deny did die died different difficult dinner do doctor does dog doing
    dollar done door down drink drive drop drown drug drugs drunk during each early easy eat ecstasy either else
    email encode encoded end enemy enough even evening event ever every everyone everything evil exactly example
    explain explode exploit explosion explosive explosives extort eye eyes face fact fail fake fall false family
    far fast father fear feel feeling fentanyl fertilizer few fight file find fine fire firearm first fish five
    food for force forge forget form found four fraud free friend friends from front full fun fund fur future
    game gang gas gave gel get gets getting girl give given glass go god goes going gone good got government
    great green grenade ground group grow gun guns guy hack hacked hacker hacking had hair half hand hands hang
    happen happy harass hard harm has hate have having he head health hear heard heart hello help her here
    heroin herself hey hi hidden hide high him himself his history hit hold home hope horse hospital hostage hot
    hour hours house how however human hundred hurt husband i idea if ill illegal important in inside instead
    instructions into is it its itself job join just keep kept key keys kid kidnap kidnapping kids kill killed
    killing kind knew knife know known lab lady land language large last late later launder laundering law learn
    least leave left leg legal less let lethal letter life light like line list listen little live lives living
    lock long look looking lose lost lot love low mad made mail make making malware man many map marijuana mark
    market massacre matter may maybe me mean meet men message met meth methamphetamine method might mind mine
    minute miss molotov mom money month more morning most mother move much murder music must my myself name nazi
    near need needs neighbor neighbour never new news next nice night nitrate no nobody none not note nothing
    now nude number of off office often oh oil ok okay old on once one only open opioid or order other others
    our out outside over overdose own page pain paper parent parents part party pass password passwords past pay
    people person phishing phone pick picture piece pill pills pipe pistol place plan plant play please png
    point poison poisoned poisoning police poor porn possible power press pretty price private problem program
    public pull put puzzle question quick quickly quite race ransom ransomware rape rather read ready real
    really reason red remember rest rich ricin rifle right river road rob rock room rule run safe said same saw
    say says scam school science second secret see seem seen self sell send sense set seven sex sha shall she
    ship shoot shooter shooting shop shoplift short shot should show shut sick side sign simple since sister sit
    six skill skin sleep small smell smuggle so some someone something sometimes son soon sorry sound speak
    special spend stab stalk stalking stand start state stay steal stealing step steps still stole stolen stop
    store story strangle street strong student study stuff such suicidal suicide sure system table take taken
    talk tax teach teacher tell ten terra terror terrorist test than thank thanks that the theft their them then
    there these they thief thing things think third this those though thought three through throw time tired to
    today together told tomorrow too took top toward town toxic trade traffick trafficking train translate tree
    trip true trust truth try turn two under understand until up upon ur us use used user using usually very
    view virus visit voice wait walk wall want wanted war was watch water way ways we weapon weapons weed week
    weight well went were what when where whether which while white who whole whom whose why wife will win
    window wish with within without woman women word words work world worry would wrist write wrong yeah year
    years yes yesterday yet you young your yours yourself
    """.split()  # noqa: SIM905 - a readable word list
)
_WORDS = _VOCAB | frozenset(w + "s" for w in _VOCAB if len(w) > 2)  # with plurals
_ROT13_WORDS = frozenset(w.translate(_ROT13_TABLE) for w in _WORDS)  # words that are English under rot13

#: decoding work per decoder (characters of candidate segments examined), and how much of each end of
#: an overlong segment is decoded (a multiple of 4, so of 2)
_MAX_DECODE_CHARS = 1_000_000
_MAX_SEGMENT_CHARS = 20_000
#: bytes a decoded hex segment may lose at either end (a word like "be" or "cafe" read as hex beside it,
#: a character cut at the end of an overlong segment's decoded part)
_MAX_LOOSE_BYTES = 4
#: layers of encoding decoded (base64 of hex of text: two), and the characters of decoded text the layers
#: below the first may examine in all (per views() call)
_MAX_DEPTH = 3
#: of gzip or zlib data, this many bytes are inflated, and this many in all (per views() call)
_MAX_INFLATED_BYTES = 65_536
_MAX_INFLATED_TOTAL = 262_144
_MAX_NESTED_CHARS = 1_000_000
_ROT13_SAMPLE = 5_000
#: a rot13 run needs this many words of two letters or more that read as rot13, one of them a common
#: English word of three letters or more under rot13
_ROT13_MIN_WORDS = 3
#: how much better (log-probability, in nats) a word outside the vocabulary must read under rot13 than
#: as it is to join a rot13 run; any other such word reads as plain text and ends a run
_ROT13_MARGIN = 1.5
#: letters of a word judged for that (a longer word is judged by its start)
_MAX_SCORED_LETTERS = 32
# a stretch of tokens with no word that reads as plain text (E, P): a rot13 run when its labels allow
_ROT13_STRETCH = re.compile("[ARTrU]+")


def _rot13_plainness() -> dict[str, float]:
    """For each letter pair (``^`` starts a word, ``$`` ends it), how much likelier it is in the common
    words than its rot13 (log-probability ratio): summed over a word, how much better it reads as it
    is than under rot13."""
    pairs: Counter[str] = Counter()
    for w in _VOCAB:
        marked = f"^{w}$"
        pairs.update(map(str.__add__, marked, marked[1:]))
    letters = "abcdefghijklmnopqrstuvwxyz"
    logp: dict[str, float] = {}
    for a in "^" + letters:
        total = sum(pairs[a + b] for b in letters + "$")
        for b in letters + "$":  # add-one-half smoothing: no pair is impossible
            logp[a + b] = math.log((pairs[a + b] + 0.5) / (total + 0.5 * 27))
    return {pair: p - logp[pair.translate(_ROT13_TABLE)] for pair, p in logp.items()}


_PAIR_PLAINNESS = _rot13_plainness()

_Segment = tuple[int, int, str]  # start, end, replacement


def basic(text: str) -> str:
    """Remove zero-width, bidi, tag and other invisible format characters, then NFKC-normalise ``text``."""
    return unicodedata.normalize("NFKC", _INVISIBLE.sub("", text))


def _is_word(word: str) -> bool:
    return word.lower() in _WORDS


def _fold_homoglyphs(text: str) -> str:
    if _LATIN_LOOKALIKE.search(text):
        text = text.translate(_LATIN_LOOKALIKE_TABLE)
    if not _CYR_GREEK.search(text):
        return text
    latin = len(_LATIN.findall(text))
    foreign = len(_CYR_GREEK.findall(text))
    if latin >= foreign:
        return text.translate(_HOMOGLYPH_TABLE)

    # mostly Cyrillic/Greek/Armenian: fold inside words that mix scripts, and a whole sentence that reads as
    # English once folded (every letter swapped for a look-alike, so no word mixes scripts)
    def mixed(m: re.Match[str]) -> str:
        w = m.group(0)
        return w.translate(_HOMOGLYPH_TABLE) if _LATIN.search(w) else w

    def sentence(m: re.Match[str]) -> str:
        s = m.group(0)
        return s.translate(_HOMOGLYPH_TABLE) if _reads_as_english_folded(s) else _WORD_CHARS.sub(mixed, s)

    return _SENTENCE.sub(sentence, text)


def _reads_as_english_folded(sentence: str) -> bool:
    """Whether the words of ``sentence`` written with Cyrillic/Greek/Armenian letters read as English once
    their look-alike letters are folded: at least half of them are then common English words, three or more,
    two of three letters or more. Text written in those scripts does not ("он не" folds to "oh he", but
    few longer words fold to English ones)."""
    words = [w for w in _WORD_CHARS.findall(sentence) if _CYR_GREEK.search(w)]
    english = long = 0
    for w in words:
        folded = w.translate(_HOMOGLYPH_TABLE).lower()
        if folded in _WORDS:
            english += 1
            long += len(folded) >= 3
    return english >= 3 and long >= 2 and 2 * english >= len(words)


def _fold_leet_word(word: str, *, in_leet_text: bool = False) -> str:
    """``word`` with its leet characters folded, or unchanged when it is no leet word.

    A word folds when a leet character stands between two letters (``b0mb``, ``h@ck``, ``g4m3``:
    trailing digits then fold too), unless it looks like an identifier (``k8s``, ``a3f5b9c``,
    ``$this``) or a name (``w3schools``); any word folds when it folds to an English word and is not a
    lone letter beside a digit (``th3``, ``s33``, ``ki11``, ``$teal``, but not ``s3``, ``i5``), which
    folds only ``in_leet_text``, among other leet words (``h0w t0`` -> ``how to``).
    Ordinals and decades (``80th``, ``90s``) never fold. "1" reads "i", or "l" where that makes a
    word or where it is doubled (``ki11`` -> ``kill``).
    """
    core, lead, tail = word, "", ""
    if word[-1] in "!|+" or word[0] in "!|+":  # punctuation: "stop!", "c++", "!important"
        core = word.rstrip("!|+")
        tail = word[len(core) :]
        stripped = core.lstrip("!|+")
        lead, core = core[: len(core) - len(stripped)], stripped
        if not _LEET_CHARS.search(core):
            return word
    if len(core) > _MAX_LEET_WORD or _CASE_FLIPS.search(core) or _ORDINAL.fullmatch(core):
        return word  # too long, random case (base64, keys), or a number
    letters = len(_LATIN.findall(core))
    if not letters:
        return word
    folded = core.translate(_LEET_TABLE)
    variants = [folded]
    if "1" in core:
        variants.append(core.translate(_LEET_TABLE_L))
        variants.append(_ONES.sub(lambda m: "l" * len(m.group(0)), core).translate(_LEET_TABLE))
    known = next((v for v in variants if v.lower() in _WORDS), None)
    if known is not None and (in_leet_text or letters >= 2 or len(_LEET_CHARS.findall(core)) >= 2):
        folded = known
    elif (
        _LEET_INNER.search(core) is None
        or _IDENTIFIER.fullmatch(core)
        or ((name := _NAME_PREFIX.fullmatch(core)) and name.group(1).lower() in _WORDS)
    ):
        return word
    else:
        folded = variants[-1]
    if core.upper() == core:  # "H4CK" -> "HACK"
        folded = folded.upper()
    return lead + folded + tail


def _fold_leet(text: str) -> str:
    if not _LEET_CHARS.search(text):
        return text
    # an underscore parts words ("h0w_t0_h4ck"): read as a character no word holds, and put back after
    if "_" in text and _WORD_GAP not in text:
        return _fold_leet(text.replace("_", _WORD_GAP)).replace(_WORD_GAP, "_")
    parts = _LEET_SPLIT.split(text)  # text and candidate words alternate; word i is parts[2i+1]
    words = parts[1::2]
    # an e-mail address ("john@example.com") is not "johnaexample.com"
    emails: set[str] = set()
    if "@" in text:
        emails = {w for i, w in enumerate(words) if "@" in w and parts[2 * i + 2].startswith(".")}
    # distinct words, in order of appearance; past _MAX_LEET_WORDS of them (a huge text of distinct
    # leet-like tokens), the rest stay as they are
    folded = {w: w if w in emails else _fold_leet_word(w) for w in islice(dict.fromkeys(words), _MAX_LEET_WORDS)}
    unchanged = [w for w, f in folded.items() if w == f and w not in emails]
    if len(unchanged) == len(folded):
        return text
    for w in unchanged:  # among leet words, a lone letter beside a digit reads as a word too: "t0" -> "to"
        if len(w) <= 4:
            folded[w] = _fold_leet_word(w, in_leet_text=True)
    parts[1::2] = map(folded.get, words, words)
    if not _CODE_GLUE.isdisjoint(text):  # a password or an expression stays, unless it spells a word
        for i, w in enumerate(words):
            glued = parts[2 * i][-1:] in _CODE_GLUE or parts[2 * i + 2][:1] in _CODE_GLUE
            if glued and not _is_word(parts[2 * i + 1]):
                parts[2 * i + 1] = w
    return "".join(parts)


def _split_words(word: str) -> str | None:
    """``word`` split into English words (fewest words wins), or None when it does not read as English."""
    n = len(word)
    low = word.lower()
    unreachable = n + 1
    best = [0] + [unreachable] * n  # best[i]: fewest words spelling word[:i]
    back = [0] * (n + 1)
    for i in range(1, n + 1):
        for j in range(max(0, i - _MAX_VOCAB_WORD), i):
            if best[j] + 1 < best[i] and (i - j > 1 or low[j] in "ai") and low[j:i] in _WORDS:
                best[i], back[i] = best[j] + 1, j
    if best[n] == unreachable:
        return None
    parts: list[str] = []
    i = n
    while i > 0:
        parts.append(word[back[i] : i])
        i = back[i]
    return " ".join(reversed(parts))


def _uniform_letters(seg: str) -> tuple[str, str] | None:
    """The letters of ``seg`` and its separator when one separator parts all of them (``b.o.m.b``)."""
    sep = _SEP.match(seg, 1)
    if sep is None:
        return None
    step = sep.end()  # a letter and its separator
    n = len(seg) // step
    if len(seg) % step != 1 or any(seg[i::step] != c * n for i, c in enumerate(sep.group(0), 1)):
        return None
    return seg[::step], sep.group(0)


def _starts_a_word(letters: str, *, after_i: bool) -> bool:
    """Whether ``letters`` may begin an English word after the article "a" (a consonant, then a vowel or
    a consonant cluster such as "bl", "str") or after "I" (also a vowel)."""
    low = letters[:2].lower()
    if low[0] in "aeiou":
        return after_i
    return low[1] in "aeiouy" or low in _ONSETS


def _join_spaced(text: str) -> str:
    budget = [_MAX_SPLIT_CHARS]
    cache: dict[str, str] = {}

    def word_of(joined: str) -> str:
        """A run joined into one word: leet folded, split into English words when it reads so."""
        out = cache.get(joined)
        if out is not None:
            return out
        out = word = _fold_leet_word(joined)
        if 4 <= len(word) <= _MAX_SPLIT_WORD and budget[0] > 0 and not _is_word(word):
            budget[0] -= len(word)
            out = _split_words(word) or word
        cache[joined] = out
        return out

    def join(m: re.Match[str]) -> str:
        seg = m.group(0)
        uniform = _uniform_letters(seg)
        if uniform is not None:
            letters, sep = uniform
            whole = word_of(letters)
            # "make a b o m b": the article stays a word of its own, unless the letters spell a word
            # ("a n t h r a x", "a r s o n") or what follows the article cannot begin one ("a m m o n i a")
            if (
                sep == " "
                and len(letters) >= 4
                and letters[0] in "aIA"
                and " " not in whole
                and not _is_word(whole)
                and _starts_a_word(letters[1:], after_i=letters[0] == "I")
            ):
                return letters[0] + " " + word_of(letters[1:])
            return whole
        pieces = _SEP_SPLIT.split(seg)  # letters and separators alternate
        seps = pieces[1::2]
        # the letter separator is the commonest one (the shortest among equals); any other is a word
        # boundary: "h o w  d o", "p.i.p.e b.o.m.b"
        counts = Counter(seps)
        inner = [s for s in counts if " " not in s]
        if len(inner) >= 2 and len(inner) < len(counts):
            # a different separator in each word ("w.h.a.t i-s t_h_e"): those without a space join letters,
            # those with one part words
            glue = {s: " " if " " in s else "" for s in counts}
        else:
            letter_sep = min(counts, key=lambda s: (-counts[s], len(s)))
            if counts[letter_sep] < 2 or 2 * counts[letter_sep] < len(seps):
                return seg
            glue = dict.fromkeys(counts, " ")
            glue[letter_sep] = ""
        pieces[1::2] = map(glue.__getitem__, seps)
        joined = "".join(pieces)
        if max(map(len, joined.split(" "))) < 3:  # "I'm 5'8": no word was spelled out
            return seg
        return _fold_leet(joined)

    return _SPACED.sub(join, text)


def _split_underscored(text: str) -> str:
    """Words joined by underscores parted by spaces, where at least half of them are common English words
    (``what_is_the_best_way`` -> ``what is the best way``; ``MAX_RETRY_COUNT`` stays)."""
    if "_" not in text:
        return text

    def split(m: re.Match[str]) -> str:
        words = _UNDERSCORES.split(m.group(0))
        if 2 * sum(_is_word(w.rstrip(",.;:!?")) for w in words) < len(words):
            return m.group(0)
        return " ".join(words)

    return _UNDERSCORED.sub(split, text)


def _utf8_text(raw: bytes, *, loose_start: bool, loose_end: bool) -> str | None:
    """``raw`` read as UTF-8, or None; a loose end may lose up to ``_MAX_LOOSE_BYTES`` bytes that are no
    UTF-8 (a character cut in two, a stray byte such as the word "be" read as hex)."""
    start, end = 0, len(raw)
    while True:
        try:
            return raw[start:end].decode("utf-8")
        except UnicodeDecodeError as e:
            bad = start + e.start
            if loose_start and bad < _MAX_LOOSE_BYTES:
                start += e.end
            elif loose_end and bad >= len(raw) - _MAX_LOOSE_BYTES:
                end = bad
            else:
                return None


class _Layer:
    """Where a decoder works: ``level`` 1 on the text itself, 2 on what a segment of it decoded to, and so
    on; ``budget`` is the characters of decoded text the deeper layers may still examine, shared by every
    decoder of one :func:`views` call, and ``inflate`` the bytes compressed segments may still inflate to;
    on the text itself, ``misses`` gathers the long base64 and hex
    candidates that decoded to no text (offsets and pattern), to be judged as data."""

    __slots__ = ("budget", "inflate", "level", "misses")

    def __init__(self, level: int = 1, budget: list[int] | None = None, inflate: list[int] | None = None) -> None:
        self.level = level
        self.budget = [_MAX_NESTED_CHARS] if budget is None else budget
        self.inflate = [_MAX_INFLATED_TOTAL] if inflate is None else inflate
        self.misses: list[tuple[int, int, re.Pattern[str]]] | None = [] if level == 1 else None

    def deeper(self, chars: int) -> _Layer | None:
        """The layer below this one, for a decoded text of ``chars`` characters; None when it is too deep or
        the budget is spent."""
        if self.level >= _MAX_DEPTH or self.budget[0] < chars:
            return None
        self.budget[0] -= chars
        return _Layer(self.level + 1, self.budget, self.inflate)


def _is_printable(out: str) -> bool:
    visible = out.replace("\n", "").replace("\r", "").replace("\t", "")
    if visible.isprintable():
        return True
    good = sum(1 for c in out if c.isprintable() or c in "\n\r\t")
    return good >= 0.95 * len(out)


def _is_mostly_letters(out: str) -> bool:
    dense = out.replace(" ", "")
    letters = sum(map(str.isalpha, dense))
    if letters < 0.5 * len(dense):
        return False
    # else a few random bytes that happen to be printable
    return len(dense) >= 16 or sum(map(str.isalnum, dense)) >= 0.8 * len(dense)


def _fold_decoded(text: str) -> str:
    """Decoded text folded like the undecoded views: look-alike letters, leetspeak, spaced letters, words
    joined by underscores."""
    return _split_underscored(_join_spaced(_fold_leet(_fold_homoglyphs(text))))


def _decode_fold(text: str) -> str:
    """``text`` with every look-alike letter read as its Latin letter, one character for one (the offsets
    hold): what encoded segments are found and decoded in (hex written with a Cyrillic ``с``)."""
    return text.translate(_DECODE_FOLD_TABLE) if _ANY_LOOKALIKE.search(text) else text


def _decode_layer(text: str, layer: _Layer) -> str:
    """``text`` (decoded from a layer above) with its own encoded segments decoded in place."""
    for pattern, decode in _SEGMENT_DECODERS:
        segments = _decoded_segments(_decode_fold(text), pattern, decode, layer)
        if segments:
            text = _replace(text, segments)
    runs, _ = _rot13_segments(text)
    return _replace(text, runs) if runs else text


def _read_layer(out: str, layer: _Layer) -> str | None:
    """Decoded text as it reads: invisible characters removed and NFKC, its own encoded segments decoded
    (up to ``_MAX_DEPTH`` layers: base64 of hex of text), look-alike letters and leetspeak folded, spaced
    letters joined; None when it does not read as text (printable, mostly letters)."""
    text = basic(out)
    if not text.strip() or not _is_printable(text):
        return None
    below = layer.deeper(len(text))
    if below is not None:
        text = _decode_layer(text, below)
    text = _fold_decoded(text)
    return text if _is_mostly_letters(text) else None


def _utf16_text(raw: bytes) -> str | None:
    """``raw`` read as UTF-16 (by its byte-order mark, else by where its zero bytes stand), or None; tried
    only when a quarter of its bytes or more are zero (text in Latin letters has every other byte zero)."""
    if raw.count(0) * 4 < len(raw):
        return None
    if raw[:2] in (b"\xff\xfe", b"\xfe\xff"):
        encoding = "utf-16"
    else:
        encoding = "utf-16-le" if raw[1::2].count(0) >= raw[0::2].count(0) else "utf-16-be"
    try:
        return raw[: len(raw) // 2 * 2].decode(encoding)
    except UnicodeDecodeError:
        return None


def _inflated(raw: bytes, budget: list[int]) -> bytes:
    """``raw`` decompressed when it is gzip or zlib data (up to ``_MAX_INFLATED_BYTES``, and to what is left
    of ``budget``, which it spends), else as it is."""
    limit = min(_MAX_INFLATED_BYTES, budget[0])
    if limit <= 0:
        return raw
    if raw[:2] == b"\x1f\x8b":
        wbits = 16 + zlib.MAX_WBITS
    elif len(raw) >= 2 and raw[0] & 0x0F == 8 and (raw[0] << 8 | raw[1]) % 31 == 0:
        wbits = zlib.MAX_WBITS
    else:
        return raw
    try:
        out = zlib.decompressobj(wbits).decompress(raw, limit)
    except zlib.error:
        return raw
    budget[0] -= len(out)
    return out


def _text_of(raw: bytes, inflate: list[int], *, loose_start: bool = False, loose_end: bool = False) -> str | None:
    """``raw`` (inflated when compressed, see :func:`_inflated`) read as UTF-8 (:func:`_utf8_text`), or as
    UTF-16 when that fails or holds zero characters."""
    raw = _inflated(raw, inflate)
    out = _utf8_text(raw, loose_start=loose_start, loose_end=loose_end)
    if out is None or "\x00" in out:
        return _utf16_text(raw) or out
    return out


def _printable_text(raw: bytes, layer: _Layer, *, loose_start: bool = False, loose_end: bool = False) -> str | None:
    """``raw`` as text when it reads as text (:func:`_read_layer`), else None."""
    if len(raw) < 4:
        return None
    out = _text_of(raw, layer.inflate, loose_start=loose_start, loose_end=loose_end)
    if out is None:
        return None
    return _read_layer(out, layer)


def _b64_text(s: str, layer: _Layer, *, cut_start: bool = False, cut_end: bool = False) -> str | None:
    """The text base64 ``s`` decodes to, or that its rot13 decodes to (rot13 over base64)."""
    for candidate in (s, s.translate(_ROT13_TABLE)):
        try:
            raw = base64.b64decode(candidate + "=" * (-len(candidate) % 4), validate=True)
        except (binascii.Error, ValueError):
            return None
        text = _printable_text(raw, layer, loose_start=cut_start, loose_end=cut_end)
        if text is not None:
            return text
    return None


def _decode_b64(seg: str, layer: _Layer) -> list[_Segment]:
    """The text a base64 segment decodes to, at its offsets in ``seg``: the whole segment, or the
    first and last ``_MAX_SEGMENT_CHARS`` of an overlong one (its middle stays as it is)."""
    s = seg.rstrip("=")
    if not (_LOWER.search(s) and _UPPER_OR_DIGIT.search(s)):
        return []
    s = s.replace("-", "+").replace("_", "/")
    n = _MAX_SEGMENT_CHARS
    if len(s) <= 2 * n:
        text = _b64_text(s, layer)
        return [(0, len(seg), text)] if text else []
    tail = len(s) - n + (-(len(s) - n) % 4)  # whole base64 quanta, counted from the start
    ends = (
        (0, n, _b64_text(s[:n], layer, cut_end=True)),
        (tail, len(seg), _b64_text(s[tail:], layer, cut_start=True)),
    )
    return [(start, end, text) for start, end, text in ends if text]


def _hex_text(seg: str, layer: _Layer, *, cut_start: bool = False, cut_end: bool = False) -> str | None:
    s = _HEX_STRIP.sub("", seg)
    if cut_start or cut_end:
        s = _NOT_HEX.sub("", s)  # a prefix (\x, 0x) cut in two
        if len(s) % 2:  # whole bytes, counted from the end of the segment for its end
            s = s[1:] if cut_start else s[:-1]
    elif len(s) % 2:
        return None
    try:
        raw = bytes.fromhex(s)
    except ValueError:
        return None
    # either end may hold a word read as hex ("be", "cafe" beside the segment)
    return _printable_text(raw, layer, loose_start=True, loose_end=True)


def _decode_hex(seg: str, layer: _Layer) -> list[_Segment]:
    """The text a hex segment decodes to, at its offsets in ``seg`` (see :func:`_decode_b64`)."""
    n = _MAX_SEGMENT_CHARS
    if len(seg) <= 2 * n:
        text = _hex_text(seg, layer)
        return [(0, len(seg), text)] if text else []
    tail = len(seg) - n
    ends = (
        (0, n, _hex_text(seg[:n], layer, cut_end=True)),
        (tail, len(seg), _hex_text(seg[tail:], layer, cut_start=True)),
    )
    return [(start, end, text) for start, end, text in ends if text]


def _decode_rot13_hex(seg: str, layer: _Layer) -> list[_Segment]:
    """The text a hex segment put through rot13 (its letters a-f read n-s) decodes to."""
    if not _ROT13_HEX_LETTER.search(seg):
        return []  # digits only: plain hex, read by _HEX
    return _decode_hex(seg.translate(_ROT13_TABLE), layer)


def _decoded_segments(
    text: str, pattern: re.Pattern[str], decode: Callable[[str, _Layer], list[_Segment]], layer: _Layer
) -> list[_Segment]:
    """The segments of ``text`` (:func:`_decode_fold`) matching ``pattern`` that decode, with their decoded
    text (to be masked); long candidates that do not decode are noted in ``layer.misses``.

    Work is bounded by the characters examined (``_MAX_DECODE_CHARS``), not by the number of candidates or
    of decoded segments, so undecodable look-alikes (paths, identifiers) or harmless decoded segments
    cannot crowd out a real payload.
    """
    misses = layer.misses if pattern is _B64 or pattern is _HEX else None
    out: list[_Segment] = []
    budget = _MAX_DECODE_CHARS
    for m in pattern.finditer(text):
        if budget <= 0:
            break
        budget -= min(m.end() - m.start(), 2 * _MAX_SEGMENT_CHARS)
        at = m.start()
        found = [
            (at + start, at + end, " " + d.strip() + " ") for start, end, d in decode(m.group(0), layer) if d.strip()
        ]
        out.extend(found)
        if not found and misses is not None and m.end() - at >= _MIN_DATA_CHARS:
            misses.append((at, m.end(), pattern))
    return out


def _hex_segments(text: str, layer: _Layer) -> list[_Segment]:
    """Hex segments decoded, and hex put through rot13 decoded (the two never overlap)."""
    plain = _decoded_segments(text, _HEX, _decode_hex, layer)
    rotated = _decoded_segments(text, _HEX_ROT13, _decode_rot13_hex, layer)
    if not rotated:
        return plain
    out: list[_Segment] = []
    for seg in sorted([*plain, *rotated]):
        if not out or seg[0] >= out[-1][1]:
            out.append(seg)
    return out


#: the decoders of segments, run on each decoded layer too
_SEGMENT_DECODERS: tuple[tuple[re.Pattern[str], Callable[[str, _Layer], list[_Segment]]], ...] = (
    (_B64, _decode_b64),
    (_HEX, _decode_hex),
    (_HEX_ROT13, _decode_rot13_hex),
)


def _replace(text: str, segments: Iterable[_Segment]) -> str:
    out: list[str] = []
    last = 0
    for start, end, replacement in segments:
        out.append(text[last:start])
        out.append(replacement)
        last = end
    out.append(text[last:])
    return "".join(out)


def _plainness(word: str) -> float:
    """How much better the letters of ``word`` (lowercase) read as they are than under rot13 (negative:
    worse), judged by their pairs."""
    if not (word.isascii() and word.isalpha()):
        return sum(map(_plainness, _WORD.findall(word)))
    return sum(map(_PAIR_PLAINNESS.__getitem__, map(str.__add__, "^" + word, word + "$")))


def _rot13_word_label(token: str) -> str:
    """The label of a token for rot13 runs, or ``?`` when its letters are to be judged.

    E: an English word; R: English only under rot13 (T: of two letters, r: of one); A: English both
    ways, or no letters (numbers, punctuation); ``?``: a word English neither way.
    """
    word = token.strip(_TOKEN_PUNCT).replace("'", "").lower()
    if word.isascii() and word.isalpha():
        english, rotated = word in _WORDS, word in _ROT13_WORDS
        if english:
            return "A" if rotated else "E"
        if rotated:
            return "R" if len(word) > 2 else "T" if len(word) == 2 else "r"
    elif not _LATIN.search(word):
        return "A"
    return "?"


def _rot13_look(token: str) -> str:
    """The label of a word English neither way, by its letter pairs: U when it reads better under rot13
    (by ``_ROT13_MARGIN``), else P (a plain word: a name, a term outside the vocabulary, or a word that
    reads no better either way)."""
    word = token.strip(_TOKEN_PUNCT).replace("'", "").lower()[:_MAX_SCORED_LETTERS]
    return "U" if _plainness(word) < -_ROT13_MARGIN else "P"


def _rot13_label(token: str) -> str:
    """The label of a token for rot13 runs: :func:`_rot13_word_label`, then :func:`_rot13_look`."""
    label = _rot13_word_label(token)
    return _rot13_look(token) if label == "?" else label


def _rot13_labels(tokens: list[str]) -> str:
    """The labels of ``tokens`` (:func:`_rot13_label`), judging the letters of a word only where it may
    join a run: next to a rot13-English word (R) with no plain word (E, P) between (else it is P)."""
    word_label = {t: _rot13_word_label(t) for t in set(tokens)}
    labels = list(map(word_label.__getitem__, tokens))
    looks: dict[str, str] = {}

    def breaks(i: int) -> bool:  # whether token i reads as plain text, judging it if need be
        if labels[i] == "?":
            token = tokens[i]
            look = looks.get(token)
            if look is None:
                look = looks[token] = _rot13_look(token)
            labels[i] = look
        return labels[i] in "EP"

    first_look = "".join(labels)
    reached = 0  # the tokens before this one were judged, or need not be
    i = first_look.find("R")
    while i >= 0:
        j = i - 1
        while j >= reached and not breaks(j):
            j -= 1
        j = i + 1
        while j < len(labels) and not breaks(j):
            j += 1
        reached = j + 1
        i = first_look.find("R", reached)
    return "".join(labels).replace("?", "P")


def _rot13_runs(text: str) -> list[_Segment]:
    """Maximal runs of words that read as English under rot13 (and not as they are), decoded.

    Each whitespace-separated token is labelled by :func:`_rot13_label`. A run is a stretch of tokens
    holding no word that reads as plain text (E, P), with at least ``_ROT13_MIN_WORDS`` words of two
    letters or more that read as rot13 (R, T, U), one of them a common English word of three letters
    or more under rot13 (R: two-letter ones such as "uv" -> "hi" are too easily typed); its edges are
    trimmed to words that read as rot13 (R, T, r, U). So a plain word -- within or beside a run --
    never joins it, and is never masked as encoded.
    """
    parts = _SPACE_SPLIT.split(text)  # tokens and whitespace alternate; token i is parts[2i]
    tokens = parts[::2]
    rot = ({t.strip(_TOKEN_PUNCT).lower() for t in set(tokens)} & _ROT13_WORDS) - _WORDS  # a cheap first look
    if not any(len(w) > 2 for w in rot):
        return []
    labels = _rot13_labels(tokens)
    out: list[_Segment] = []
    ends: list[int] = []
    for m in _ROT13_STRETCH.finditer(labels):
        stretch = m.group(0)
        long_words = stretch.count("R")
        rotated = long_words + stretch.count("T") + stretch.count("U")
        if not long_words or rotated < _ROT13_MIN_WORDS:
            continue
        first, last = m.start(), m.end() - 1
        while labels[first] not in "RTrU":
            first += 1
        while labels[last] not in "RTrU":
            last -= 1
        if not ends:
            ends = list(accumulate(map(len, parts)))  # ends[k]: end offset of parts[k]
        start, end = ends[2 * first] - len(tokens[first]), ends[2 * last]
        out.append((start, end, text[start:end].translate(_ROT13_TABLE)))
    return out


def _reads_as_rot13(text: str) -> bool:
    """Whether ``text`` as a whole reads as English under rot13 (judged on its start).

    Its words must be mostly English under rot13: those that read so (R, T, U: :func:`_rot13_label`)
    must outnumber twice over those that read as plain text (E, P); and the decoded text must hold
    at least two common English words of three letters or more, over twice as many as ``text``.
    Shorter words are not counted there ("n", "v", "uv", "bx" are "a", "i", "hi", "ok" under rot13),
    so a few of them cannot make a plain text read as rot13.
    """
    sample = text[:_ROT13_SAMPLE]
    counts = Counter(sample.split())
    word_labels = {token: _rot13_word_label(token) for token in counts}
    labels: Counter[str] = Counter()
    for token, n in counts.items():
        labels[word_labels[token]] += n
    # a word English neither way (?) reads as rot13 (U) or as plain text (P), by its letter pairs: when the
    # common English words (E) hold the rot13 ones off even if every such word read as rot13, the text is
    # plain whatever its letters say, and they are not judged (the common case: English prose, on every check)
    if labels["R"] + labels["T"] + labels["?"] <= 2 * labels["E"]:
        return False
    for token, n in counts.items():
        if word_labels[token] == "?":
            labels[_rot13_look(token)] += n
    if labels["R"] + labels["T"] + labels["U"] <= 2 * (labels["E"] + labels["P"]):
        return False
    before = sum(1 for w in _WORD.findall(sample) if len(w) > 2 and _is_word(w))
    after = sum(1 for w in _WORD.findall(sample.translate(_ROT13_TABLE)) if len(w) > 2 and _is_word(w))
    return after >= 2 and after > 2 * before


def _rot13_segments(text: str) -> tuple[list[_Segment], bool]:
    """The rot13 runs of ``text`` decoded (to be masked); else the whole text decoded, not to be masked
    (a guess: the other views keep the text as it is), when it reads as rot13."""
    runs = _rot13_runs(text)
    if runs:
        return runs, True
    if _WORD.search(text) and _reads_as_rot13(text):
        return [(0, len(text), text.translate(_ROT13_TABLE))], False
    return [], False


#: the decoders: each gives the segments it decoded, and whether they are masked in the other views
_DECODERS: tuple[tuple[str, Callable[[str, _Layer], tuple[list[_Segment], bool]]], ...] = (
    ("base64", lambda t, layer: (_decoded_segments(t, _B64, _decode_b64, layer), True)),
    ("hex", lambda t, layer: (_hex_segments(t, layer), True)),
    ("rot13", lambda t, _: _rot13_segments(t)),
)
_DECODER_ORDER = {name: i for i, (name, _) in enumerate(_DECODERS)}


def _merge(spans: Iterable[tuple[int, int]]) -> list[tuple[int, int]]:
    out: list[tuple[int, int]] = []
    for s, e in sorted(spans):
        if out and s <= out[-1][1]:
            out[-1] = (out[-1][0], max(out[-1][1], e))
        else:
            out.append((s, e))
    return out


def _masked_raw(text: str, plain: str, masks: list[_Segment]) -> str:
    """``text`` with the segments of ``plain`` (its basic form) replaced by their markers (``masks``, in
    order); just a marker when nothing readable is left (the encoded-text one if a segment was decoded)."""
    if text == plain:
        masked = _replace(text, masks)
    else:  # find each segment verbatim in the raw text; else mask the basic text
        raw_masks: list[_Segment] = []
        pos = 0
        for s, e, marker in masks:
            at = text.find(plain[s:e], pos)
            if at < 0:
                raw_masks = []
                text = plain
                break
            raw_masks.append((at, at + e - s, marker))
            pos = at + e - s
        masked = _replace(text, raw_masks or masks)
    if not _LETTER.search(masked.replace(ENCODED_MARKER, "").replace(DATA_MARKER, "")):
        return ENCODED_MARKER if any(marker == ENCODED_MARKER for _, _, marker in masks) else DATA_MARKER
    return masked


def _is_data(raw: bytes) -> bool:
    """Whether decoded bytes are data: no text (not UTF-8, or not printable; a character cut at the end is
    text), and not damaged text either (mostly printable ASCII, as base64 of text with a few characters
    changed decodes to; random bytes are about three parts in eight)."""
    out = _text_of(raw, [_DATA_SAMPLE_CHARS], loose_end=True)
    if out is not None and _is_printable(out):
        return False
    return sum(1 for b in raw if 32 <= b < 127) < _MAX_DATA_ASCII_SHARE * len(raw)


def _looks_random(run: str) -> bool:
    """Whether a run of letters and digits changes between lowercase, uppercase, digits and symbols as often
    as random base64 does, and holds few word-like stretches (unlike a path or a camelCase name)."""
    sample = run[:_DATA_SAMPLE_CHARS]
    changes = len(_SAME_KIND.findall(sample)) - 1
    words = sum(map(len, _RUN_WORD.findall(sample)))
    return changes >= 0.4 * (len(sample) - 1) and words < 0.5 * len(sample)


def _holds_words(run: str) -> bool:
    """Whether a run holds common English words once leet is folded and it is cut at capitals and symbols
    (``H0w_c4n_1``, ``H0wC4nIP01s0n``: leetspeak run together, not data)."""
    pieces = _RUN_PIECE.findall(run.translate(_DATA_WORD_TABLE))
    covered = sum(len(p) for p in pieces if len(p) >= 3 and p.lower() in _WORDS)
    return covered >= _MIN_WORD_SHARE * len(run)


def _is_b64_data_uri(seg: str) -> bool:
    """Whether the base64 of a data: URI is data (:func:`_is_data`, judged on its start), or no base64;
    not when it holds words."""
    if _holds_words(seg):
        return False
    s = seg.rstrip("=").replace("-", "+").replace("_", "/")[: _DATA_SAMPLE_CHARS // 4 * 4]
    try:
        raw = base64.b64decode(s + "=" * (-len(s) % 4), validate=True)
    except (binascii.Error, ValueError):
        return True
    return _is_data(raw)


def _b64_data_spans(seg: str) -> list[tuple[int, int]]:
    return [(0, len(seg))] if _is_b64_data(seg) else []


def _is_b64_data(seg: str) -> bool:
    s = seg.rstrip("=")
    if len(s) < _MIN_DATA_B64_CHARS or not (_LOWER.search(s) and _UPPER.search(s) and _DIGIT.search(s)):
        return False
    if not _looks_random(s) or _holds_words(s):
        return False
    s = s.replace("-", "+").replace("_", "/")[: _DATA_SAMPLE_CHARS // 4 * 4]
    try:
        raw = base64.b64decode(s + "=" * (-len(s) % 4), validate=True)
    except (binascii.Error, ValueError):
        return False  # no base64
    return _is_data(raw)


def _is_hex_bytes(seg: str) -> bool:
    digits = _HEX_STRIP.sub("", seg)
    if len(digits) < _MIN_DATA_CHARS or len(digits) % 2 or not (_HEX_LETTER.search(digits) and _DIGIT.search(digits)):
        return False
    return _is_data(bytes.fromhex(digits[: _DATA_SAMPLE_CHARS // 2 * 2]))


def _hex_data_spans(seg: str) -> list[tuple[int, int]]:
    """The runs of a hex segment that are data: the whole segment when its pairs are bare or each followed
    by a separator (a digest, a byte array), else each long unbroken run in it (digests in a list; not the
    parts of a UUID or an IPv6 address)."""
    pieces = _HEX_PIECES.split(seg)
    if len(pieces) == 1 or all(_HEX_BYTE_PIECE.fullmatch(p) for p in pieces):
        return [(0, len(seg))] if _is_hex_bytes(seg) else []
    return [m.span() for m in _LONG_HEX_RUN.finditer(seg) if _is_hex_bytes(m.group(0))]


def _data_segments(
    text: str, decoded: list[tuple[int, int]], misses: list[tuple[int, int, re.Pattern[str]]]
) -> list[_Segment]:
    """The runs of encoded data that is no text in ``text`` (see ``_DATA_URI``), as :data:`DATA_MARKER`
    segments: data: URIs, JSON web tokens, and those of the base64 and hex candidates that did not decode
    (``misses``) that are data; leaving alone those that overlap a decoded segment (``decoded``, merged)
    or lie in a URL."""
    found: list[tuple[int, int]] = []
    if "data:" in text or "DATA:" in text or "Data:" in text:
        found.extend(m.span(1) for m in _DATA_URI.finditer(text) if _is_b64_data_uri(m.group(1)))
    if "eyJ" in text:
        found.extend(m.span() for m in _JWT.finditer(text) if not any(map(_holds_words, m.group(0).split("."))))
    urls = [m.span() for m in _URL.finditer(text)] if misses and "://" in text else []
    for at, end, pattern in misses:
        spans_of = _b64_data_spans if pattern is _B64 else _hex_data_spans
        for start, stop in spans_of(text[at:end]):
            if not any(s <= at + start and at + stop <= e for s, e in urls):
                found.append((at + start, at + stop))
    out: list[_Segment] = []
    for s, e in _merge(found):
        if not any(s < de and ds < e for ds, de in decoded):
            out.append((s, e, DATA_MARKER))
    return out


def _undecoded_views(plain: str) -> list[tuple[str, str]]:
    out = [("basic", plain)]
    cur = _fold_homoglyphs(plain)
    out.append(("homoglyph", cur))
    cur = _fold_leet(cur)
    out.append(("leet", cur))
    out.append(("joined", _split_underscored(_join_spaced(cur))))
    return out


def views(text: str, *, max_views: int = 8, mask_encoded: bool = False) -> tuple[tuple[str, str], ...]:
    """The raw text and its distinct normalized views, as ``(name, text)`` pairs (raw first).

    At most ``max_views`` views are returned; identical views are dropped. Views come in the order
    raw, basic, homoglyph, leet, joined, base64, hex, rot13.

    With ``mask_encoded=True``, the views that do not decode (raw, basic, homoglyph, leet, joined)
    show each segment decoded by a returned decoded view (base64, hex, rot13) as
    :data:`ENCODED_MARKER` instead of its undecoded gibberish; the raw view is just the marker when
    nothing readable is left around the segments (a text entirely in rot13 runs, say). Those decoded
    views are then kept before the undecoded ones when ``max_views`` cannot hold them all (a segment
    is masked only where a returned view decodes it). A whole-text rot13 guess (no run found, the text
    as a whole reads as rot13) masks nothing and comes after the undecoded views, like them. The first
    view is still named ``raw``. Encoded data that decodes to no text -- the base64 of a data: URI, a
    JSON web token, a base64 run of at least ``_MIN_DATA_B64_CHARS`` characters as random as base64 is (not a path or a
    camelCase name), a hex run of at least ``_MIN_DATA_CHARS`` digits (a digest, a byte array; not a UUID),
    none inside a URL -- shows as :data:`DATA_MARKER` in every view, decoded ones too, so the classifier
    never reads it. The default (``False``) shows every view unmasked.
    """
    if max_views < 1:
        raise ValueError(f"max_views must be >= 1, got {max_views!r}")
    plain = basic(text)
    found: list[tuple[str, list[_Segment], bool]] = []
    layer = _Layer()
    folded = _decode_fold(plain)
    for name, find in _DECODERS:
        segments, masked = find(plain if name == "rot13" else folded, layer)
        if segments:
            found.append((name, segments, masked))
    # with masking, encoded data that is no text is masked in every view, decoded ones too
    data: list[_Segment] = []
    if mask_encoded:
        taken = _merge((s, e) for _, segments, masked in found if masked for s, e, _ in segments)
        data = _data_segments(plain, taken, layer.misses or [])
    decoded: list[tuple[str, str, list[_Segment], bool]] = []
    for name, segments, masked in found:
        if masked:
            value = _replace(plain, sorted([*segments, *data]))
        else:  # a whole-text rot13 guess, one character for one
            value = _replace(segments[0][2], data)
        decoded.append((name, value if name == "rot13" else value.strip(), segments, masked))

    kept: list[tuple[str, str]] = []  # the decoded views returned whose segments are masked
    spans: list[tuple[int, int]] = []  # and those segments
    if mask_encoded:
        seen = {text}
        for name, value, segments, masked in decoded:
            if masked and value and value not in seen and len(kept) < max_views - 1:
                seen.add(value)
                kept.append((name, value))
                spans.extend((s, e) for s, e, _ in segments)
        decoded = [d for d in decoded if not d[3]]  # a guess (whole-text rot13) is a view like the others
    raw = text
    undecoded = plain
    if spans or data:
        masks = sorted([*((s, e, ENCODED_MARKER) for s, e in _merge(spans)), *data])
        raw = _masked_raw(text, plain, masks)
        undecoded = raw if raw in (ENCODED_MARKER, DATA_MARKER) else _masked_raw(plain, plain, masks)

    out: list[tuple[str, str]] = [("raw", raw)]
    seen = {raw, *(value for _, value in kept)}
    limit = max_views - len(kept)

    def add(name: str, value: str) -> None:
        if value and value not in seen and len(out) < limit:
            seen.add(value)
            out.append((name, value))

    for name, value in _undecoded_views(undecoded):
        add(name, value)
    for name, value, _, _ in decoded:
        add(name, value)
    if not kept:
        return tuple(out)
    # the decoded views last, in the decoders' order
    undecoded_views = [v for v in out if v[0] not in _DECODER_ORDER]
    decoded_views = sorted([*(v for v in out if v[0] in _DECODER_ORDER), *kept], key=lambda v: _DECODER_ORDER[v[0]])
    return (*undecoded_views, *decoded_views)
