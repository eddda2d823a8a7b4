#!/usr/bin/python3
"""Build the tokenizer test corpus (tests/data/tok/corpus.txt) from text
that Debian ships (manual pages in many languages, package documentation,
headers, Unicode data files) and from generated texts aimed at the split
pattern's corners.  Deterministic for a given system: seeded.

The format is the one tests/tok-ids.c reads: "LENGTH\\n" + bytes + "\\n".
usage: tok-corpus.py OUT
"""
import bz2
import glob
import gzip
import os
import random
import sys

rnd = random.Random(20240601)
texts = []


def add(t):
    if isinstance(t, str):
        t = t.encode("utf-8", "surrogatepass")
    texts.append(t)


def read_text(path):
    try:
        op = gzip.open if path.endswith(".gz") else open
        with op(path, "rb") as f:
            return f.read().decode("utf-8")
    except (OSError, UnicodeDecodeError, EOFError):
        return None


def slices(s, n, lo, hi):
    """n random slices of s, lo..hi characters long."""
    out = []
    for _ in range(n):
        if len(s) <= lo:
            out.append(s)
            continue
        k = rnd.randint(lo, min(hi, len(s)))
        a = rnd.randint(0, len(s) - k)
        out.append(s[a:a + k])
    return out


def files(pattern, limit):
    fs = sorted(glob.glob(pattern, recursive=True))
    rnd.shuffle(fs)
    return fs[:limit]


# Manual pages in other languages: CJK, Cyrillic, Latin with accents.
for lang, nfiles, per in (("zh_CN", 40, 8), ("zh_TW", 15, 8), ("ja", 30, 8),
                          ("ko", 10, 8), ("ru", 15, 6), ("uk", 10, 4),
                          ("de", 15, 5), ("fr", 15, 5), ("pl", 8, 4),
                          ("tr", 6, 4), ("sr", 6, 4), ("cs", 6, 4)):
    for f in files("/usr/share/man/%s/man*/*.gz" % lang, nfiles):
        s = read_text(f)
        if s:
            for t in slices(s, per, 20, 900):
                add(t)

# English prose: package copyright files and changelogs, fortunes.
for f in files("/usr/share/doc/*/copyright", 250):
    s = read_text(f)
    if s:
        for t in slices(s, 2, 30, 700):
            add(t)
for f in files("/usr/share/doc/*/changelog.Debian.gz", 80):
    s = read_text(f)
    if s:
        for t in slices(s, 2, 50, 900):
            add(t)
for f in files("/usr/share/games/fortunes/*.u8", 20):
    s = read_text(f)
    if s:
        for t in s.split("\n%\n")[:400:7]:
            add(t)

# Code: C headers, Python, shell, man page sources.
for pat, n in (("/usr/include/*.h", 60), ("/usr/lib/python3*/*.py", 60),
               ("/usr/share/man/man1/*.gz", 40)):
    for f in files(pat, n):
        s = read_text(f)
        if s:
            for t in slices(s, 3, 40, 1000):
                add(t)

# Normalisation: the decomposed and composed columns of NormalizationTest.
with bz2.open("/usr/share/unicode/NormalizationTest.txt.bz2", "rt") as f:
    rows = [ln.split(";")[:5] for ln in f
            if ln[0] not in "#@" and ";" in ln]
for _ in range(150):
    pick = rnd.sample(rows, rnd.randint(1, 12))
    out = []
    for r in pick:
        col = r[rnd.randint(0, 4)]
        out.append("".join(chr(int(h, 16)) for h in col.split()))
        out.append(rnd.choice(["", " ", "a", "x ", "\n"]))
    add("".join(out))

# Emoji, with ZWJ sequences, modifiers and flags.
emo = []
for name in ("emoji-zwj-sequences.txt", "emoji-sequences.txt",
             "emoji-test.txt"):
    with open("/usr/share/unicode/emoji/" + name, encoding="utf-8") as f:
        for ln in f:
            if ln.startswith("#") or ";" not in ln:
                continue
            cps = ln.split(";")[0].strip()
            if ".." in cps:
                continue
            emo.append("".join(chr(int(h, 16)) for h in cps.split()))
