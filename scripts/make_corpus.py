#!/usr/bin/env python3
"""make_corpus.py — the real-speech test corpus: speech that sounds like people, in the conditions
a box on a shelf hears.

Usage: make_corpus.py OUTDIR [--conditions a,b,...] [--list]

For each condition it writes OUTDIR/<condition>.wav (16 kHz mono s16) and OUTDIR/<condition>.json:
    {"condition": ..., "duration_s": ..., "pieces": [{"start_s", "end_s", "text", "voice"}, ...]}
A piece is one stretch of speech without a pause inside it (a sentence, a phrase of a speech, one
turn of a dialogue, or one of Debian's recorded samples); its times are where its audio starts and
ends in the file (the synthesiser's leading and trailing silence is trimmed off).

Voices: flite's kal16, awb, rms and slt, Festival's HTS voice (cmu_us_slt_arctic_hts), and the
human recordings in alsa-utils (/usr/share/sounds/alsa: "Front Center", "Rear Left", ...).
Texts: tests/speech/corpus/{sentences,oratory,dialogue}.txt.

Conditions (each with about 2 minutes of speech or more):
    oratory       a speech read slowly, 300-900 ms pauses between its phrases, 1.0-1.6 s between sentences
    conversation  two voices alternating with 160-240 ms between turns, in blocks of ~45 s
    telephone     sentences at 8 kHz, 300-3400 Hz, mu-law
    noise20/10/5  sentences in additive noise at 20/10/5 dB SNR; the noise bed changes type every 20 s:
                  pink, brown, babble (six other voices talking at once)
    reverb        sentences in a reverberant room (sox reverb)
    radio         an old-radio chain: band limit, compression, soft clipping, hiss at 25 dB SNR
    noise_only    no speech: 10 minutes of mixed non-speech noise (pink, brown, white, mains hum, a fan,
                  Debian's Noise.wav, digital silence) at several levels (not part of `all`)
Long files for `perceptd transcribe` (not part of `all`; `long` names the three):
    long_gaps     sentences with 2-6 s gaps of digital silence, pink noise and a quiet room tone
    long_telephone  the same layout (other sentences) through the telephone chain
    long_conversation  two voices alternating with 160-240 ms between turns, 90 s or more, no pause

Deterministic: fixed seeds, sox in repeatable mode (-R). Needs flite, festival +
festvox-us-slt-hts, alsa-utils, sox. Stdlib only.
"""

import argparse
import array
import json
import math
import os
import random
import subprocess
import sys
import tempfile
import wave
from pathlib import Path

RATE = 16000
REPO = Path(__file__).resolve().parent.parent
TEXTS = REPO / "tests" / "speech" / "corpus"
ALSA = Path("/usr/share/sounds/alsa")
ALSA_SAMPLES = ["Front_Center", "Front_Left", "Front_Right", "Rear_Center", "Rear_Left", "Rear_Right",
                "Side_Left", "Side_Right"]
FLITE_VOICES = ["kal16", "awb", "rms", "slt"]
HTS_VOICE = "hts_slt"
SPEECH_CONDITIONS = ["oratory", "conversation", "telephone", "noise20", "noise10", "noise5", "reverb",
                     "radio"]
LONG_CONDITIONS = ["long_gaps", "long_telephone", "long_conversation"]
ALL_CONDITIONS = SPEECH_CONDITIONS + ["noise_only"] + LONG_CONDITIONS