words = "the cat sat on a mat I love it so much lol ok".split()
for _ in range(120):
    out = []
    for _ in range(rnd.randint(1, 20)):
        out.append(rnd.choice(emo) if rnd.random() < 0.6
                   else rnd.choice(words))
        out.append(rnd.choice(["", " ", "  ", "\n", "!"]))
    add("".join(out))

# Hand-written sentences in scripts Debian's manuals lack.
sentences = [
    "مرحبا بكم في عالم البرمجة. هذا نص عربي للاختبار، وفيه أرقام ١٢٣ و456.",
    "اللغة العربية تكتب من اليمين إلى اليسار؟ نعم! والحروف تتصل ببعضها.",
    "هل تعرف كيف يعمل المحلل اللغوي؟ إنه يقسم النص إلى رموز صغيرة.",
    "שלום עולם! זהו טקסט בעברית עם ניקוד: בְּרֵאשִׁית בָּרָא.",
    "नमस्ते दुनिया। यह हिंदी में एक वाक्य है। संख्याएँ: १२३४।",
    "Γειά σου κόσμε! Αυτό είναι ένα ελληνικό κείμενο; Ναι.",
    "Привет, мир! Это текст на русском языке. Ёжик в тумане.",
    "สวัสดีชาวโลก นี่คือข้อความภาษาไทย ไม่มีช่องว่างระหว่างคำ",
    "Xin chào thế giới! Đây là tiếng Việt có dấu: ắ ằ ẳ ẵ ặ.",
    "안녕하세요 세계! 한국어 문장입니다. 숫자 123과 함께.",
    "我们今天去公园散步，天气非常好！你想一起去吗？",
    "東京は日本の首都です。人口は約1400万人です。カタカナとひらがな。",
    "ሰላም ለዓለም። ይህ የአማርኛ ጽሑፍ ነው፧",
    "Ողջույն աշխարհ։ Սա հայերեն տեքստ է։",
    "გამარჯობა მსოფლიო! ეს ქართული ტექსტია.",
    "ආයුබෝවන් ලෝකය! මෙය සිංහල පාඨයකි.",
]
for _ in range(150):
    k = rnd.randint(1, 6)
    add(rnd.choice(["", " ", "\n"]).join(rnd.choice(sentences)
                                         for _ in range(k)))

# Generated texts at the split pattern's corners.
spaces = [" ", "  ", "\t", "\n", "\r\n", "\r", "\n\n", " \n", "\u00a0",
          "\u3000", "\u2028", "\u2029", "\u0085", "\ufeff", "\u2003",
          "\u202f", "\u205f", "\u1680", "\x0b", "\x0c", "\x1c", "\x1f",
          "   \t ", " \n \n  "]
digits = ["0", "7", "42", "2024", "3.14", "1,000", "٣", "٤٥", "१२", "１２３",
          "²", "½", "Ⅻ", "〇", "𝟙𝟚", "⑤"]
puncts = [".", ",", "!", "?", "...", "--", "==>", "{}", "()", "[", "]", "\"",
          "'", "`", "#", "@", "$", "%", "^", "&", "*", "_", "~", "|", "\\",
          "/", "<", ">", "<|", "|>", "。", "，", "、", "「", "」", "…", "—",
          "–", "«", "»", "¿", "¡", "©", "®", "°", "€", "£", "¥", "→", "✓"]
letters = ["a", "Z", "hello", "World", "naïve", "Ärger", "straße", "ǅ",
           "ʰ", "ſ", "ﬁ", "Ω", "ж", "ש", "ب", "क", "ก", "中", "あ", "ア",
           "ｱ", "한", "ꙮ", "𝔘𝔫𝔦", "𐌰", "ᚠ", "ⴰ", "ꓐ", "ᐁ"]
marks = ["\u0301", "\u0300", "\u0308", "\u0323", "\u0327", "\u034f",
         "\u05b0", "\u064b", "\u093f", "\u0e34", "\u20dd", "\u200d",
         "\u200c", "\ufe0f", "\u3099", "\u309a", "\U0001F3FB"]
contractions = ["'s", "'S", "'t", "'T", "'re", "'RE", "'Re", "'rE", "'ve",
                "'VE", "'m", "'M", "'ll", "'LL", "'lL", "'d", "'D", "'x",
                "'", "''", "'ſ", "’s", "n't", "'sup"]
added = ["<|endoftext|>", "<|im_start|>", "<|im_end|>", "<think>",
         "</think>", "<tool_call>", "<|fim_prefix|>", "<|im_", "<|", "<th",
         "<|vision_pad|>", "<|box_start|>"]
pools = [spaces, digits, puncts, letters, marks, contractions, added]
weights = [5, 3, 4, 6, 2, 2, 1]
for _ in range(700):
    out = []
    for _ in range(rnd.randint(1, 60)):
        pool = rnd.choices(pools, weights)[0]
        out.append(rnd.choice(pool))
    add("".join(out))

# Runs of white space alone and around words.
for _ in range(100):
    ws = "".join(rnd.choice(spaces) for _ in range(rnd.randint(1, 12)))
    w = rnd.choice(letters + digits + puncts + [""])
    add(rnd.choice([ws, ws + w, w + ws, ws + w + ws, w + ws + w]))

# Very long words and runs.
for _ in range(25):
    k = rnd.randint(500, 12000)
    kind = rnd.randrange(6)
    if kind == 0:
        s = "".join(rnd.choice("abcdefghijklmnopqrstuvwxyz") for _ in range(k))
    elif kind == 1:
        s = "".join(rnd.choice("0123456789") for _ in range(k))
    elif kind == 2:
        s = rnd.choice("=-*#~_.") * k
    elif kind == 3:
        s = "".join(rnd.choice(
            "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/")
            for _ in range(k))
    elif kind == 4:
        s = "".join(rnd.choice("的一是在不了有和人这中大为上个国我以要他")
                    for _ in range(k // 3))
    else:
        s = " " * k + "x"
    add(s)

# Invalid UTF-8: stray continuation bytes, truncated sequences, overlong
# forms, surrogates, bytes above F4, mixed with valid text.
bad = [b"\x80", b"\xbf", b"\xc0\xaf", b"\xc1\xbf", b"\xe0\x80\xaf",
       b"\xed\xa0\x80", b"\xed\xbf\xbf", b"\xf4\x90\x80\x80", b"\xf5",
       b"\xff", b"\xfe", b"\xe4\xb8", b"\xf0\x9f\x98", b"\xc3", b"\xe2\x82",
       b"\xf0\x80\x80\x80", b"\xf8\x88\x80\x80\x80"]
for _ in range(100):
    out = []
    for _ in range(rnd.randint(1, 20)):
        if rnd.random() < 0.4:
            out.append(rnd.choice(bad))
        else:
            out.append(rnd.choice(letters + spaces + puncts + digits)
                       .encode("utf-8"))
    add(b"".join(out))

# Random code points of every category, among those assigned by Unicode
# 15.0 (the version of Debian's utf8proc and unicode-data; later ones
# may differ in category from the reference's ICU).
spans = []
with open("/usr/share/unicode/DerivedAge.txt", encoding="utf-8") as f:
    for ln in f:
        ln = ln.split("#")[0].strip()
        if not ln:
            continue
        r, age = [x.strip() for x in ln.split(";")]
        a, _, b = r.partition("..")
        a = int(a, 16)
        b = int(b, 16) if b else a
        if float(age) <= 15.0 and not (a >= 0xD800 and b <= 0xDFFF):
            spans.append((a, b))
sizes = [b - a + 1 for a, b in spans]
for _ in range(1000):
    out = []
    for _ in range(rnd.randint(1, 40)):
        a, b = rnd.choices(spans, sizes if rnd.random() < 0.5 else None)[0]
        cp = rnd.randint(a, b)
        if not 0xD800 <= cp <= 0xDFFF:
            out.append(chr(cp))
        if rnd.random() < 0.3:
            out.append(rnd.choice([" ", "a", "1", "\n", "'s", "  "]))
    add("".join(out))

add("")
rnd.shuffle(texts)
with open(sys.argv[1], "wb") as f:
    for t in texts:
        f.write(b"%d\n" % len(t) + t + b"\n")
print("%d texts, %d bytes" % (len(texts), sum(len(t) for t in texts)),
      file=sys.stderr)