def sh(*args):
    r = subprocess.run([str(a) for a in args], stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    if r.returncode != 0:
        sys.exit(f"make_corpus: {' '.join(map(str, args))} failed: {r.stderr.decode(errors='replace')}")


def read_wav(path):
    with wave.open(str(path)) as w:
        assert w.getframerate() == RATE and w.getnchannels() == 1 and w.getsampwidth() == 2, path
        a = array.array("h")
        a.frombytes(w.readframes(w.getnframes()))
    return [x / 32768.0 for x in a]


def write_wav(path, samples):
    a = array.array("h", (max(-32768, min(32767, int(round(x * 32768.0)))) for x in samples))
    with wave.open(str(path), "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(RATE)
        w.writeframes(a.tobytes())


def to_16k(src, dst):
    sh("sox", "-R", src, "-r", RATE, "-c", "1", "-b", "16", "-e", "signed-integer", dst)


def trim(samples, threshold=0.01, margin=0.01):
    """The samples between the first and last one louder than `threshold`, with `margin` s kept."""
    loud = [i for i, x in enumerate(samples) if abs(x) > threshold]
    if not loud:
        return []
    m = int(margin * RATE)
    return samples[max(0, loud[0] - m):min(len(samples), loud[-1] + m)]


def rms(samples):
    return math.sqrt(sum(x * x for x in samples) / max(1, len(samples)))


def set_level(samples, dbfs):
    """Scales a clip so its RMS is `dbfs`, then limits its peak to -1 dBFS."""
    g = 10 ** (dbfs / 20) / max(rms(samples), 1e-9)
    peak = max(abs(x) for x in samples) * g
    if peak > 0.89:
        g *= 0.89 / peak
    return [x * g for x in samples]


class Voices:
    """Speaks texts with flite, Festival's HTS voice and Debian's recordings; caches by text."""

    def __init__(self, tmp):
        self.tmp = Path(tmp)
        self.n = 0
        self.pending = []  # (text, out path) for one Festival run

    def _path(self):
        self.n += 1
        return self.tmp / f"clip{self.n}.wav"

    def flite(self, text, voice, stretch=1.0):
        raw, out = self._path(), self._path()
        sh("flite", "-voice", voice, "--setf", f"duration_stretch={stretch}", "-t", text, "-o", raw)
        to_16k(raw, out)
        return trim(read_wav(out))

    def festival_many(self, texts, stretch=1.0):
        """One Festival process for all `texts` (its start-up costs ~2 s)."""
        outs = [self._path() for _ in texts]
        script = self.tmp / f"say{self.n}.scm"
        lines = ["(voice_cmu_us_slt_arctic_hts)",
                 f"(Parameter.set 'Duration_Stretch {stretch})"]
        for text, out in zip(texts, outs):
            quoted = text.replace("\\", "\\\\").replace('"', '\\"')
            lines.append(f'(utt.save.wave (utt.synth (Utterance Text "{quoted}")) "{out}.raw.wav" \'riff)')
        script.write_text("\n".join(lines) + "\n")
        sh("festival", "-b", script)
        clips = []
        for out in outs:
            to_16k(f"{out}.raw.wav", out)
            clips.append(trim(read_wav(out)))
        return clips

    def alsa(self, name):
        out = self._path()
        to_16k(ALSA / f"{name}.wav", out)
        return trim(read_wav(out), threshold=0.02)

    def speak(self, items, stretch=1.0):
        """[(text, voice)] -> clips, in order; Festival items are spoken in one batch."""
        clips = [None] * len(items)
        hts = [i for i, (_, v) in enumerate(items) if v == HTS_VOICE]
        for i, clip in zip(hts, self.festival_many([items[i][0] for i in hts], stretch) if hts else []):
            clips[i] = clip
        for i, (text, voice) in enumerate(items):
            if voice == "alsa":
                clips[i] = self.alsa(text)
            elif voice != HTS_VOICE:
                clips[i] = self.flite(text, voice, stretch)
        return clips


def alsa_text(name):
    return name.replace("_", " ")


def lines(name):
    return [l.strip() for l in (TEXTS / name).read_text().splitlines() if l.strip()]


class Timeline:
    """Clips laid out with gaps; remembers where each piece is."""

    def __init__(self, lead_s=1.0):
        self.samples = [0.0] * int(lead_s * RATE)
        self.pieces = []

    def add(self, clip, text, voice, gap_after_s):
        start = len(self.samples)
        self.samples.extend(clip)
        self.pieces.append({"start_s": round(start / RATE, 3), "end_s": round(len(self.samples) / RATE, 3),
                            "text": text, "voice": voice})
        self.samples.extend([0.0] * int(gap_after_s * RATE))


def sentences_layout(voices, rng, count=36):
    """`count` sentences, voices rotating (two of Debian's recordings among them), 0.7-1.5 s gaps."""
    texts = lines("sentences.txt")
    rng.shuffle(texts)
    all_voices = FLITE_VOICES + [HTS_VOICE]
    items = [(t, all_voices[i % len(all_voices)]) for i, t in enumerate(texts[:count])]
    for k, name in enumerate(rng.sample(ALSA_SAMPLES, 2)):
        items.insert(5 + 14 * k, (name, "alsa"))
    clips = voices.speak(items)
    levels = {v: rng.uniform(-24, -18) for v in all_voices + ["alsa"]}
    tl = Timeline()
    for (text, voice), clip in zip(items, clips):
        text = alsa_text(text) if voice == "alsa" else text
        tl.add(set_level(clip, levels[voice]), text, voice, rng.uniform(0.7, 1.5))
    tl.samples.extend([0.0] * RATE)
    return tl


def oratory_layout(voices, rng):
    """A speech, twice: each sentence's phrases (split at '|') spoken separately, with pauses between."""
    items, shape = [], []
    for voice in [HTS_VOICE, "awb"]:  # the speech given twice, by two orators
        for sentence in lines("oratory.txt"):
            phrases = [p.strip() for p in sentence.split("|") if p.strip()]
            for i, p in enumerate(phrases):
                items.append((p, voice))
                shape.append(i == len(phrases) - 1)
    clips = voices.speak(items, stretch=1.15)
    tl = Timeline()
    for (text, voice), clip, last in zip(items, clips, shape):
        gap = rng.uniform(1.0, 1.6) if last else rng.uniform(0.3, 0.9)
        tl.add(set_level(clip, -21), text, voice, gap)
    tl.samples.extend([0.0] * RATE)
    return tl


def conversation_layout(voices, rng):
    """Two voices alternating with 160-240 ms between turns; the dialogue twice (other voices the
    second time) in blocks of 20 turns separated by 1.5 s."""
    turns = [l.split(":", 1) for l in lines("dialogue.txt")]
    pairs = [("awb", HTS_VOICE), ("slt", "rms")]
    items = []
    for a, b in pairs:
        items += [(text.strip(), a if who == "A" else b) for who, text in turns]
    clips = voices.speak(items)
    levels = {"awb": -20, HTS_VOICE: -22, "slt": -21, "rms": -19}
    tl = Timeline()
    for i, ((text, voice), clip) in enumerate(zip(items, clips)):
        gap = 1.5 if (i + 1) % 20 == 0 else rng.uniform(0.16, 0.24)
        tl.add(set_level(clip, levels[voice]), text, voice, gap)
    tl.samples.extend([0.0] * RATE)
    return tl


def long_gaps_layout(tmp, voices, rng, count=26):
    """`count` sentences, voices rotating, each followed by 2-6 s of digital silence, pink noise at
    -50 dBFS or a room tone (low-passed brown noise at -55 dBFS), in turn."""
    texts = lines("sentences.txt")
    rng.shuffle(texts)
    all_voices = FLITE_VOICES + [HTS_VOICE]
    items = [(t, all_voices[i % len(all_voices)]) for i, t in enumerate(texts[:count])]
    clips = voices.speak(items)
    pink = noise(tmp, "pink", 6.0, 21)
    room = sox_chain(tmp, noise(tmp, "brown", 6.0, 22), "lowpass", "300")
    room_g = 1.0 / max(rms(room), 1e-9)
    beds = [[0.0], [x * 10 ** (-50 / 20) for x in pink], [x * room_g * 10 ** (-55 / 20) for x in room]]
    tl = Timeline()
    for i, ((text, voice), clip) in enumerate(zip(items, clips)):
        tl.add(set_level(clip, rng.uniform(-24, -18)), text, voice, 0.0)
        bed = beds[i % 3]
        tl.samples.extend(bed[k % len(bed)] for k in range(int(rng.uniform(2.0, 6.0) * RATE)))
    return tl


def long_conversation_layout(voices, rng):
    """The dialogue once, two voices speaking a little slowly, 160-240 ms between turns, no block
    pauses: 90 s or more of continuous conversation."""
    turns = [l.split(":", 1) for l in lines("dialogue.txt")]
    items = [(text.strip(), "kal16" if who == "A" else HTS_VOICE) for who, text in turns]
    clips = voices.speak(items, stretch=1.1)
    levels = {"kal16": -20, HTS_VOICE: -22}
    tl = Timeline()
    for (text, voice), clip in zip(items, clips):
        tl.add(set_level(clip, levels[voice]), text, voice, rng.uniform(0.16, 0.24))
    tl.samples.extend([0.0] * RATE)
    return tl


def telephone(tmp, samples):
    """Band-limited, through an 8 kHz mu-law channel, and back to 16 kHz."""
    mid = Path(tmp) / "tel.wav"
    write_wav(Path(tmp) / "tel_in.wav", samples)
    sh("sox", "-R", Path(tmp) / "tel_in.wav", "-r", "8000", "-e", "u-law", "-b", "8", mid,
       "sinc", "300-3400")
    to_16k(mid, Path(tmp) / "tel_out.wav")
    return read_wav(Path(tmp) / "tel_out.wav")


def sox_chain(tmp, samples, *effects):
    src, dst = Path(tmp) / "fx_in.wav", Path(tmp) / "fx_out.wav"
    write_wav(src, samples)
    sh("sox", "-R", src, "-r", RATE, "-c", "1", "-b", "16", dst, *effects)
    return read_wav(dst)


def noise(tmp, kind, seconds, seed):
    """`seconds` of noise with unit RMS: sox's pink/brown/white noise, or babble from `kind` clips."""
    out = Path(tmp) / f"noise_{kind}_{seed}.wav"
    # sox -R repeats the same noise for the same command line: vary the length a little by seed.
    n = int(seconds * RATE) + seed
    sh("sox", "-R", "-n", "-r", RATE, "-c", "1", "-b", "16", out, "synth", f"{n}s", f"{kind}noise",
       "vol", "0.3")
    s = read_wav(out)[seed:]
    g = 1.0 / max(rms(s), 1e-9)
    return [x * g for x in s]


def babble(voices, rng, seconds):
    """Six other voices talking at once (sentences not otherwise in the same condition), unit RMS."""
    texts = lines("sentences.txt")
    streams = []
    for k, voice in enumerate(FLITE_VOICES + FLITE_VOICES[:2]):
        picked = rng.sample(texts, 6)
        s = []
        for clip in voices.speak([(t, voice) for t in picked]):
            s.extend(clip + [0.0] * int(rng.uniform(0.05, 0.3) * RATE))
        rng_off = rng.randrange(len(s))
        s = s[rng_off:] + s[:rng_off]
        streams.append(s)
    n = int(seconds * RATE)
    mix = [sum(st[i % len(st)] for st in streams) for i in range(n)]
    g = 1.0 / max(rms(mix), 1e-9)
    return [x * g for x in mix]


def speech_rms(tl):
    parts = []
    for p in tl.pieces:
        parts.extend(tl.samples[int(p["start_s"] * RATE):int(p["end_s"] * RATE)])
    return rms(parts)


def add_noise_bed(tmp, voices, rng, tl, snr_db):
    """Adds a noise bed at `snr_db` below the speech RMS; its type changes every 20 s."""
    total = len(tl.samples) / RATE
    kinds = ["pink", "brown", "babble"]
    beds = {k: (babble(voices, rng, 20.0) if k == "babble" else noise(tmp, k, 20.0, 7 + i))
            for i, k in enumerate(kinds)}
    level = speech_rms(tl) / (10 ** (snr_db / 20))
    seg = 20 * RATE
    out = []
    for i, x in enumerate(tl.samples):
        bed = beds[kinds[(i // seg) % 3]]
        out.append(x + level * bed[i % len(bed)])
    tl.samples = out
    return tl


def noise_only(tmp, rng):
    """10 minutes of non-speech: 20 segments of 30 s, types and levels rotating."""
    hum = [sum(math.sin(2 * math.pi * 50 * h * i / RATE) / h for h in (1, 2, 3, 5)) for i in range(RATE)]
    g = 1.0 / rms(hum)
    hum = [x * g for x in hum]
    fan = sox_chain(tmp, noise(tmp, "pink", 30.0, 3), "lowpass", "400", "tremolo", "11", "20")
    fan_g = 1.0 / rms(fan)
    to_16k(ALSA / "Noise.wav", Path(tmp) / "alsa_noise.wav")
    alsa_noise = read_wav(Path(tmp) / "alsa_noise.wav")
    alsa_g = 1.0 / max(rms(alsa_noise), 1e-9)
    sources = {
        "pink": noise(tmp, "pink", 30.0, 11),
        "brown": noise(tmp, "brown", 30.0, 12),
        "white": noise(tmp, "white", 30.0, 13),
        "hum": hum,
        "fan": [x * fan_g for x in fan],
        "alsa_noise": [x * alsa_g for x in alsa_noise],
        "silence": [0.0],
    }
    order = ["pink", "brown", "white", "hum", "fan", "alsa_noise", "silence"]
    levels = [-45, -35, -25]
    samples, segments = [], []
    for k in range(20):
        kind, dbfs = order[k % len(order)], levels[k % len(levels)]
        src = sources[kind]
        a = 10 ** (dbfs / 20)
        start = len(samples)
        samples.extend(a * src[i % len(src)] for i in range(30 * RATE))
        segments.append({"start_s": start / RATE, "kind": kind, "dbfs": dbfs})
    return samples, segments


def make(condition, outdir, tmp):
    seed = ALL_CONDITIONS.index(condition) + 1
    rng = random.Random(seed)
    voices = Voices(tmp)
    extra = {}
    if condition == "noise_only":
        samples, segments = noise_only(tmp, rng)
        tl = Timeline(0)
        tl.samples = samples
        extra["noise_segments"] = segments
    elif condition == "oratory":
        tl = oratory_layout(voices, rng)
    elif condition == "conversation":
        tl = conversation_layout(voices, rng)
    elif condition in ("long_gaps", "long_telephone"):
        tl = long_gaps_layout(tmp, voices, rng)
        if condition == "long_telephone":
            tl.samples = telephone(tmp, tl.samples)
    elif condition == "long_conversation":
        tl = long_conversation_layout(voices, rng)
    else:
        tl = sentences_layout(voices, rng)
        if condition == "telephone":
            tl.samples = telephone(tmp, tl.samples)
        elif condition.startswith("noise"):
            add_noise_bed(tmp, voices, rng, tl, float(condition[len("noise"):]))
        elif condition == "reverb":
            tl.samples = sox_chain(tmp, tl.samples, "reverb", "60", "50", "90", "100", "20", "gain", "-3")
        elif condition == "radio":
            chain = sox_chain(tmp, tl.samples, "sinc", "250-3800", "compand", "0.02,0.2",
                              "-60,-60,-30,-12,-20,-8,0,-4", "overdrive", "4", "gain", "-n", "-6")
            level = speech_rms(PiecesOver(tl, chain)) / (10 ** (25 / 20))
            hiss = noise(tmp, "white", len(chain) / RATE, 5)
            hiss = sox_chain(tmp, hiss, "highpass", "2000", "gain", "0")
            g = level / max(rms(hiss), 1e-9)
            tl.samples = [x + g * hiss[i % len(hiss)] for i, x in enumerate(chain)]
        else:
            sys.exit(f"make_corpus: unknown condition {condition}")
    peak = max(abs(x) for x in tl.samples) or 1.0
    if peak > 0.99:
        tl.samples = [x * 0.99 / peak for x in tl.samples]
    write_wav(outdir / f"{condition}.wav", tl.samples)
    meta = {"condition": condition, "duration_s": round(len(tl.samples) / RATE, 3),
            "speech_s": round(sum(p["end_s"] - p["start_s"] for p in tl.pieces), 3),
            "pieces": tl.pieces, **extra}
    (outdir / f"{condition}.json").write_text(json.dumps(meta, indent=1) + "\n")
    return meta


class PiecesOver:
    """The pieces of `tl` over other samples (for measuring speech level after effects)."""

    def __init__(self, tl, samples):
        self.pieces, self.samples = tl.pieces, samples


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("outdir", nargs="?")
    ap.add_argument("--conditions", default="all",
                    help="comma-separated, 'all' (speech), 'long' (the long files) or 'everything'")
    ap.add_argument("--list", action="store_true")
    args = ap.parse_args()
    if args.list:
        print("\n".join(ALL_CONDITIONS))
        return
    if not args.outdir:
        ap.error("OUTDIR is required")
    wanted = {"all": SPEECH_CONDITIONS, "long": LONG_CONDITIONS, "everything": ALL_CONDITIONS}.get(args.conditions)
    wanted = wanted or [c.strip() for c in args.conditions.split(",") if c.strip()]
    for c in wanted:
        if c not in ALL_CONDITIONS:
            sys.exit(f"make_corpus: unknown condition {c!r}; one of {', '.join(ALL_CONDITIONS)}")
    outdir = Path(args.outdir)
    outdir.mkdir(parents=True, exist_ok=True)
    for c in wanted:
        with tempfile.TemporaryDirectory(prefix=f"corpus-{c}-") as tmp:
            meta = make(c, outdir, tmp)
        print(f"{c}: {meta['duration_s']:.1f} s, {len(meta['pieces'])} pieces, {meta['speech_s']:.1f} s of speech")


if __name__ == "__main__":
    main()
